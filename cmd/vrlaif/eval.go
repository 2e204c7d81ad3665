package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/pipelines/eval"
	"github.com/vrlaif/vrlaif/pipelines/train"
	"github.com/vrlaif/vrlaif/schemas"
)

func evalCmd() *cobra.Command {
	cfg := eval.DefaultConfig()
	var (
		models, adapters, remotes, remoteIDs, prefs []string
		judgeURL, judgeModel, judgeKeyEnv, cacheDir string
		noCache                                     bool
	)
	cmd := &cobra.Command{
		Use:   "eval (--world WORLD | --benchmark-dir DIR --video-folder DIR) --model NAME=CKPT [--adapter NAME=DIR …] --output DIR",
		Short: "Score models on the Video-ChatGPT benchmark's five axes and zero-shot QA",
		Long: `eval asks each model every question of a synthetic world's held-out clips (50 frames, padded,
224 px; '<video>\n{question}' in one user turn; temperature 0.2, up to 512 new tokens: the
benchmark's inference settings) and scores the answers on the five axes of the Video-ChatGPT
benchmark — correctness of information, detail orientation, contextual understanding (generic
questions), temporal understanding (temporal questions), consistency (two phrasings asked in
separate conversations) — each 0–5, and zero-shot QA (accuracy and a 0–5 score).

Judges:
  groundtruth  the world's own truth, rubric groundtruth-v1 (deterministic; each axis's rule is in
               pipelines/eval/scorer.go and the README)
  openai       any OpenAI-compatible model (--judge-url, --judge-model) given the benchmark's
               judging instructions, paraphrased and versioned (prompts/templates/eval-*-v1.txt);
               a reply without a readable {'score': n} is retried, then becomes a dead letter

Instead of a synthetic world, --benchmark-dir reads the Video-ChatGPT benchmark's own annotation
files (generic_qa.json, temporal_qa.json, consistency_qa.json) and --qa (or --qa-questions with
--qa-answers) a zero-shot QA set (video_name, question_id, question, answer), with the videos in
--video-folder; they have no ground truth, so they need --judge openai. Malformed records and
missing videos become dead letters.

Models: --model NAME=CKPT loads a built-in checkpoint; --adapter NAME=DIR merges a LoRA adapter
into it (the PPO policy: PPO_DIR/checkpoint/policy; an adapter trained on another base, by its
recorded weights hash, is refused; a PPO policy trained on prompts from the clips evaluated is
warned about, by PPO_DIR/prompt_videos.json); --openai NAME=URL evaluates any
OpenAI-compatible server (--openai-model NAME=ID picks its model). --preferences NAME=FEEDBACK_DIR
also checks a feedback run's labels against the ground truth (repeatable: with and without context).
--reward-model DIR scores every answer with that reward model too (as PPO's actors score their
rollouts) and compares each model's mean with the first's: whether PPO raised the reward it
optimised, on questions it never trained on.

Writes OUTPUT/scores/ (one row per answer and axis: question, reference, prediction, score and the
judge's reason), OUTPUT/deadletter/, OUTPUT/summary.json. Answers go through the call cache
(OUTPUT/cache by default), so a re-run is free.`,
		Example: "  vrlaif eval --world out/demo/world --model sft=out/demo/sft \\\n" +
			"      --model rlaif=out/demo/sft --adapter rlaif=out/demo/ppo/checkpoint/policy --output out/eval",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			benchmark := cfg.Benchmark.Dir != "" || cfg.Benchmark.QA != "" || cfg.Benchmark.QAQuestions != ""
			switch {
			case cfg.Output == "" || (cfg.World == "" && !benchmark):
				return fail(cmd, "--output and --world (or --benchmark-dir / --qa with --video-folder) are required")
			case benchmark && cfg.Benchmark.Videos == "":
				return fail(cmd, "the benchmark's files need --video-folder")
			}
			if !noCache && cacheDir == "" {
				cacheDir = filepath.Join(cfg.Output, "cache")
			}
			if noCache {
				cacheDir = ""
			}
			specs, err := modelSpecs(models, adapters, remotes, remoteIDs, cacheDir)
			if err != nil {
				return fail(cmd, "%v", err)
			}
			cfg.Models = specs
			if cfg.Judge.Kind == eval.JudgeOpenAI {
				if judgeURL == "" {
					return fail(cmd, "--judge openai needs --judge-url")
				}
				cfg.Judge.Backend = backend.Config{Name: "openai", URL: judgeURL, Model: judgeModel, APIKeyEnv: judgeKeyEnv, CacheDir: cacheDir}
			}
			for _, p := range prefs {
				name, dir, ok := strings.Cut(p, "=")
				if !ok || name == "" || dir == "" {
					return fail(cmd, "--preferences takes NAME=FEEDBACK_DIR, got %q", p)
				}
				cfg.Preferences = append(cfg.Preferences, eval.PreferenceSet{Name: name, Dir: dir})
			}
			res, err := runEval(cmd, cfg)
			if err != nil {
				return err
			}
			printEval(res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.World, "world", "", "a synthetic world folder (from 'vrlaif synth'); one of --world, --benchmark-dir, --qa or --qa-questions is required")
	f.StringVar(&cfg.Benchmark.Dir, "benchmark-dir", "", "folder of the Video-ChatGPT benchmark's generic_qa.json, temporal_qa.json, consistency_qa.json")
	f.StringVar(&cfg.Benchmark.QA, "qa", "", "zero-shot QA annotations (video_name, question_id, question, answer)")
	f.StringVar(&cfg.Benchmark.QAQuestions, "qa-questions", "", "zero-shot QA questions (video_name, question_id, question), with --qa-answers")
	f.StringVar(&cfg.Benchmark.QAAnswers, "qa-answers", "", "zero-shot QA answers (question_id, answer)")
	f.StringVar(&cfg.Benchmark.Videos, "video-folder", "", "the benchmark's videos")
	f.StringVar(&cfg.Split, "split", cfg.Split, "clips to evaluate: heldout, train or all")
	f.IntVar(&cfg.Limit, "limit", 0, "clips at most (0: all)")
	f.StringArrayVar(&models, "model", nil, "NAME=CKPT: a built-in checkpoint to evaluate (repeatable)")
	f.StringArrayVar(&adapters, "adapter", nil, "NAME=DIR: a LoRA adapter merged into model NAME (e.g. a PPO policy)")
	f.StringArrayVar(&remotes, "openai", nil, "NAME=URL: an OpenAI-compatible server to evaluate (repeatable)")
	f.StringArrayVar(&remoteIDs, "openai-model", nil, "NAME=ID: the model id on server NAME (default: its first)")
	f.StringVar(&cfg.Judge.Kind, "judge", eval.JudgeGroundTruth, "groundtruth or openai")
	f.StringVar(&judgeURL, "judge-url", "", "openai judge: base URL ending in /v1")
	f.StringVar(&judgeModel, "judge-model", "", "openai judge: model id (e.g. gpt-3.5-turbo; default: the server's first)")
	f.StringVar(&judgeKeyEnv, "judge-api-key-env", "OPENAI_API_KEY", "openai judge: environment variable holding its API key")
	f.IntVar(&cfg.Judge.Retries, "judge-retries", 2, "openai judge: new attempts after a reply without a readable score")
	f.StringArrayVar(&prefs, "preferences", nil, "NAME=FEEDBACK_DIR: check a feedback run's labels against the ground truth (repeatable)")
	f.StringVar(&cfg.RewardModel, "reward-model", "", "a reward model ('vrlaif train rm') that also scores every answer, as PPO's actors score rollouts: did PPO raise it on these questions?")
	f.Float64Var(&cfg.Temperature, "temperature", cfg.Temperature, "sampling temperature of the answers")
	f.IntVar(&cfg.MaxTokens, "max-tokens", cfg.MaxTokens, "new tokens per answer at most")
	f.Int64Var(&cfg.Seed, "seed", 0, "base seed of the answers (each question derives its own)")
	f.IntVar(&cfg.Frames.Frames, "frames", cfg.Frames.Frames, "frames sampled per clip")
	f.IntVar(&cfg.Frames.Size, "size", cfg.Frames.Size, "frame size in pixels (padded to a square)")
	f.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "questions in flight per model")
	f.StringVar(&cacheDir, "cache-dir", "", "call cache folder (default OUTPUT/cache)")
	f.BoolVar(&noCache, "no-cache", false, "ask the models even when the cache has the answer")
	f.StringVarP(&cfg.Output, "output", "o", "", "output folder (required)")
	return cmd
}

// modelSpecs turns the --model/--adapter/--openai flags into backends, in flag order.
func modelSpecs(models, adapters, remotes, remoteIDs []string, cacheDir string) ([]eval.ModelSpec, error) {
	var specs []eval.ModelSpec
	index := map[string]int{}
	add := func(flag, kv string, c backend.Config) error {
		name, v, ok := strings.Cut(kv, "=")
		if !ok || name == "" || v == "" {
			return fmt.Errorf("--%s takes NAME=VALUE, got %q", flag, kv)
		}
		if _, dup := index[name]; dup {
			return fmt.Errorf("two models are named %q", name)
		}
		if c.Name == "builtin" {
			c.Model = v
		} else {
			c.URL = v
		}
		c.CacheDir = cacheDir
		index[name] = len(specs)
		specs = append(specs, eval.ModelSpec{Name: name, Backend: c})
		return nil
	}
	for _, m := range models {
		if err := add("model", m, backend.Config{Name: "builtin"}); err != nil {
			return nil, err
		}
	}
	for _, r := range remotes {
		if err := add("openai", r, backend.Config{Name: "openai"}); err != nil {
			return nil, err
		}
	}
	set := func(flag string, kvs []string, apply func(*backend.Config, string) error) error {
		for _, kv := range kvs {
			name, v, ok := strings.Cut(kv, "=")
			i, known := index[name]
			if !ok || !known {
				return fmt.Errorf("--%s %q names no model (give --model or --openai NAME=… first)", flag, kv)
			}
			if err := apply(&specs[i].Backend, v); err != nil {
				return err
			}
		}
		return nil
	}
	if err := set("adapter", adapters, func(c *backend.Config, v string) error {
		if c.Name != "builtin" {
			return fmt.Errorf("--adapter applies to built-in checkpoints only")
		}
		c.Adapter = v
		return nil
	}); err != nil {
		return nil, err
	}
	if err := set("openai-model", remoteIDs, func(c *backend.Config, v string) error { c.Model = v; return nil }); err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("give at least one --model NAME=CKPT or --openai NAME=URL")
	}
	return specs, nil
}

// runEval runs the evaluation with a progress line and writes summary.json.
func runEval(cmd *cobra.Command, cfg eval.Config) (eval.Result, error) {
	if cfg.Output != "" {
		lock, err := lockOutput(cfg.Output, "eval")
		if err != nil {
			return eval.Result{}, err
		}
		defer lock.Release()
	}
	if cfg.RewardModel != "" {
		r, err := train.NewAnswerRewarder(cfg.RewardModel)
		if err != nil {
			return eval.Result{}, fmt.Errorf("eval: --reward-model: %w", err)
		}
		cfg.Rewarder = r
	}
	var mu sync.Mutex
	last := time.Now()
	bar := newProgress("eval", 0)
	res, err := eval.Run(cmd.Context(), cfg, func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) > 5*time.Second || done == total {
			last = time.Now()
			report("eval: %d/%d answers", done, total)
		}
		bar.inc()
	})
	bar.done()
	if err != nil {
		return res, err
	}
	warnings, err := promptOverlaps(cfg.Models, res.ClipIDs)
	if err != nil {
		return res, err
	}
	for _, w := range warnings {
		report("eval: warning: %s", w)
	}
	err = writeSummary(cfg.Output, schemas.Summary{Command: "eval", WallSeconds: res.Seconds,
		Stages:   map[string]schemas.StageCounts{eval.Stage: {In: res.Questions * len(cfg.Models), Out: res.Scores, DeadLetter: res.DeadLetters}},
		Settings: map[string]any{"eval": cfg},
		Outputs:  map[string]string{schemas.RowScore: filepath.Join(cfg.Output, schemas.RowScore)},
		Extra:    evalExtra(res, warnings)})
	return res, err
}

// printEval prints the five-axis table, zero-shot QA and the preference checks.
func printEval(res eval.Result) {
	var b strings.Builder
	fmt.Fprintf(&b, "eval: %d clips, %d questions, judge %s, %.0fs\n", res.Clips, res.Questions, res.Judge, res.Seconds)
	fmt.Fprintf(&b, "  %-12s", "axis")
	for _, m := range res.Models {
		fmt.Fprintf(&b, " %10s", m.Name)
	}
	b.WriteString("\n")
	for _, a := range append(append([]string{}, eval.Axes...), "mean") {
		fmt.Fprintf(&b, "  %-12s", a)
		for _, m := range res.Models {
			v := m.Mean
			if a != "mean" {
				v = m.Axes[a].Mean
			}
			fmt.Fprintf(&b, " %10.2f", v)
		}
		b.WriteString("\n")
	}
	for _, row := range []struct {
		name string
		get  func(eval.ModelResult) string
	}{
		{"qa accuracy", func(m eval.ModelResult) string { return fmt.Sprintf("%.3f", m.QAAccuracy) }},
		{"qa score", func(m eval.ModelResult) string { return fmt.Sprintf("%.2f", m.QAScore) }},
		{"failed", func(m eval.ModelResult) string { return fmt.Sprint(m.Failed) }},
		{"rm reward", func(m eval.ModelResult) string {
			if m.Reward == nil {
				return "-"
			}
			return fmt.Sprintf("%.3f", m.Reward.Mean)
		}},
	} {
		fmt.Fprintf(&b, "  %-12s", row.name)
		for _, m := range res.Models {
			fmt.Fprintf(&b, " %10s", row.get(m))
		}
		b.WriteString("\n")
	}
	for _, c := range res.Comparisons {
		switch c.Axis {
		case "mean":
			fmt.Fprintf(&b, "  %s − %s: five-axis mean %+.3f, 95%% interval [%+.3f, %+.3f] (paired bootstrap over %d scores)\n", c.Model, c.Baseline, c.Delta, c.Low, c.High, c.N)
		case eval.AxisReward:
			fmt.Fprintf(&b, "  %s − %s: reward model's score %+.3f, 95%% interval [%+.3f, %+.3f] (paired bootstrap over %d questions)\n", c.Model, c.Baseline, c.Delta, c.Low, c.High, c.N)
		}
	}
	prefs := append([]eval.PreferenceResult{}, res.Preferences...)
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].Name < prefs[j].Name })
	for _, p := range prefs {
		fmt.Fprintf(&b, "  preferences %s (%s): %d of %d labeled pairs the truth tells apart agree with it (%.3f); %d pairs, %d labeled, flip rate %.2f\n",
			p.Name, p.Template, p.Agree, p.Comparable, p.Accuracy, p.Pairs, p.Labeled, p.FlipRate)
	}
	report("%s", strings.TrimRight(b.String(), "\n"))
}

// evalExtra is eval's summary.json extra: the result, and the warnings when there are any.
func evalExtra(res eval.Result, warnings []string) map[string]any {
	x := map[string]any{"result": res}
	if len(warnings) > 0 {
		x["warnings"] = warnings
	}
	return x
}
