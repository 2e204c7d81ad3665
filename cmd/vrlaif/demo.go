package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/internal/natsbus"
	"github.com/vrlaif/vrlaif/pipelines/feedback"
	"github.com/vrlaif/vrlaif/pipelines/generate"
	"github.com/vrlaif/vrlaif/pipelines/train"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
	"github.com/vrlaif/vrlaif/transforms/frames"
	"github.com/vrlaif/vrlaif/transforms/judge"
	"github.com/vrlaif/vrlaif/transforms/narrative"
	"github.com/vrlaif/vrlaif/transforms/sample"
)

func demoCmd() *cobra.Command {
	var out string
	var quick, noContext, oracle bool
	judgeMethod := judge.JudgeLikelihood
	evalTokens := 64
	sp := synth.DefaultParams()
	sp.N = 200 // enough clips for SFT to learn something
	fp := frames.DefaultParams()
	sft := train.DefaultSFTConfig()
	// PPO runs longer and faster than 'train ppo's defaults (20 steps at 1e-4): at those, the policy
	// barely moves (KL 0.03) and the run cannot tell a learner that works from one that does not.
	// 100 steps at 3e-4 (about 1.5 minutes here) raise the reward model's score of held-out answers
	// well beyond the run-to-run spread.
	ppoSteps, ppoLR := 100, float32(3e-4)
	cmd := &cobra.Command{
		Use:   "demo [--quick] --output DIR",
		Short: "Run the whole chain on the embedded synthetic world",
		Long: `demo runs everything vrlaif can do today on embedded defaults, with no external service:
it renders the synthetic world into DIR/world (videos + ground truth), extracts frames from it
into DIR/clips with the seed's sampling (50 frames, 224 px, padded), fine-tunes the built-in
model on the world (DIR/sft: its vision first, then the whole; about 5 minutes on two cores) and
reports its held-out accuracies,
then runs the generate pipeline on the training clips with that model (narratives, two sampled
answers per question: DIR/generate) and the feedback pipeline (the same model judges each pair
with the narrative as context: DIR/feedback; and again without the narrative:
DIR/feedback-nocontext), trains the reward model on the
context-aware preferences (DIR/rm), runs 100 PPO steps with two actors over an embedded NATS server
(DIR/ppo), evaluates SFT and the PPO policy (RLAIF) on the held-out clips against the ground truth
(the five Video-ChatGPT axes and zero-shot QA; both judges' labels checked against the truth:
DIR/eval) and writes the report (DIR/report/index.html with PNG plots, report.md) and
DIR/summary.json.

--judge likelihood (the default) judges a pair by which answer the model finds likelier as its
reply to the question asked with the narrative as context (SFT teaches that prompt); --judge
verdict asks the original's question, which answer is better, A or B, in both orders, labelled by
the mean of both orders (the small model's letter is at chance).
--no-context is the ablation: the reward model and PPO learn from the no-context judge's labels.
--oracle-labels is the control: they learn from the ground truth's labels of the same pairs
(DIR/feedback-oracle), which tells whether the loop can use good labels at all.
--quick renders a few clips and trains the tiny model for a few steps.`,
		Example: "  vrlaif demo --output out/demo",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fail(cmd, "--output is required")
			}
			if judgeMethod != judge.JudgeLikelihood && judgeMethod != judge.JudgeVerdict {
				return fail(cmd, "--judge must be likelihood or verdict, got %q", judgeMethod)
			}
			if quick {
				if !cmd.Flags().Changed("n") {
					sp.N = 8
				}
				if !cmd.Flags().Changed("sft-steps") {
					sft.Steps = 20
				}
				sft.Size, sft.BatchSize, sft.Vocab, sft.Warmup, sft.EvalEvery = "tiny", 8, 400, 5, 10
				if !cmd.Flags().Changed("vision-steps") {
					sft.VisionSteps = 200
				}
			}
			// The demo's folder is the frames' output too; each later stage locks its own subfolder.
			lock, err := lockOutput(out, "demo")
			if err != nil {
				return err
			}
			defer lock.Release()
			start := time.Now()
			world := filepath.Join(out, "world")
			if err := runSynth(cmd, sp, world); err != nil {
				return err
			}
			st, err := runFrames(cmd, filepath.Join(world, "videos"), out, fp, frames.RunOptions{})
			if err != nil {
				return err
			}
			report("frames: %s", describeStats(st))
			sft.World, sft.Output = world, filepath.Join(out, "sft")
			res, sftEval, err := trainAndEvaluate(cmd, sft, 200)
			if err != nil {
				return explainDemoRefusal(err, out)
			}
			gen, fb, err := demoFeedback(cmd, world, out, sft.Output, judgeMethod, fp)
			if err != nil {
				return err
			}
			fbNoContext, err := demoJudgeFeedback(cmd, out, "feedback-nocontext", judgeMethod, sft.Output)
			if err != nil {
				return err
			}
			labels := "feedback"
			switch {
			case noContext && oracle:
				return fail(cmd, "--no-context and --oracle-labels are two different runs; pick one")
			case noContext:
				labels = "feedback-nocontext"
			case oracle:
				labels = "feedback-oracle"
				if err := writeOracleFeedback(out, world); err != nil {
					return err
				}
			}
			// The ablation and the control keep their own reward model, PPO run, evaluation and report
			// beside the main run's, so one folder can hold all three and none resumes another's.
			suffix := map[string]string{"feedback": "", "feedback-nocontext": "-nocontext", "feedback-oracle": "-oracle"}[labels]
			rmCfg := train.DefaultRMConfig()
			rmCfg.Data, rmCfg.Base, rmCfg.Output = filepath.Join(out, labels), sft.Output, filepath.Join(out, "rm"+suffix)
			ppoCfg := train.DefaultPPOConfig()
			ppoCfg.Policy, ppoCfg.RM, ppoCfg.Prompts, ppoCfg.Output = sft.Output, rmCfg.Output, filepath.Join(out, "generate"), filepath.Join(out, "ppo"+suffix)
			ppoCfg.Steps, ppoCfg.LR = ppoSteps, ppoLR
			if quick {
				rmCfg.Epochs, ppoCfg.RolloutBatch, ppoCfg.Rollout.T = 1, 8, 16
				if !cmd.Flags().Changed("ppo-steps") {
					ppoCfg.Steps = 3
				}
			}
			rmLock, err := lockOutput(rmCfg.Output, "train rm")
			if err != nil {
				return err
			}
			rmRes, err := train.RunRM(cmd.Context(), rmCfg, nil)
			rmLock.Release()
			policy := ""
			switch {
			case err != nil && quick:
				report("rm: skipped in --quick (%v)", err)
			case err != nil:
				return err
			default:
				how := fmt.Sprintf("in %.0fs", rmRes.Seconds)
				if rmRes.Earlier {
					how = "(trained by an earlier run; nothing to train)"
				}
				report("rm: held-out accuracy %.3f on %d pairs (train %.3f) %s", rmRes.Heldout.Accuracy, rmRes.Heldout.Pairs, rmRes.Train.Accuracy, how)
				if err := runPPO(cmd, ppoCfg, natsbus.ConnOptions{}, 2, ""); err != nil {
					return err
				}
				policy = filepath.Join(ppoCfg.Output, "checkpoint", "policy")
			}
			prefs := map[string]string{"with context": filepath.Join(out, "feedback"), "without context": filepath.Join(out, "feedback-nocontext")}
			ev, err := demoEval(cmd, filepath.Join(out, "eval"+suffix), out, world, sft.Output, policy, rmCfg.Output, prefs, evalTokens)
			if err != nil {
				return err
			}
			stages := map[string]schemas.StageCounts{
				"synth":           {In: sp.N, Out: sp.N},
				frames.Stage:      stageCounts(st),
				"sft":             {In: res.Examples, Out: 1},
				"narrative":       gen.Stages["narrative"],
				"responses":       gen.Stages["responses"],
				"pairs":           fb.Stages["pairs"],
				"judge":           fb.Stages["judge"],
				"judge_nocontext": fbNoContext.Stages["judge"],
				"rm":              {In: rmRes.Train.Pairs + rmRes.Heldout.Pairs, Out: min(1, rmRes.Steps)},
				"eval":            {In: ev.Questions * len(ev.Models), Out: ev.Scores, DeadLetter: ev.DeadLetters},
			}
			judgeStats := map[string]judge.Stats{"with context": fb.Extra["judge_stats"].(judge.Stats), "without context": fbNoContext.Extra["judge_stats"].(judge.Stats)}
			files, err := demoReport(filepath.Join(out, "report"+suffix), ppoCfg.Output, labels, start, stages, ev, rmRes, judgeStats, sftEval)
			if err != nil {
				return err
			}
			summaryDir := out
			if suffix != "" {
				summaryDir = filepath.Join(out, "report"+suffix) // the main run's summary.json stays as it is
			}
			if err := writeSummary(summaryDir, schemas.Summary{
				Command:     "demo",
				Stages:      stages,
				Extra:       map[string]any{"judge_stats": fb.Extra["judge_stats"], "judge_stats_nocontext": fbNoContext.Extra["judge_stats"], "eval": ev, "rm": rmRes, "labels": labels},
				WallSeconds: time.Since(start).Seconds(),
				Settings:    map[string]any{"synth": sp, "frames": fp, "sft": sft, "quick": quick, "no_context": noContext, "judge": judgeMethod, "eval_max_tokens": evalTokens, "ppo_steps": ppoSteps, "ppo_lr": ppoLR, "sft_result": res, "sft_eval": sftEval},
				Outputs: map[string]string{
					"world": world, "clips": filepath.Join(out, schemas.RowClip), "deadletter": filepath.Join(out, schemas.RowDeadLetter),
					"sft": sft.Output, "generate": filepath.Join(out, "generate"), "feedback": filepath.Join(out, "feedback"),
					"feedback-nocontext": filepath.Join(out, "feedback-nocontext"), "rm": rmCfg.Output, "ppo": ppoCfg.Output,
					"eval": filepath.Join(out, "eval"+suffix), "report": filepath.Join(out, "report"+suffix, files.HTML),
				},
				ErrorKinds: map[string]map[string]int{frames.Stage: st.ErrorKinds},
			}); err != nil {
				return err
			}
			report("demo: done in %.1f s. Outputs:\n%s  review the preferences: vrlaif serve --model %s --data %s",
				time.Since(start).Seconds(), outputList([][2]string{
					{filepath.Join(out, "world", "videos"), "synthetic clips (mp4)"},
					{filepath.Join(out, "world", "truth"), "ground truth (Parquet + truth.jsonl)"},
					{filepath.Join(out, "clips"), "sampled frames (Parquet)"},
					{sft.Output, "the SFT checkpoint (model.safetensors, config.json, tokenizer.json)"},
					{filepath.Join(out, "generate"), "narratives and sampled answers for the training clips (the RL prompts)"},
					{filepath.Join(out, "feedback"), "AI preferences with the narrative as context, both orders (Parquet)"},
					{filepath.Join(out, "feedback-nocontext"), "the same pairs judged without it (the ablation)"},
					{rmCfg.Output, "the reward model (LoRA + reward head), trained on " + labels},
					{ppoCfg.Output, "the PPO run: policy adapter, metrics.jsonl"},
					{filepath.Join(out, "eval"+suffix), "SFT and RLAIF scored against the ground truth (Parquet)"},
					{filepath.Join(out, "report"+suffix, files.HTML), "the report (and report.md)"},
					{filepath.Join(summaryDir, "summary.json"), "counts per stage"},
				}), sft.Output, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output folder (required)")
	cmd.Flags().BoolVar(&quick, "quick", false, "a smaller world, for a fast look")
	cmd.Flags().BoolVar(&noContext, "no-context", false, "the ablation: train the reward model and PPO on the no-context judge's labels")
	cmd.Flags().StringVar(&judgeMethod, "judge", judge.JudgeLikelihood, "likelihood: the judge scores each answer as its reply with the narrative as context (the built-in model's working judge); verdict: it is asked which is better, A or B (the original's; the small model reads it at chance)")
	cmd.Flags().BoolVar(&oracle, "oracle-labels", false, "the control: train the reward model and PPO on the ground truth's labels of the same pairs")
	cmd.Flags().IntVar(&evalTokens, "eval-max-tokens", evalTokens, "new tokens per answer in the evaluation (the benchmark's 512 makes the demo slower; the small model's answers are short)")
	cmd.Flags().IntVar(&sp.N, "n", sp.N, "clips in the synthetic world")
	cmd.Flags().Int64Var(&sp.Seed, "seed", sp.Seed, "world seed")
	cmd.Flags().IntVar(&sft.Steps, "sft-steps", sft.Steps, "SFT optimizer steps")
	cmd.Flags().IntVar(&sft.VisionSteps, "vision-steps", sft.VisionSteps, "vision pretraining steps before SFT (0: none; see 'train sft --help')")
	cmd.Flags().IntVar(&ppoSteps, "ppo-steps", ppoSteps, "PPO steps (16 rollouts each)")
	cmd.Flags().Float32Var(&ppoLR, "ppo-lr", ppoLR, "PPO's peak learning rate (cosine with warm-up)")
	return cmd
}

// demoFeedback runs generate and feedback on the world's training clips with the SFT model: the
// preferences and PPO's prompts come from clips the evaluation never asks about (the held-out
// clips), as the original's RL data is apart from its benchmark.
func demoFeedback(cmd *cobra.Command, world, out, ckpt, method string, fp frames.Params) (gen, fb schemas.Summary, err error) {
	b := backend.Config{Name: "builtin", Model: ckpt, CacheDir: filepath.Join(out, "cache")}
	sp := sample.DefaultParams(b)
	sp.MaxTokens = 48
	gcfg := generate.Config{Input: generate.Input{Spec: world, Split: "train"}, Output: filepath.Join(out, "generate"),
		Frames: fp, Narrative: narrative.Params{Backend: b, MaxTokens: 96}, Sample: sp}
	if gen, err = generate.Run(cmd.Context(), gcfg, os.Stderr); err != nil {
		return gen, fb, err
	}
	if err = writeSummary(gcfg.Output, gen); err != nil {
		return gen, fb, err
	}
	report("generate: %s in %.0fs", stageLine(gen, generate.Stages), gen.WallSeconds)
	// The built-in verdict judge answers with a strong position bias, so the demo labels by the mean
	// of both orders (judge.DecideAverage); the flip rate it reports is the bias. The likelihood
	// judge has no order (its flip rate is 0).
	fcfg := feedback.Config{Input: gcfg.Output, Output: filepath.Join(out, "feedback"),
		Judge: judge.Params{Backend: b, Method: method, Decision: judge.DecideAverage}}
	if fb, err = feedback.Run(cmd.Context(), fcfg, os.Stderr); err != nil {
		return gen, fb, err
	}
	if err = writeSummary(fcfg.Output, fb); err != nil {
		return gen, fb, err
	}
	st := fb.Extra["judge_stats"].(judge.Stats)
	how := fmt.Sprintf("labeled by the mean of both orders, flip rate %.2f (orders disagreeing: position bias)", st.FlipRate)
	if method == judge.JudgeLikelihood {
		how = "labeled by the likelier answer with the narrative as context"
	}
	report("feedback: %d pairs judged (%s judge) in %.0fs, %d %s, label balance %.2f, %d identical pairs dropped, %d narratives shortened to fit the judge's context",
		st.Pairs, method, fb.WallSeconds, st.Labeled, how, st.LabelBalance, st.Identical, st.ContextShortened)
	return gen, fb, nil
}

// outputList lays out (path, what it holds) rows as an indented two-column list.
func outputList(rows [][2]string) string {
	width := 0
	for _, r := range rows {
		width = max(width, utf8.RuneCountInString(r[0])) // fmt pads by runes, not bytes
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s   %s\n", width, r[0], r[1])
	}
	return b.String()
}

// explainDemoRefusal adds to a refusal to resume an SFT checkpoint trained with other settings
// what a demo user can do: the folder is usually an earlier version's demo.
func explainDemoRefusal(err error, out string) error {
	if !errors.Is(err, train.ErrOtherSettings) {
		return err
	}
	return fmt.Errorf("%w\n(%s holds a demo made with other settings or by an earlier version of vrlaif, whose SFT data differs: remove the folder, or give --output another one)", err, out)
}
