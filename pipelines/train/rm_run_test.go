package train

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	writeRMFixture(t, dir, 60, func(i int) schemas.Preference {
		p := schemas.Preference{Question: "What color is the square?", Output1: "The square is red.", Output2: "The square is blue.", Chosen: 1}
		if i%2 == 1 {
			p.Output1, p.Output2, p.Chosen = p.Output2, p.Output1, 2
		}
		return p
	})
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
	pairs, _, _ := LoadRMPairs(cfg, rm.M.Config.Vision)
	m1, _ := rm.Evaluate(pairs, 16)
	if m1.Accuracy < 0.9 {
		t.Errorf("reloaded reward model: accuracy %v", m1.Accuracy)
	}
}

// writeRMFixture writes a generate folder dir/gen with one clip "c1" and a feedback folder dir/fb
// with n labeled preferences about it, pair(i) giving each one's question, outputs and choice.
func writeRMFixture(t *testing.T, dir string, n int, pair func(i int) schemas.Preference) {
	t.Helper()
	clips, _ := dataset.NewWriter[schemas.Clip](filepath.Join(dir, "gen", "clips"), schemas.RowClip, 0)
	clips.Write(schemas.Clip{ID: "c1", Frames: backendtest.Frames(t, 4)})
	if err := clips.Close(); err != nil {
		t.Fatal(err)
	}
	prefs, _ := dataset.NewWriter[schemas.Preference](filepath.Join(dir, "fb", "preferences"), schemas.RowPreference, 0)
	for i := range n {
		p := pair(i)
		p.ID, p.ClipID, p.Labeled = fmt.Sprint(i), "c1", true
		prefs.Write(p)
	}
	if err := prefs.Close(); err != nil {
		t.Fatal(err)
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
	pairs, _, err := LoadRMPairs(cfg, rm.M.Config.Vision)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != len(rows) || pairs[0].Question != "What happens after the dog catches the ball?" || pairs[0].Chosen != rows[0].Preference ||
		pairs[0].Out[0] != rows[0].Output1 || len(pairs[0].Patches) != rm.M.Config.Vision.NumFrames*rm.M.Config.Vision.Patches()*rm.M.Config.Vision.PatchDim() {
		t.Errorf("pairs %+v", pairs[0].Question)
	}

}

// A seed RM record that does not decode and one whose frame is missing are left out and listed;
// the others still load (one missing frame used to stop the whole run).
func TestSeedRMPairsDropBadRecords(t *testing.T) {
	folder := t.TempDir()
	frame := backendtest.Frames(t, 1)[0]
	record := func(video string, pref int) string {
		p := filepath.Join(folder, video, "image_01.jpg")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, frame, 0o644)
		return fmt.Sprintf(`{"conversations": [{"from": "human", "value": "<image>\nWhat is shown?"}, {"from": "gpt", "value": ""}],
			"output_1": {"value": "a red square"}, "output_2": {"value": "a blue circle"}, "preference": %d, "images": [%q]}`,
			pref, video+"/image_01.jpg")
	}
	recs := []string{record("v1", 1), record("v2", 2), record("v3", 1), `{"conversations": 5}`}
	cfg := DefaultRMConfig()
	cfg.Data, cfg.ImageFolder = filepath.Join(t.TempDir(), "rm.json"), folder
	os.WriteFile(cfg.Data, []byte("["+strings.Join(recs, ",")+"]"), 0o644)
	gone := filepath.Join(folder, "v2", "image_01.jpg")
	os.Remove(gone)
	rm, err := NewRewardModel(backendtest.Checkpoint(t), model.LoRAConfig{PeftType: "LORA", Rank: 2, Alpha: 4, TargetModules: []string{"q_proj"}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	pairs, dropped, err := LoadRMPairs(cfg, rm.M.Config.Vision)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 2 || pairs[0].Chosen != 1 || pairs[1].Chosen != 1 || len(dropped) != 2 ||
		dropped[0].Kind != DropFrames || !strings.Contains(dropped[0].Reason, gone) ||
		dropped[1].Kind != DropMalformed || dropped[1].ID != "record 3" {
		t.Errorf("%d pairs; dropped %+v", len(pairs), dropped)
	}
}

// A pair longer than the model's context is left out before training (it stopped the run at its
// batch, after the steps before it were paid for).
func TestRMDropsPairsLongerThanTheContext(t *testing.T) {
	rm, err := NewRewardModel(backendtest.Checkpoint(t), model.LoRAConfig{PeftType: "LORA", Rank: 2, Alpha: 4, TargetModules: []string{"q_proj"}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	limit := rm.M.Config.MaxPositionEmbeddings
	pairs := []RMPair{
		{ID: "short", Question: "What colour?", Out: [2]string{"red", "blue"}, Chosen: 1},
		{ID: "long", Question: "What colour?", Out: [2]string{"red", strings.Repeat("blue and green ", limit)}, Chosen: 1},
	}
	kept, dropped := rm.dropTooLong(pairs)
	if len(kept) != 1 || kept[0].ID != "short" || len(dropped) != 1 || dropped[0].ID != "long" || dropped[0].Kind != DropTooLong ||
		!strings.Contains(dropped[0].Reason, fmt.Sprintf("the model's context is %d", limit)) {
		t.Errorf("kept %v, dropped %+v", kept, dropped)
	}
	// What is kept fits: a batch of it is accepted.
	in := []rmInput{}
	for _, o := range kept[0].Out {
		tok, v := rm.Encode(kept[0].Question, o)
		in = append(in, rmInput{tokens: tok, videoAt: v})
	}
	if _, _, err := rm.batch(in); err != nil {
		t.Error(err)
	}
	tok, _ := rm.Encode(pairs[1].Question, pairs[1].Out[1])
	if _, _, err := rm.batch([]rmInput{{tokens: tok}}); err == nil {
		t.Error("the long pair fits after all: the test does not test the limit")
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
