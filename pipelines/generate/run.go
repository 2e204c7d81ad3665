package generate

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/internal/deadletters"
	"github.com/vrlaif/vrlaif/internal/runlock"
	"github.com/vrlaif/vrlaif/internal/runsettings"
	"github.com/vrlaif/vrlaif/pipelines/beamrun"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/frames"
	"github.com/vrlaif/vrlaif/transforms/narrative"
	"github.com/vrlaif/vrlaif/transforms/sample"
)

// Stages in the order they run (the summary's and the progress line's names).
var Stages = []string{InputStage, frames.Stage, narrative.Stage, sample.Stage}

// Run loads the tasks, runs the pipeline on the configured runner and returns the run's summary.
// progress (may be nil) gets a line every few seconds.
func Run(ctx context.Context, cfg Config, progress io.Writer) (schemas.Summary, error) {
	start := time.Now()
	if cfg.Output == "" {
		return schemas.Summary{}, fmt.Errorf("generate: no output folder")
	}
	// Settings first: a bad one would otherwise surface as a panic while the graph is built, or
	// as a dead letter for every question after the frames and narratives were paid for.
	for _, err := range []error{cfg.Frames.Validate(), cfg.Sample.Validate()} {
		if err != nil {
			return schemas.Summary{}, fmt.Errorf("generate: %w", err)
		}
	}
	// The models first: a wrong checkpoint or a server that is down is one clear error here, not a
	// dead letter per clip; their identities (weights hash, model id) go into the settings record.
	// The handles stay open for the run, so in-process workers share the loaded models.
	var models [2]backend.Info
	for i, c := range []backend.Config{cfg.Narrative.Backend, cfg.Sample.Backend} {
		b, err := backend.Open(ctx, c)
		if err != nil {
			return schemas.Summary{}, fmt.Errorf("generate: opening the %s model: %w", []string{"captioning", "policy"}[i], err)
		}
		defer b.Close()
		models[i] = b.Info()
	}
	tasks, dead, heldOut, err := loadTasks(ctx, cfg.Input)
	if err != nil {
		return schemas.Summary{}, err
	}
	// One run at a time into a folder; a killed run's temporary files go (readers skip them, but
	// they would collect).
	lock, err := runlock.Begin(cfg.Output, "generate", progress)
	if err != nil {
		return schemas.Summary{}, fmt.Errorf("generate: %w", err)
	}
	defer lock.Release()
	if err := runsettings.Check(cfg.Output, "generate", rowSettings(cfg, models[0], models[1]), "sample.k"); err != nil {
		return schemas.Summary{}, fmt.Errorf("generate: %w", err)
	}
	MarkSharedClips(tasks)
	questions := 0
	for _, t := range tasks {
		questions += len(t.Questions)
	}
	if progress != nil {
		fmt.Fprintf(progress, "generate: %d videos, %d questions (%d input records refused)\n", len(tasks), questions, len(dead))
		if heldOut > 0 {
			fmt.Fprintf(progress, "generate: note: this takes the world's %d held-out clips too; as PPO's prompts they would be clips the evaluation then scores (--split train leaves them out)\n", heldOut)
		}
	}
	for _, d := range []string{ClipsDir, NarrativesDir, ResponsesDir, DeadLetterDir} {
		if err := os.MkdirAll(filepath.Join(cfg.Output, d), 0o755); err != nil {
			return schemas.Summary{}, fmt.Errorf("generate: %w", err)
		}
	}
	p, s := beam.NewPipelineWithRoot()
	Pipeline(s, cfg, tasks, dead)
	c, err := beamrun.Run(ctx, p, progress, 5*time.Second, Stages[1:]...)
	if err != nil {
		return schemas.Summary{}, fmt.Errorf("generate: %w", err)
	}
	resolved, err := pruneDeadLetters(cfg.Output)
	if err != nil {
		return schemas.Summary{}, fmt.Errorf("generate: %w", err)
	}
	c["deadletter.resolved"] = int64(resolved)
	if progress != nil && resolved > 0 {
		fmt.Fprintf(progress, "generate: %d dead letters of earlier runs resolved (their rows are now written) and removed\n", resolved)
	}
	sum := schemas.Summary{Command: "generate", WallSeconds: time.Since(start).Seconds(),
		Stages: map[string]schemas.StageCounts{
			InputStage:      {In: len(tasks) + len(dead), Out: len(tasks), DeadLetter: len(dead)},
			frames.Stage:    c.Stage(frames.Stage, ClipsDir),
			narrative.Stage: c.Stage(narrative.Stage, NarrativesDir),
			sample.Stage:    c.Stage(sample.Stage, ResponsesDir),
		},
		Settings: map[string]any{"input": cfg.Input, "frames": cfg.Frames, "narrative": cfg.Narrative, "sample": cfg.Sample},
		Outputs: map[string]string{ClipsDir: ClipsDir, NarrativesDir: NarrativesDir, ResponsesDir: ResponsesDir,
			DeadLetterDir: DeadLetterDir},
		Counters: c}
	return sum, nil
}

// rowSettings are the settings that decide generate's rows, as recorded in the output folder: the
// frame sampling, each stage's parameters and its model's identity (what the call cache keys on:
// backend, model id, revision), without connection settings, the decoder's thread count or the
// input limits (which decide only which videos are refused). The input is not among them: a
// re-run may add videos.
func rowSettings(cfg Config, captioner, policy backend.Info) map[string]any {
	return map[string]any{
		"frames":          runsettings.Omit(cfg.Frames, "decode_threads", "limits"),
		"narrative":       runsettings.Omit(cfg.Narrative.WithDefaults(), "backend"),
		"narrative_model": captioner,
		"sample":          runsettings.Omit(cfg.Sample.WithDefaults(), "backend"),
		"policy":          policy,
	}
}

// pruneDeadLetters removes the dead letters of earlier runs whose item now has its row: a video
// whose frames failed and now has narratives or answers, a clip that now has its narrative, a
// question that now has its answers. Input refusals stay (the input decides them).
func pruneDeadLetters(out string) (int, error) {
	type videoRef struct {
		VideoID string `parquet:"video_id"`
		ClipID  string `parquet:"clip_id"`
	}
	type answerRef struct {
		VideoID    string `parquet:"video_id"`
		ClipID     string `parquet:"clip_id"`
		QuestionID string `parquet:"question_id"`
	}
	if shards, err := dataset.Shards(filepath.Join(out, DeadLetterDir)); err != nil || len(shards) == 0 {
		return 0, err // nothing to prune: the rows' ids need not be read
	}
	narrated, err := deadletters.IDs(filepath.Join(out, NarrativesDir), func(r videoRef) []string { return []string{r.ClipID, "video " + r.VideoID} })
	if err != nil {
		return 0, err
	}
	answered, err := deadletters.IDs(filepath.Join(out, ResponsesDir), func(r answerRef) []string {
		return []string{r.ClipID + "/" + r.QuestionID, "video " + r.VideoID}
	})
	if err != nil {
		return 0, err
	}
	return deadletters.Prune(filepath.Join(out, DeadLetterDir), func(d schemas.DeadLetter) bool {
		switch d.Stage {
		case frames.Stage:
			return narrated["video "+d.InputRef] || answered["video "+d.InputRef]
		case narrative.Stage:
			return narrated[d.InputRef]
		case sample.Stage:
			return answered[d.InputRef]
		}
		return false
	})
}
