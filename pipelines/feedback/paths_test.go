package feedback_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/pipelines/feedback"
	"github.com/vrlaif/vrlaif/schemas"
)

// feedback refuses to write into its own input folder (by the same name, a different spelling or
// a symlink): generate's summary.json would be overwritten and the two stages' dead letters mixed.
func TestFeedbackRefusesItsInputAsOutput(t *testing.T) {
	gen := t.TempDir()
	os.MkdirAll(filepath.Join(gen, schemas.RowResponse), 0o755)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(gen, link); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{gen, gen + "/.", link} {
		_, err := feedback.Run(t.Context(), feedback.Config{Input: gen, Output: out}, nil)
		if err == nil || !strings.Contains(err.Error(), "is the input folder") {
			t.Errorf("--output %s: error %v, want 'is the input folder'", out, err)
		}
	}
	if entries, _ := os.ReadDir(gen); len(entries) != 1 {
		t.Errorf("the input folder has %d entries after the refusals, want 1 (responses/)", len(entries))
	}
}
