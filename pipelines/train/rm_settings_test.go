package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/schemas"
)

// Settings a reward model cannot train with are errors before anything is written: batch pairs
// 0 divided by zero, a held-out share ≥ 1 sliced past the pairs, and zero epochs or a share that
// holds out every pair wrote an untrained reward model with exit 0.
func TestRunRMRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	writeRMFixture(t, dir, 3, func(int) schemas.Preference {
		return schemas.Preference{Question: "What color?", Output1: "Red.", Output2: "Blue.", Chosen: 1}
	})
	base := backendtest.Checkpoint(t)
	cases := []struct {
		name string
		edit func(*RMConfig)
		want string
	}{
		{"batch 0", func(c *RMConfig) { c.BatchPairs = 0 }, "batch pairs must be ≥ 1"},
		{"batch -1", func(c *RMConfig) { c.BatchPairs = -1 }, "batch pairs must be ≥ 1"},
		{"heldout 2", func(c *RMConfig) { c.Heldout = 2 }, "held-out share must be in [0, 1)"},
		{"heldout 1", func(c *RMConfig) { c.Heldout = 1 }, "held-out share must be in [0, 1)"},
		{"epochs 0", func(c *RMConfig) { c.Epochs = 0 }, "epochs must be ≥ 1"},
		{"lr NaN", func(c *RMConfig) { c.LR = float32(math.NaN()) }, "learning rate"},
		{"every pair held out", func(c *RMConfig) { c.Heldout = 0.9 }, "none are left to train on"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultRMConfig()
			cfg.Data, cfg.Clips, cfg.Base, cfg.Output = filepath.Join(dir, "fb"), filepath.Join(dir, "gen"), base, filepath.Join(t.TempDir(), "rm")
			tc.edit(&cfg)
			_, err := RunRM(context.Background(), cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if _, err := os.Stat(cfg.Output); err == nil {
				t.Errorf("wrote %s before refusing", cfg.Output)
			}
		})
	}
}
