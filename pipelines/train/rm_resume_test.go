package train

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/internal/runsettings"
	"github.com/vrlaif/vrlaif/schemas"
)

// redBlue is a preference the tiny model can learn: "red" is chosen, in either position.
func redBlue(i int) schemas.Preference {
	p := schemas.Preference{Question: "What color is the square?", Output1: "The square is red.", Output2: "The square is blue.", Chosen: 1}
	if i%2 == 1 {
		p.Output1, p.Output2, p.Chosen = p.Output2, p.Output1, 2
	}
	return p
}

// A reward-model run interrupted mid-epoch resumes from its progress save and ends with the same
// weights, bit for bit, as a run that was never interrupted: the adapter, the head, both
// optimizers' moments and steps are restored and the epochs' shuffles replayed. (Without the
// optimizer state or the replay the weights differ; a resume that started over would report
// ResumedAt 0.) A finished run is not trained again; other settings or other pairs are refused.
func TestRMResumesWhereItStopped(t *testing.T) {
	dir := t.TempDir()
	writeRMFixture(t, dir, 40, redBlue)
	base := backendtest.Checkpoint(t)
	config := func(out string) RMConfig {
		cfg := DefaultRMConfig()
		cfg.Data, cfg.Clips, cfg.Base, cfg.Output = filepath.Join(dir, "fb"), filepath.Join(dir, "gen"), base, out
		// 32 training pairs in batches of 4: 8 steps an epoch, 16 in all; progress every 5 steps.
		cfg.Epochs, cfg.BatchPairs, cfg.Heldout, cfg.LR, cfg.SaveEvery = 2, 4, 0.2, 3e-3, 5
		return cfg
	}
	whole, err := RunRM(context.Background(), config(filepath.Join(dir, "whole")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if whole.Steps != 16 || whole.ResumedAt != 0 || whole.Earlier {
		t.Fatalf("uninterrupted run: %+v", whole)
	}

	// Stopped after step 7 (mid first epoch, two steps after the save at 5), 8 (the end of the first
	// epoch: the resume replays its shuffle and draws the second's) and 10 (mid second epoch, on a
	// save): the interrupt saves that step, and the resume ends with the uninterrupted run's bits.
	wantRev, _ := RMRevision(filepath.Join(dir, "whole"))
	var cut RMConfig
	var resumed RMResult
	for _, at := range []int{7, 8, 10} {
		cut = config(filepath.Join(dir, fmt.Sprint("cut", at)))
		ctx, cancel := context.WithCancel(context.Background())
		_, err = RunRM(ctx, cut, func(s RMStep) {
			if s.Step == at {
				cancel()
			}
		})
		cancel()
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), fmt.Sprintf("stopped after step %d of 16", at)) {
			t.Fatalf("run interrupted at %d: %v, want context.Canceled saying where it stopped", at, err)
		}
		if steps, _ := rmProgressSteps(cut.Output); len(steps) != 1 || steps[0] != at {
			t.Fatalf("progress saves after the interrupt at %d: %v, want [%d] (earlier saves replaced)", at, steps, at)
		}
		if _, err := os.Stat(filepath.Join(cut.Output, RMResultFile)); err == nil {
			t.Fatal("an interrupted run wrote its result")
		}
		first := 0
		resumed, err = RunRM(context.Background(), cut, func(s RMStep) {
			if first == 0 {
				first = s.Step
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if resumed.ResumedAt != at || first != at+1 || resumed.Steps != 16 {
			t.Fatalf("resumed at %d, first step trained %d, steps %d; want %d, %d, 16", resumed.ResumedAt, first, resumed.Steps, at, at+1)
		}
		if got, err := RMRevision(cut.Output); err != nil || got != wantRev {
			t.Fatalf("run resumed at %d: weights %s (%v), uninterrupted run's %s: they must be the same bits", at, got, err, wantRev)
		}
		if resumed.Heldout != whole.Heldout || resumed.Train != whole.Train {
			t.Errorf("metrics: resumed at %d %+v / %+v, uninterrupted %+v / %+v", at, resumed.Heldout, resumed.Train, whole.Heldout, whole.Train)
		}
		if steps, _ := rmProgressSteps(cut.Output); len(steps) != 0 {
			t.Errorf("progress saves left after the run finished: %v", steps)
		}
	}

	// Finished: nothing is trained and the earlier result is returned.
	trained := false
	again, err := RunRM(context.Background(), cut, func(RMStep) { trained = true })
	if err != nil {
		t.Fatal(err)
	}
	if trained || !again.Earlier || again.Heldout != resumed.Heldout || again.Steps != 16 {
		t.Fatalf("re-run of a finished folder: trained %v, %+v", trained, again)
	}
	if got, _ := RMRevision(cut.Output); got != wantRev {
		t.Fatal("re-run of a finished folder changed its weights")
	}

	// Other settings, or other pairs under the same path, are refused by name.
	other := cut
	other.LR = 1e-3
	if _, err := RunRM(context.Background(), other, nil); err == nil || !strings.Contains(err.Error(), "lr 0.003") {
		t.Errorf("another learning rate: %v, want a refusal naming lr", err)
	}
	writeRMFixture(t, dir, 41, redBlue) // one pair more under the same folders
	if _, err := RunRM(context.Background(), cut, nil); err == nil || !strings.Contains(err.Error(), "data_revision") {
		t.Errorf("other pairs: %v, want a refusal naming data_revision", err)
	}
}

// A folder without a settings record (an older version's reward model) is trained anew: its
// rm_result.json is not taken for this run's, and an interrupted first run there is not either.
func TestRMFolderWithoutARecordTrainsAnew(t *testing.T) {
	dir := t.TempDir()
	writeRMFixture(t, dir, 20, redBlue)
	cfg := DefaultRMConfig()
	cfg.Data, cfg.Clips, cfg.Base, cfg.Output = filepath.Join(dir, "fb"), filepath.Join(dir, "gen"), backendtest.Checkpoint(t), filepath.Join(dir, "rm")
	cfg.Epochs, cfg.BatchPairs = 1, 4
	if _, err := RunRM(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(cfg.Output, runsettings.File)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RunRM(ctx, cfg, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Output, RMResultFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the older run's result is still there after a new first run began: %v", err)
	}
	res, err := RunRM(context.Background(), cfg, nil)
	if err != nil || res.Earlier || res.ResumedAt != 0 || res.Steps != 5 {
		t.Fatalf("run after the interrupted one: %+v, %v; want 5 steps trained from the start", res, err)
	}
}

// A reward model and its base moved together (a demo folder copied to another machine) still
// load: rm_config.json also records the base relative to the reward model, and a base at the
// recorded absolute path with other weights is passed over for the one the adapter was trained on.
func TestRMFolderMovesWithItsBase(t *testing.T) {
	dir := t.TempDir()
	writeRMFixture(t, dir, 20, redBlue)
	run := filepath.Join(dir, "run")
	copyDir(t, backendtest.Checkpoint(t), filepath.Join(run, "sft"))
	cfg := DefaultRMConfig()
	cfg.Data, cfg.Clips, cfg.Base, cfg.Output = filepath.Join(dir, "fb"), filepath.Join(dir, "gen"), filepath.Join(run, "sft"), filepath.Join(run, "rm")
	cfg.Epochs, cfg.BatchPairs = 1, 4
	if _, err := RunRM(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(dir, "moved")
	if err := os.Rename(run, moved); err != nil {
		t.Fatal(err)
	}
	rm, err := LoadRewardModel(filepath.Join(moved, "rm"))
	if err != nil {
		t.Fatalf("moved reward model: %v", err)
	}
	if rm.CK.Base != filepath.Join(moved, "sft") {
		t.Errorf("base %s, want the moved one", rm.CK.Base)
	}
	// Another checkpoint now at the recorded path (the old folder reused): not the adapter's base.
	copyDir(t, filepath.Join(moved, "sft"), filepath.Join(run, "sft"))
	w := filepath.Join(run, "sft", "model.safetensors")
	b, _ := os.ReadFile(w)
	b[len(b)-1] ^= 1 // other weights, same shapes
	if err := os.WriteFile(w, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if rm, err = LoadRewardModel(filepath.Join(moved, "rm")); err != nil || rm.CK.Base != filepath.Join(moved, "sft") {
		t.Errorf("with another checkpoint at the recorded path: base %v (%v), want the moved one", rm, err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(from, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
