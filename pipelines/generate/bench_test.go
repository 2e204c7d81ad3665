package generate

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
	"github.com/vrlaif/vrlaif/transforms/frames"
	"github.com/vrlaif/vrlaif/transforms/narrative"
	"github.com/vrlaif/vrlaif/transforms/sample"
)

// TestMain runs the pipeline on Prism, in process.
func TestMain(m *testing.M) { ptest.Main(m) }

// standalone does the pipeline's work without Beam: the same stages called in a loop on one
// goroutine each for decoding and the model, writing the same Parquet datasets.
func standalone(ctx context.Context, cfg Config, tasks []schemas.Task) error {
	b, err := backend.Open(ctx, cfg.Narrative.Backend)
	if err != nil {
		return err
	}
	defer b.Close()
	clips, _ := dataset.NewWriter[schemas.Clip](filepath.Join(cfg.Output, ClipsDir), ClipsDir, 0, 16)
	narrs, _ := dataset.NewWriter[schemas.Narrative](filepath.Join(cfg.Output, NarrativesDir), NarrativesDir, 0)
	resps, _ := dataset.NewWriter[schemas.Response](filepath.Join(cfg.Output, ResponsesDir), ResponsesDir, 0)
	np, sp := cfg.Narrative.WithDefaults(), cfg.Sample.WithDefaults()
	for _, t := range tasks {
		clip, err := frames.ExtractTask(ctx, t, cfg.Frames)
		if err != nil {
			return err
		}
		clips.Write(clip)
		tc := schemas.TaskClip{Task: t, Clip: clip}
		n, err := narrative.Describe(ctx, b, clip, t.ID, np)
		if err != nil {
			return err
		}
		narrs.Write(n)
		for _, q := range t.Questions {
			rs, err := sample.Answers(ctx, b, tc, q, sp)
			if err != nil {
				return err
			}
			resps.Write(rs...)
		}
	}
	for _, w := range []interface{ Close() error }{clips, narrs, resps} {
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkOverhead: clips per second of the generate pipeline on Prism (in process) against the
// same stages run standalone on the same input, without the call cache; the overhead ratio is
// pipeline time / standalone time − 1. Best of 3 each, alternating, same run.
func BenchmarkOverhead(b *testing.B) {
	ctx := context.Background()
	world := filepath.Join(b.TempDir(), "world")
	p := synth.DefaultParams()
	p.N = 16
	if _, err := synth.Generate(ctx, world, p, nil); err != nil {
		b.Fatal(err)
	}
	be := backend.Config{Name: "builtin", Model: backendtest.Checkpoint(b)}
	fp := frames.DefaultParams()
	fp.Frames, fp.Size = 50, 224
	sp := sample.DefaultParams(be)
	sp.MaxTokens = 32
	cfg := Config{Input: Input{Spec: world}, Frames: fp, Narrative: narrative.Params{Backend: be, MaxTokens: 32}, Sample: sp}
	tasks, _, err := LoadTasks(ctx, cfg.Input)
	if err != nil {
		b.Fatal(err)
	}
	var pipe, alone []float64
	for b.Loop() {
		for range 3 {
			c := cfg
			c.Output = b.TempDir()
			start := time.Now()
			if err := standalone(ctx, c, tasks); err != nil {
				b.Fatal(err)
			}
			alone = append(alone, time.Since(start).Seconds())
			c.Output = b.TempDir()
			start = time.Now()
			if _, err := Run(ctx, c, nil); err != nil {
				b.Fatal(err)
			}
			pipe = append(pipe, time.Since(start).Seconds())
		}
	}
	sort.Float64s(pipe)
	sort.Float64s(alone)
	b.ReportMetric(float64(len(tasks))/pipe[0], "clips/s-pipeline")
	b.ReportMetric(float64(len(tasks))/alone[0], "clips/s-standalone")
	b.ReportMetric(pipe[0]/alone[0]-1, "overhead")
}
