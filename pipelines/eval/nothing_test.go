package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
)

// An evaluation of nothing is an error, not a table of zeros with exit 0: a folder without ground
// truth, a split with no clips, bad frame settings, or a world none of whose videos decode.
func TestRunRefusesNothingToEvaluate(t *testing.T) {
	dir, truths := world(t)
	ckpt := backendtest.Checkpoint(t)
	base := func() Config {
		cfg := smallConfig(t, dir)
		cfg.Models = []ModelSpec{{Name: "a", Backend: backend.Config{Name: "builtin", Model: ckpt}}}
		return cfg
	}
	missing := base()
	missing.World = filepath.Join(t.TempDir(), "no-world")
	split := base()
	split.Split = "bogus"
	noFrames := base()
	noFrames.Frames.Frames = 0
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"no world": {missing, "holds no ground truth"},
		"no split": {split, `no clips in split "bogus"`},
		"frames 0": {noFrames, "frames must be > 0"},
	} {
		if _, err := Run(t.Context(), tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", name, err, tc.want)
		}
	}
	for _, tr := range truths[:2] { // the third is broken already
		os.WriteFile(filepath.Join(dir, tr.VideoPath), []byte("not a video"), 0o644)
	}
	if _, err := Run(t.Context(), base(), nil); err == nil || !strings.Contains(err.Error(), "none of the clips could be read (3 dead letters") {
		t.Errorf("every video broken: error %v, want 'none of the clips could be read (3 dead letters'", err)
	}
}
