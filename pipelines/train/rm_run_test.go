package train

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/model"
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

// The seed's RM JSON is read with its frames from the image folder: every record becomes a pair
// with its question (placeholder removed), both outputs, its preference and its video.
func TestLoadSeedRMPairs(t *testing.T) {
	src := filepath.Join("..", "..", "..", "shared", "testdata", "seed-json", "rm_sample.json")
	rows, err := readSeedRM(src)
	if err != nil {
		t.Skipf("seed sample not here: %v", err)
	}
	folder := t.TempDir()
	frame := backendtest.Frames(t, 1)[0]
	for _, r := range rows {
		for _, im := range r.Images {
			p := filepath.Join(folder, im)
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, frame, 0o644)
		}
	}
	cfg := DefaultRMConfig()
	cfg.Data, cfg.ImageFolder = src, folder
	rm, err := NewRewardModel(backendtest.Checkpoint(t), model.LoRAConfig{PeftType: "LORA", Rank: 2, Alpha: 4, TargetModules: []string{"q_proj"}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := LoadRMPairs(cfg, rm.M.Config.Vision)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != len(rows) || pairs[0].Question != "What happens after the dog catches the ball?" || pairs[0].Chosen != rows[0].Preference ||
		pairs[0].Out[0] != rows[0].Output1 || len(pairs[0].Patches) != rm.M.Config.Vision.NumFrames*rm.M.Config.Vision.Patches()*rm.M.Config.Vision.PatchDim() {
		t.Errorf("pairs %+v", pairs[0].Question)
	}
}

func readSeedRM(path string) ([]schemas.RMRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []schemas.RMRow
	err = schemas.DecodeSeed(f, func(_ int, r schemas.RMRow, rerr error) error {
		if rerr == nil {
			rows = append(rows, r)
		}
		return nil
	})
	return rows, err
}
