package generate

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/transforms/frames"
	"github.com/vrlaif/vrlaif/transforms/sample"
)

// Bad settings are an error before anything runs: no panic while the graph is built (frames 0
// did that), no dead letter per question after the frames were paid for (temperature −1), no
// Beam plan dump (a NaN temperature cannot be serialised), and nothing written.
func TestRunRefusesBadSettings(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"frames 0", func(c *Config) { c.Frames.Frames = 0 }, "frames must be > 0"},
		{"size -1", func(c *Config) { c.Frames.Size = -1 }, "size must be in"},
		{"k -1", func(c *Config) { c.Sample.K = -1 }, "k (answers per question)"},
		{"max tokens -5", func(c *Config) { c.Sample.MaxTokens = -5 }, "max tokens"},
		{"temperature -1", func(c *Config) { c.Sample.Temperature = -1 }, "temperature"},
		{"temperature NaN", func(c *Config) { c.Sample.Temperature = math.NaN() }, "temperature"},
		{"temperature Inf", func(c *Config) { c.Sample.Temperature = math.Inf(1) }, "temperature"},
		{"top-p 2", func(c *Config) { c.Sample.TopP = 2 }, "top-p"},
		{"top-p NaN", func(c *Config) { c.Sample.TopP = math.NaN() }, "top-p"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			cfg := Config{Input: Input{Spec: "does-not-matter"}, Output: out, Frames: frames.DefaultParams(),
				Sample: sample.DefaultParams(backend.Config{Name: "builtin", Model: "none"})}
			tc.edit(&cfg)
			_, err := Run(t.Context(), cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("wrote %d entries into the output folder before refusing", len(entries))
			}
		})
	}
}
