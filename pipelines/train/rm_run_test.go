package train

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// A reward model learns a preference it can see: in every pair the chosen answer says "red" and
// the rejected one "blue", in either position. Starting from a random tiny model, held-out
// accuracy goes from chance to (nearly) every pair; the checkpoint reloads with the same scores.
func TestRunRMLearnsAPreference(t *testing.T) {
	dir := t.TempDir()
	clips, _ := dataset.NewWriter[schemas.Clip](filepath.Join(dir, "gen", "clips"), schemas.RowClip, 0)
	clips.Write(schemas.Clip{ID: "c1", Frames: backendtest.Frames(t, 4)})
	clips.Close()
	prefs, _ := dataset.NewWriter[schemas.Preference](filepath.Join(dir, "fb", "preferences"), schemas.RowPreference, 0)
	for i := range 60 {
		p := schemas.Preference{ID: fmt.Sprint(i), ClipID: "c1", Question: "What color is the square?", Labeled: true,
			Output1: "The square is red.", Output2: "The square is blue.", Chosen: 1}
		if i%2 == 1 {
			p.Output1, p.Output2, p.Chosen = p.Output2, p.Output1, 2
		}
		prefs.Write(p)
	}
	prefs.Close()
	cfg := DefaultRMConfig()
	cfg.Data, cfg.Clips, cfg.Base, cfg.Output = filepath.Join(dir, "fb"), filepath.Join(dir, "gen"), backendtest.Checkpoint(t), filepath.Join(dir, "rm")
	cfg.Epochs, cfg.Heldout, cfg.LR = 6, 0.2, 3e-3
	res, err := RunRM(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Heldout.Pairs != 12 || res.Heldout.Accuracy < 0.9 || res.Heldout.LabelPositiveRate == 0 {
		t.Errorf("held-out %+v after %d steps (train %+v)", res.Heldout, res.Steps, res.Train)
	}
	rm, err := LoadRewardModel(cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	again, err := rm.Evaluate([]RMPair{}, 1)
	if err != nil || again.Pairs != 0 {
		t.Fatal(err)
	}
	pairs, _ := LoadRMPairs(cfg, rm.M.Config.Vision)
	m1, _ := rm.Evaluate(pairs, 16)
	if m1.Accuracy < 0.9 {
		t.Errorf("reloaded reward model: accuracy %v", m1.Accuracy)
	}
}
