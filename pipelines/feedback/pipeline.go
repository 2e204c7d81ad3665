// Package feedback is the feedback pipeline (Beam): the generate pipeline's clips, narratives and
// responses → A/B pairs of different answers to each question → a context-aware judge in both
// orders → preferences/ (labeled where the orders agree, kept with the reason where not) and
// deadletter/, with the judge's statistics in the run summary.
package feedback

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
	"github.com/vrlaif/vrlaif/transforms/judge"
	"github.com/vrlaif/vrlaif/transforms/parquetio"
)

func init() {
	parquetio.Register[schemas.Clip]()
	parquetio.Register[schemas.Narrative]()
	parquetio.Register[schemas.Response]()
	parquetio.Register[schemas.Preference]()
	parquetio.Register[schemas.DeadLetter]()
}

// Config is plain data.
type Config struct {
	Input  string       `json:"input"` // a generate output folder (clips/, narratives/, responses/)
	Output string       `json:"output"`
	Judge  judge.Params `json:"judge"`
}

// Output folders under Config.Output.
const (
	PreferencesDir = schemas.RowPreference
	DeadLetterDir  = schemas.RowDeadLetter
)

// Pipeline adds the feedback graph to s.
func Pipeline(s beam.Scope, cfg Config) {
	s = s.Scope("feedback")
	clips := parquetio.Read[schemas.Clip](s, filepath.Join(cfg.Input, schemas.RowClip))
	narratives := parquetio.Read[schemas.Narrative](s, filepath.Join(cfg.Input, schemas.RowNarrative))
	responses := parquetio.Read[schemas.Response](s, filepath.Join(cfg.Input, schemas.RowResponse))
	pairs, pairDead := judge.Pairs(s, clips, narratives, responses, cfg.Judge)
	prefs, judgeDead := judge.Label(s, pairs, cfg.Judge)
	wp := parquetio.WriteParams{IDField: "ID", SkipExisting: true}
	parquetio.Write[schemas.Preference](s.Scope("write.preferences"), filepath.Join(cfg.Output, PreferencesDir), PreferencesDir, prefs,
		parquetio.WriteParams{IDField: "ID", SkipExisting: true, Unique: true}) // responses written twice (older runs) would pair twice
	parquetio.Write[schemas.DeadLetter](s.Scope("write.deadletter"), filepath.Join(cfg.Output, DeadLetterDir), DeadLetterDir,
		beam.Flatten(s, pairDead, judgeDead), wp)
}

// Run runs the pipeline and returns its summary, the judge statistics included (computed over
// every row in preferences/, earlier runs' too).
func Run(ctx context.Context, cfg Config, progress io.Writer) (schemas.Summary, error) {
	start := time.Now()
	if cfg.Output == "" {
		return schemas.Summary{}, fmt.Errorf("feedback: no output folder")
	}
	if samePath(cfg.Input, cfg.Output) {
		return schemas.Summary{}, fmt.Errorf("feedback: --output %s is the input folder: its summary.json and dead letters would mix with generate's; give another folder", cfg.Output)
	}
	if _, err := os.Stat(filepath.Join(cfg.Input, schemas.RowResponse)); err != nil {
		return schemas.Summary{}, fmt.Errorf("feedback: %s has no %s/ (give a 'vrlaif generate' output folder): %w", cfg.Input, schemas.RowResponse, err)
	}
	if err := cfg.Judge.WithDefaults().Validate(); err != nil {
		return schemas.Summary{}, fmt.Errorf("feedback: %w", err)
	}
	// The judge first: a wrong checkpoint or a server that is down is one clear error here; its
	// identity goes into the settings record, and the open handle is shared by in-process workers.
	b, err := backend.Open(ctx, cfg.Judge.Backend)
	if err != nil {
		return schemas.Summary{}, fmt.Errorf("feedback: opening the judge: %w", err)
	}
	defer b.Close()
	if cfg.Judge.Method == judge.JudgeLikelihood {
		if err := judge.CheckWholeReplies(ctx, b); err != nil {
			return schemas.Summary{}, fmt.Errorf("feedback: %w", err)
		}
	}
	// One run at a time into a folder; a killed run's temporary files go (readers skip them, but
	// they would collect).
	lock, err := runlock.Begin(cfg.Output, "feedback", progress)
	if err != nil {
		return schemas.Summary{}, fmt.Errorf("feedback: %w", err)
	}
	defer lock.Release()
	if err := runsettings.Check(cfg.Output, "feedback", rowSettings(cfg, b.Info())); err != nil {
		return schemas.Summary{}, fmt.Errorf("feedback: %w", err)
	}
	for _, d := range []string{PreferencesDir, DeadLetterDir} {
		if err := os.MkdirAll(filepath.Join(cfg.Output, d), 0o755); err != nil {
			return schemas.Summary{}, fmt.Errorf("feedback: %w", err)
		}
	}
	p, s := beam.NewPipelineWithRoot()
	Pipeline(s, cfg)
	c, err := beamrun.Run(ctx, p, progress, 5*time.Second, judge.PairsStage, judge.Stage)
	if err != nil {
		return schemas.Summary{}, fmt.Errorf("feedback: %w", err)
	}
	prefs, err := dataset.ReadAll[schemas.Preference](filepath.Join(cfg.Output, PreferencesDir))
	if err != nil {
		return schemas.Summary{}, fmt.Errorf("feedback: reading back preferences: %w", err)
	}
	resolved, err := pruneDeadLetters(cfg.Output, prefs)
	if err != nil {
		return schemas.Summary{}, fmt.Errorf("feedback: %w", err)
	}
	c["deadletter.resolved"] = int64(resolved)
	if progress != nil && resolved > 0 {
		fmt.Fprintf(progress, "feedback: %d dead letters of earlier runs resolved (their pairs are now judged) and removed\n", resolved)
	}
	stats := judge.Summarize(prefs, int(c[judge.PairsStage+".identical"]))
	pairs := c.Stage(judge.PairsStage, "")
	return schemas.Summary{Command: "feedback", WallSeconds: time.Since(start).Seconds(),
		Stages: map[string]schemas.StageCounts{
			judge.PairsStage: pairs,
			judge.Stage:      c.Stage(judge.Stage, PreferencesDir),
		},
		Settings: map[string]any{"input": cfg.Input, "judge": cfg.Judge},
		Outputs:  map[string]string{PreferencesDir: PreferencesDir, DeadLetterDir: DeadLetterDir},
		Counters: c, Extra: map[string]any{"judge_stats": stats}}, nil
}

// pruneDeadLetters removes the dead letters of earlier runs whose pair is now judged: a judge
// call that failed for a pair now in preferences/, and a response that could not be paired (no
// clip or narrative then) that is now in a judged pair.
func pruneDeadLetters(out string, prefs []schemas.Preference) (int, error) {
	judged := map[string]bool{}
	for _, p := range prefs {
		for _, k := range []string{p.Response1 + "|" + p.Response2, p.Response2 + "|" + p.Response1, p.Response1, p.Response2} {
			judged[k] = true
		}
	}
	return deadletters.Prune(filepath.Join(out, DeadLetterDir), func(d schemas.DeadLetter) bool {
		return (d.Stage == judge.Stage || d.Stage == judge.PairsStage) && judged[d.InputRef]
	})
}

// rowSettings are the settings that decide feedback's rows, as recorded in the output folder: the
// judge's parameters and model identity (backend, model id, revision), without its connection
// settings. The input is not among them: a re-run may add another generate folder's pairs.
func rowSettings(cfg Config, judgeModel backend.Info) map[string]any {
	return map[string]any{"judge": runsettings.Omit(cfg.Judge.WithDefaults(), "backend"), "judge_model": judgeModel}
}

// samePath reports whether a and b name the same folder (after cleaning, or as the same file on
// disk when both exist).
func samePath(a, b string) bool {
	aa, errA := filepath.Abs(a)
	bb, errB := filepath.Abs(b)
	if errA == nil && errB == nil && aa == bb {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
