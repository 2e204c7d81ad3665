package train

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/synth"
)

// A save decided before a kill (its files staged and the staging folder renamed to ready) is
// finished by the next run: every file comes from that save, including one already moved; an
// undecided save (staging only) is dropped and the checkpoint stays as it was.
func TestFinishSaveCompletesADecidedSave(t *testing.T) {
	files := []string{"model.safetensors", "config.json", "tokenizer.json", "optimizer.safetensors", "trainer_state.json"}
	write := func(dir, text string, names ...string) {
		os.MkdirAll(dir, 0o755)
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(dir, want string) {
		t.Helper()
		for _, n := range files {
			if b, err := os.ReadFile(filepath.Join(dir, n)); err != nil || string(b) != want {
				t.Errorf("%s: %q (%v), want %q", n, b, err, want)
			}
		}
		for _, j := range []string{stagingDir, readyDir} {
			if _, err := os.Stat(filepath.Join(dir, j)); err == nil {
				t.Errorf("%s left behind", j)
			}
		}
	}
	// Killed while moving: the weights already moved, the rest still in ready.
	dir := t.TempDir()
	write(dir, "step 2", files...)
	write(dir, "step 4", "model.safetensors")
	write(filepath.Join(dir, readyDir), "step 4", files[1:]...)
	if err := finishSave(dir); err != nil {
		t.Fatal(err)
	}
	check(dir, "step 4")

	// Killed while staging: the save never happened.
	dir = t.TempDir()
	write(dir, "step 2", files...)
	write(filepath.Join(dir, stagingDir), "step 4", files[:2]...)
	if err := finishSave(dir); err != nil {
		t.Fatal(err)
	}
	check(dir, "step 2")
}

// Resuming a checkpoint with other settings (another model size, learning rate or data) is
// refused with the differences named; fewer steps than the checkpoint has is refused; the same
// settings with more steps go on from the checkpoint, with the data found by its contents: the
// world moved to another folder resumes (it was refused by its path).
func TestSFTResumeRefusesOtherSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	world, other := t.TempDir(), t.TempDir()
	p := synth.DefaultParams()
	p.N = 4
	for i, w := range []string{world, other} {
		p.Seed = int64(1 + i) // another world: other videos and questions
		if _, err := synth.Generate(t.Context(), w, p, nil); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultSFTConfig()
	cfg.World, cfg.Output, cfg.Size, cfg.Vocab, cfg.BatchSize, cfg.Steps = world, filepath.Join(t.TempDir(), "ckpt"), "tiny", 400, 4, 4
	cfg.SaveEvery, cfg.EvalEvery, cfg.Warmup = 2, 0, 1
	if _, err := RunSFT(t.Context(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*SFTConfig)
		want string
	}{
		{"size", func(c *SFTConfig) { c.Size = "small" }, "size tiny (now small)"},
		{"lr", func(c *SFTConfig) { c.LR = 1e-4 }, "lr 0.002 (now 0.0001)"},
		{"data", func(c *SFTConfig) { c.World = other }, "(now " + other + ")"},
		{"data contents", func(c *SFTConfig) { c.World = other }, "other examples or videos"},
		{"fewer steps", func(c *SFTConfig) { c.Steps = 2 }, "past --steps 2"},
	} {
		c := cfg
		tc.edit(&c)
		_, err := RunSFT(t.Context(), c, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
		if tc.name != "fewer steps" && !errors.Is(err, ErrOtherSettings) {
			t.Errorf("%s: error %v is not ErrOtherSettings", tc.name, err)
		}
	}
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(world, moved); err != nil {
		t.Fatal(err)
	}
	more := cfg
	more.Steps, more.SaveEvery, more.World = 6, 3, moved // saving more often changes nothing
	res, err := RunSFT(t.Context(), more, nil)
	if err != nil || res.Steps != 2 {
		t.Fatalf("resume with more steps: %d steps, %v; want 2 more", res.Steps, err)
	}
	st, err := loadState(cfg.Output)
	if err != nil || st.Step != 6 || st.Config == nil || st.Config.Steps != 6 {
		t.Errorf("trainer state %+v (%v)", st, err)
	}
}
