package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/pipelines/feedback"
	"github.com/vrlaif/vrlaif/pipelines/generate"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/frames"
	"github.com/vrlaif/vrlaif/transforms/judge"
	"github.com/vrlaif/vrlaif/transforms/sample"
)

// modelFlags choose the backend every model stage uses and the Beam runner.
type modelFlags struct {
	cfg                           backend.Config
	noCache                       bool
	runner, endpoint, environment string
	beamFlags                     []string
}

func (m *modelFlags) add(f *pflag.FlagSet) {
	f.StringVar(&m.cfg.Name, "backend", "builtin", "model backend: builtin (a checkpoint in-process) or openai (any OpenAI-compatible server)")
	f.StringVar(&m.cfg.Model, "model", "", "builtin: checkpoint folder (from 'vrlaif train sft'); openai: model id (default: the server's first)")
	f.StringVar(&m.cfg.URL, "url", "", "openai: the server's base URL, e.g. http://localhost:8000/v1")
	f.StringVar(&m.cfg.Revision, "model-revision", "", "model revision for the call cache (builtin: the weights' hash)")
	f.StringVar(&m.cfg.APIKeyEnv, "api-key-env", "OPENAI_API_KEY", "openai: environment variable holding the API key (never logged or stored)")
	f.IntVar(&m.cfg.Concurrency, "concurrency", 8, "openai: requests in flight per worker")
	f.DurationVar(&m.cfg.Timeout, "timeout", 2*time.Minute, "openai: timeout of one attempt")
	f.IntVar(&m.cfg.MaxRetries, "max-retries", 4, "openai: retries after a failed attempt (0: none)")
	f.DurationVar(&m.cfg.RetryAfterMax, "retry-after-max", 2*time.Minute, "openai: the longest wait a server's Retry-After can ask for between attempts")
	f.StringVar(&m.cfg.CacheDir, "cache-dir", "", "call cache folder (default OUTPUT/cache); a re-run never pays for a call twice")
	f.BoolVar(&m.noCache, "no-cache", false, "call the model even when the cache has the answer")
	f.StringVar(&m.runner, "runner", "prism", "Beam runner: prism (in-process), universal (a portable job server: --endpoint), dataflow, flink")
	f.StringVar(&m.endpoint, "endpoint", "", "job server address for --runner=universal (HOST:PORT)")
	f.StringVar(&m.environment, "environment-type", "", "Beam SDK environment (LOOPBACK runs workers in this process; default LOOPBACK with --endpoint)")
	f.StringArrayVar(&m.beamFlags, "beam-flag", nil, "any other Beam pipeline option as NAME=VALUE, repeatable (e.g. project=my-gcp-project, region=us-central1, worker_binary=./vrlaif-linux-amd64)")
}

// resolve checks the flags, defaults the cache under out and passes the runner settings to Beam
// (whose options are Go flags).
func (m *modelFlags) resolve(cmd *cobra.Command, out string) (backend.Config, error) {
	c := m.cfg
	if c.MaxRetries <= 0 { // the flag says 0 for none; the config's 0 means its default
		c.MaxRetries = -1
	}
	switch c.Name {
	case "builtin":
		if c.Model == "" {
			return c, fail(cmd, "--model (a checkpoint folder) is required with --backend builtin")
		}
	case "openai":
		if c.URL == "" {
			return c, fail(cmd, "--url is required with --backend openai")
		}
		if c.Model == "" { // ask the server once, here: every worker then uses the same id, and a server that is down is one clear error
			b, err := backend.Open(cmd.Context(), c)
			if err != nil {
				return c, fmt.Errorf("--backend openai without --model: %w", err)
			}
			c.Model = b.Info().Model
			b.Close()
			report("model: %s at %s (its first; --model picks another)", c.Model, c.URL)
		}
	default:
		return c, fail(cmd, "--backend must be builtin or openai, got %q", c.Name)
	}
	if c.CacheDir == "" {
		c.CacheDir = filepath.Join(out, "cache")
	}
	if m.noCache {
		c.CacheDir = ""
	}
	env := m.environment
	if m.endpoint != "" && env == "" {
		env = "LOOPBACK"
	}
	opts := [][2]string{{"runner", m.runner}, {"endpoint", m.endpoint}, {"environment_type", env}}
	for _, kv := range m.beamFlags {
		name, v, ok := strings.Cut(kv, "=")
		if !ok {
			return c, fail(cmd, "--beam-flag wants NAME=VALUE, got %q", kv)
		}
		opts = append(opts, [2]string{strings.TrimLeft(name, "-"), v})
	}
	for _, o := range opts {
		if o[1] == "" {
			continue
		}
		if flag.Lookup(o[0]) == nil {
			return c, fail(cmd, "Beam has no pipeline option --%s", o[0])
		}
		if err := flag.Set(o[0], o[1]); err != nil {
			return c, fmt.Errorf("setting Beam's --%s: %w", o[0], err)
		}
	}
	return c, nil
}

func generateCmd() *cobra.Command {
	var cfg generate.Config
	var mf modelFlags
	cfg.Frames = frames.DefaultParams()
	cfg.Sample = sample.DefaultParams(backend.Config{})
	cmd := &cobra.Command{
		Use:   "generate --input WORLD_OR_MANIFEST --model CKPT --output DIR",
		Short: "Beam pipeline: frames → narratives → K sampled answers per question, as Parquet",
		Long: `generate runs the first half of VLM-RLAIF's data engine as a Beam pipeline (Prism in-process by
default; --runner=universal --endpoint=HOST:PORT for a portable job server):

  frames      decode each video with FFmpeg (or read a folder of frames), sample --frames uniformly
  narrative   split the frames into 3 sub-clips of at most 20, ask the captioner "Describe this
              video in detail." about each, join as "Clip 1: … Clip 2: …" (the judge's context)
  responses   ask the policy each question --k times (temperature, top-p, a seed per question),
              keeping per-token log-probabilities

--input is a synthetic world (from 'vrlaif synth'), the seed's RL_data.json (frames under
--image-folder), a manifest (.jsonl: {"id","video"|"images","question"|"questions"}; .csv or
.parquet: columns id, video, question[, question_id]), or videos (file, folder, glob) with
--questions. Paths in manifests must stay under their root (the manifest's folder, or --root).

Writes DIR/clips/, DIR/narratives/, DIR/responses/, DIR/deadletter/ (Parquet) and DIR/summary.json.
Rows have deterministic ids and model calls go through a cache (DIR/cache): re-running into the same
DIR after an interruption writes only the rows that are missing, and pays for no call twice. The
settings that decide the rows (frames, prompts, sampling, each model's weights hash or id) are
recorded in DIR/settings.json; a re-run with other settings is refused (a larger --k, or more
input, goes on). After a re-run, dead letters of items that now have their rows are removed.`,
		Example: "  vrlaif generate --input out/world --model out/sft --output out/gen\n" +
			"  vrlaif generate --input 'videos/*.mp4' --questions q.txt --backend openai --url http://localhost:8000/v1 --output out/gen",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Input.Spec == "" || cfg.Output == "" {
				return fail(cmd, "--input and --output are required")
			}
			b, err := mf.resolve(cmd, cfg.Output)
			if err != nil {
				return err
			}
			cfg.Narrative.Backend, cfg.Sample.Backend = b, b
			sum, err := generate.Run(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			sum.Settings["backend"] = b.String()
			if err := writeSummary(cfg.Output, sum); err != nil {
				return err
			}
			report("generate: %s in %.0fs → %s", stageLine(sum, generate.Stages), sum.WallSeconds, cfg.Output)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfg.Input.Spec, "input", "i", "", "synthetic world, RL_data.json, manifest, or videos (required)")
	f.StringVar(&cfg.Input.Questions, "questions", "", "questions for every video when --input names videos (one per line, or a JSON list)")
	f.StringVar(&cfg.Input.ImageFolder, "image-folder", "", "root of frame paths in RL_data.json and manifests")
	f.StringVar(&cfg.Input.Root, "root", "", "root every manifest path must stay under (default: the manifest's folder)")
	f.StringVar(&cfg.Input.Split, "split", "", "synthetic world: only clips of this split, train or heldout (default: all; for PPO's prompts take train, since eval scores the held-out clips)")
	f.StringVarP(&cfg.Output, "output", "o", "", "output folder (required; re-running into it resumes)")
	f.IntVar(&cfg.Frames.Frames, "frames", cfg.Frames.Frames, "frames sampled per video")
	f.IntVar(&cfg.Frames.Size, "size", cfg.Frames.Size, "frame size in pixels (padded to a square)")
	f.IntVar(&cfg.Sample.K, "k", cfg.Sample.K, "answers sampled per question")
	f.Float64Var(&cfg.Sample.Temperature, "temperature", cfg.Sample.Temperature, "policy sampling temperature")
	f.Float64Var(&cfg.Sample.TopP, "top-p", cfg.Sample.TopP, "policy nucleus sampling")
	f.IntVar(&cfg.Sample.MaxTokens, "max-tokens", cfg.Sample.MaxTokens, "new tokens per answer at most")
	f.Int64Var(&cfg.Sample.Seed, "seed", 0, "base seed of the answers (each question derives its own)")
	f.IntVar(&cfg.Narrative.MaxTokens, "narrative-max-tokens", 256, "new tokens per sub-clip description at most")
	mf.add(f)
	return cmd
}

func feedbackCmd() *cobra.Command {
	var cfg feedback.Config
	var mf modelFlags
	var noContext bool
	var decision string
	method := judge.JudgeVerdict
	cmd := &cobra.Command{
		Use:   "feedback --input GENERATE_DIR --model CKPT --output DIR",
		Short: "Beam pipeline: A/B pairs → context-aware judge in both orders → preferences, as Parquet",
		Long: `feedback runs the second half of VLM-RLAIF's data engine as a Beam pipeline over a 'vrlaif generate'
output folder:

  pairs   every two different answers to a question (identical answers are dropped and counted)
  judge   the judge sees the video, the clip's narrative as context, the question and both answers,
          and is asked which is better (accurate and grounded in the video, helpful, natural,
          concise; template ` + prompts.Judge + `); it is asked in both orders. The verdict is p(A) vs
          p(B) where the backend gives log-probabilities, else the letter parsed from its reply. When
          the two orders agree the pair is labeled; when not it is kept with the reason.

--judge likelihood (a fill-in, not the original's) scores instead each answer as the judge's own
reply to the question with the narrative as context (template ` + prompts.JudgeLikelihood + `, the prompt
'vrlaif train sft' teaches on a synthetic world) and prefers the likelier per token; it needs a
backend that scores whole replies (the built-in model) and has no order to ask twice.
--no-context uses the same prompt without the narrative (` + prompts.JudgeNoContext + `, or
` + prompts.JudgeLikelihoodNoContext + ` for the likelihood judge), the ablation.
Where the prompt is longer than the judge's context, the narrative is shortened (each clip's
caption by the same share, at a word) until it fits; the row's context_dropped says by how much.
Writes DIR/preferences/ (both verdicts and probabilities, the context used, the judge model and
template), DIR/deadletter/ and DIR/summary.json with the judge's statistics (flip rate,
agreement, label balance). 'vrlaif export --format rm --input DIR' writes the labeled pairs in the
seed's RM JSON layout. Re-running into DIR writes only what is missing; the judge's settings and
model (weights hash or id) are recorded in DIR/settings.json, and a re-run with others is refused.`,
		Example: "  vrlaif feedback --input out/gen --model out/sft --output out/feedback",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Input == "" || cfg.Output == "" {
				return fail(cmd, "--input and --output are required")
			}
			b, err := mf.resolve(cmd, cfg.Output)
			if err != nil {
				return err
			}
			if decision != judge.DecideAgree && decision != judge.DecideAverage {
				return fail(cmd, "--decision must be agree or average, got %q", decision)
			}
			if method != judge.JudgeVerdict && method != judge.JudgeLikelihood {
				return fail(cmd, "--judge must be verdict or likelihood, got %q", method)
			}
			with, without, _ := judge.Templates(method)
			cfg.Judge = judge.Params{Backend: b, Method: method, Template: with, Decision: decision}
			if noContext {
				cfg.Judge.Template = without
			}
			sum, err := feedback.Run(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			sum.Settings["backend"] = b.String()
			if err := writeSummary(cfg.Output, sum); err != nil {
				return err
			}
			st := sum.Extra["judge_stats"].(judge.Stats)
			report("feedback: %s in %.0fs → %s", stageLine(sum, []string{judge.PairsStage, judge.Stage}), sum.WallSeconds, cfg.Output)
			report("judge: %d pairs, %d labeled, flip rate %.2f, label balance %.2f (share choosing output_1), %d identical pairs dropped, %d narratives shortened to fit the judge's context",
				st.Pairs, st.Labeled, st.FlipRate, st.LabelBalance, st.Identical, st.ContextShortened)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfg.Input, "input", "i", "", "a 'vrlaif generate' output folder (required)")
	f.StringVarP(&cfg.Output, "output", "o", "", "output folder (required; re-running into it resumes)")
	f.BoolVar(&noContext, "no-context", false, "judge without the narrative (the ablation)")
	f.StringVar(&method, "judge", method, "verdict: ask which answer is better, A or B (the original's); likelihood: score each answer as the judge's reply with the narrative as context (built-in model only)")
	f.StringVar(&decision, "decision", judge.DecideAgree, "agree: label a pair only when both orders pick the same answer; average: label by the mean of both orders' probabilities (cancels a judge's position bias)")
	mf.add(f)
	return cmd
}

// stageLine is "frames 8/8 · narrative 8/8 (1 dead) …" from a summary.
func stageLine(s schemas.Summary, order []string) string {
	var parts []string
	seen := map[string]bool{}
	for _, name := range order {
		if c, ok := s.Stages[name]; ok {
			seen[name] = true
			parts = append(parts, countsText(name, c))
		}
	}
	var rest []string
	for name := range s.Stages {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		parts = append(parts, countsText(name, s.Stages[name]))
	}
	return strings.Join(parts, " · ")
}

func countsText(name string, c schemas.StageCounts) string {
	t := fmt.Sprintf("%s %d→%d", name, c.In, c.Out)
	if c.DeadLetter > 0 {
		t += fmt.Sprintf(" (%d dead)", c.DeadLetter)
	}
	if c.Skipped > 0 {
		t += fmt.Sprintf(" (%d already there)", c.Skipped)
	}
	return t
}
