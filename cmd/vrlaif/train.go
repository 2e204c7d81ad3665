package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/pipelines/train"
	"github.com/vrlaif/vrlaif/schemas"
	"golang.org/x/term"
)

func trainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the built-in model: sft, the reward model (rm), PPO (ppo)",
	}
	cmd.AddCommand(trainSFTCmd(), trainRMCmd(), trainPPOCmd())
	return cmd
}

func trainRMCmd() *cobra.Command {
	cfg := train.DefaultRMConfig()
	cmd := &cobra.Command{
		Use:   "rm --data FEEDBACK_DIR_OR_RM_JSON --base SFT_CKPT --output RM_CKPT",
		Short: "Train the reward model on preferences (LoRA + reward head, Bradley–Terry)",
		Long: `rm trains a reward model as the seed does (reference §3): a LoRA adapter on the SFT checkpoint
(targets q, k, v, o, gate, up, down) and a linear reward head read at the last token of

  {system} USER: <video>\n{question} ASSISTANT: {response}</s>USER: {evaluation prompt} ASSISTANT:
  Following your definitions, the quality score of my last response is

with the loss BCEWithLogits(r(output_2) − r(output_1), preference = 2) + 1e-3·|mean(r1 + r2)|,
constant learning rate with warm-up, gradient norm clipped at 0.3. The evaluation prompt is the
seed's four criteria (prompts/templates/reward-v1.txt); its {factual_prompt} slot is removed, and
PPO scores with exactly the same text.

--data is a 'vrlaif feedback' folder (its labeled preferences, less the pairs a reviewer marked
wrong on the web page unless --include-marked; frames from the generate folder it read, or
--clips) or the seed's RM JSON (frames under --image-folder). A share of the pairs is held out;
the seed's metrics (accuracy, label-positive rate, average score) are reported on it.
Pairs from seed records that do not decode or whose frames cannot be read, and pairs longer than
the model's context, are left out, counted and listed in RM_CKPT/dropped.jsonl.
Writes RM_CKPT/adapter_model.safetensors + adapter_config.json (PEFT), reward_head.safetensors,
rm_config.json, rm_result.json and settings.json (the settings that decide the weights: the
hyper-parameters, the base by its weights hash, the pairs by a hash of their contents).

Re-running with the same --output resumes: progress is saved every --save-every steps and when the
run is interrupted (Ctrl-C), and a resumed run trains exactly the steps an uninterrupted one would;
a finished run is not trained again. Other settings, another base or other pairs are refused,
naming what differs: give another output folder.`,
		Example: "  vrlaif train rm --data out/fb --base out/sft --output out/rm",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Data == "" || cfg.Base == "" || cfg.Output == "" {
				return fail(cmd, "--data, --base and --output are required")
			}
			lock, err := lockOutput(cfg.Output, "train rm")
			if err != nil {
				return err
			}
			defer lock.Release()
			var bar *progress // a bar on a terminal, else a line at each held-out evaluation
			res, err := train.RunRM(cmd.Context(), cfg, func(s train.RMStep) {
				if bar == nil {
					if s.ResumedAt > 0 {
						report("rm: resumed at step %d of %d (%s)", s.ResumedAt, s.Steps, cfg.Output)
					}
					bar = newProgress("rm", s.Steps)
				}
				bar.set(s.Step)
				if s.Heldout != nil && !bar.shown() {
					report("rm: step %d/%d loss %.3f accuracy %.2f lr %.2g · held-out accuracy %.3f (%d pairs)",
						s.Step, s.Steps, s.Loss, s.Accuracy, s.LR, s.Heldout.Accuracy, s.Heldout.Pairs)
				}
			})
			if bar != nil {
				bar.done()
			}
			if err != nil {
				return err
			}
			if res.Earlier {
				report("rm: %s is trained already; nothing to train (earlier run: %d steps, held-out accuracy %.3f on %d pairs)",
					cfg.Output, res.Steps, res.Heldout.Accuracy, res.Heldout.Pairs)
				return nil
			}
			report("rm: %d steps in %.0fs; held-out accuracy %.3f on %d pairs (label-positive rate %.2f, average score %.3f); train accuracy %.3f → %s",
				res.Steps, res.Seconds, res.Heldout.Accuracy, res.Heldout.Pairs, res.Heldout.LabelPositiveRate, res.Heldout.AverageScore,
				res.Train.Accuracy, cfg.Output)
			if len(res.Drops) > 0 {
				report("rm: %s; all in %s", train.DropLine(res.Drops), filepath.Join(cfg.Output, train.DroppedFile))
			}
			return writeSummary(cfg.Output, schemas.Summary{Command: "train rm", WallSeconds: res.Seconds,
				Stages:   map[string]schemas.StageCounts{"rm": {In: res.Train.Pairs + res.Heldout.Pairs, Out: 1, DeadLetter: len(res.Drops)}},
				Settings: map[string]any{"rm": cfg, "result": res}})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Data, "data", "", "a 'vrlaif feedback' folder, or the seed's RM JSON (required)")
	f.StringVar(&cfg.Clips, "clips", "", "the clips of the preferences (a generate folder; default: the feedback run's input)")
	f.StringVar(&cfg.ImageFolder, "image-folder", "", "root of the seed RM JSON's frame paths")
	f.BoolVar(&cfg.IncludeMarked, "include-marked", false, "keep pairs a reviewer marked wrong (FEEDBACK/review_marks)")
	f.StringVar(&cfg.Base, "base", "", "the SFT checkpoint (required)")
	f.StringVarP(&cfg.Output, "output", "o", "", "reward-model checkpoint folder (required)")
	f.IntVar(&cfg.Rank, "lora-r", cfg.Rank, "LoRA rank")
	f.Float32Var(&cfg.Alpha, "lora-alpha", cfg.Alpha, "LoRA alpha")
	f.Float32Var(&cfg.LR, "lr", cfg.LR, "peak learning rate")
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "passes over the training pairs")
	f.IntVar(&cfg.BatchPairs, "batch-pairs", cfg.BatchPairs, "pairs per step")
	f.Float64Var(&cfg.Heldout, "heldout", cfg.Heldout, "share of pairs held out")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "split and shuffle seed")
	f.IntVar(&cfg.SaveEvery, "save-every", cfg.SaveEvery, "save progress every N steps (also when interrupted)")
	return cmd
}

func trainSFTCmd() *cobra.Command {
	cfg := train.DefaultSFTConfig()
	var evalLimit int
	cmd := &cobra.Command{
		Use:   "sft --data WORLD_OR_SEED --output CKPT [--config tiny|small]",
		Short: "Supervised fine-tuning of the built-in video model on a synthetic world",
		Long: `sft trains the built-in video language model (a small LLaMA-style decoder with a
Video-ChatGPT style front end) on a world made by 'vrlaif synth': detailed descriptions of whole
clips and of their thirds, questions with answers (short answers first, then everything: the
curriculum; a short-answer question both with " Answer with one word or phrase." → the word and
plainly → the reference sentence), the same questions with the clip's narrative as context (what
the likelihood judge reads through), and judging examples (a narrative, a question and two
answers, one contradicting the ground truth → the letter of the better one), so that one model
captions, answers and judges.

On a world, a new model's vision tower and projector are first pretrained (--vision-steps,
about a minute for the small model): a linear head on each video token learns which colours the
video shows, its background and in which frames each patch holds an object, with targets read
from the pixels by the world's palette; they then stay frozen during SFT, as real video models
start from a pretrained image encoder. The summary gives the head's balanced accuracy by kind of
target (a frame's colours, a patch's colours, the background, a patch's frames) on the training
clips and on the held-out ones. Trained only through the language loss, the small vision
tower gives the decoder nothing it can use (see the README).

--data may instead be seed SFT data (SFT_short.json, SFT_long.json, PPO_init.json, or the
Parquet from 'vrlaif import --format sft') with its frames under --image-folder; then one record
in ten is held out for the held-out loss and no accuracies are computed (there is no ground truth).
A record that does not decode, or whose frame is missing or unreadable, and an example longer than
the model's context are left out, counted in the summary and listed in CKPT/dropped.jsonl.

The loss is taken on answer tokens only (the seed's masking). A byte-level BPE tokenizer is
trained on the world's text first. Writes CKPT/model.safetensors (Hugging Face tensor names),
config.json, tokenizer.json, optimizer.safetensors, trainer_state.json, metrics.jsonl and
summary.json with held-out accuracies. Re-running with the same --output resumes from the last
checkpoint (a larger --steps goes on training); other settings (size, data, learning rate, …)
are refused, naming what differs. The data is recognised by its contents (examples and videos),
so a world moved to another folder, or given by another path, still resumes. A checkpoint is saved as one unit: a run killed while saving
resumes from that save or the one before, never from a mix of both.`,
		Example: "  vrlaif synth --n 200 --output out/world && vrlaif train sft --data out/world --output out/sft",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.World == "" || cfg.Output == "" {
				return fail(cmd, "--data and --output are required")
			}
			return runSFT(cmd, cfg, evalLimit)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.World, "data", "", "a world folder from 'vrlaif synth', a seed SFT JSON file, or an SFT Parquet dataset (required)")
	f.StringVar(&cfg.ImageFolder, "image-folder", "", "root of the seed records' frame paths (default: the JSON file's folder)")
	f.StringVarP(&cfg.Output, "output", "o", "", "checkpoint folder (required; resumed if it holds one)")
	f.StringVar(&cfg.Size, "config", cfg.Size, "model size: tiny or small")
	f.IntVar(&cfg.Vocab, "vocab", cfg.Vocab, "tokenizer vocabulary size")
	f.IntVar(&cfg.Steps, "steps", cfg.Steps, "optimizer steps")
	f.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "examples per step")
	f.Float32Var(&cfg.LR, "lr", cfg.LR, "peak learning rate (cosine schedule with warmup)")
	f.Float32Var(&cfg.MinLR, "min-lr", cfg.MinLR, "final learning rate")
	f.IntVar(&cfg.Warmup, "warmup", cfg.Warmup, "warmup steps")
	f.Float32Var(&cfg.WeightDecay, "weight-decay", cfg.WeightDecay, "AdamW weight decay (matrices only)")
	f.Float32Var(&cfg.ClipNorm, "clip-norm", cfg.ClipNorm, "global gradient-norm clip")
	f.Float64Var(&cfg.ShortPhase, "short-phase", cfg.ShortPhase, "fraction of steps on short answers only (curriculum)")
	f.BoolVar(&cfg.PerExampleLoss, "loss-per-example", cfg.PerExampleLoss, "weigh examples equally (false: weigh tokens equally, as the seed does)")
	f.IntVar(&cfg.EvalEvery, "eval-every", cfg.EvalEvery, "held-out loss every N steps")
	f.IntVar(&cfg.SaveEvery, "save-every", cfg.SaveEvery, "checkpoint every N steps")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed for initialisation and batches")
	f.IntVar(&cfg.VisionSteps, "vision-steps", cfg.VisionSteps, "vision pretraining steps before SFT on a world (then the vision stays frozen; 0: none, it trains with the decoder)")
	f.IntVar(&evalLimit, "eval-limit", 200, "held-out examples per accuracy (0: all)")
	return cmd
}

func runSFT(cmd *cobra.Command, cfg train.SFTConfig, evalLimit int) error {
	_, _, err := trainAndEvaluate(cmd, cfg, evalLimit)
	return err
}

// phaseNote marks SFT's first phase, in which it trains on short answers only (--short-phase): the
// held-out loss, over every kind of example, stays high until it ends.
func phaseNote(phase string) string {
	if phase == "short" {
		return " (short answers only so far)"
	}
	return ""
}

// trainAndEvaluate runs SFT, measures held-out accuracies where ground truth exists, and writes
// the checkpoint folder's summary.json.
func trainAndEvaluate(cmd *cobra.Command, cfg train.SFTConfig, evalLimit int) (train.SFTResult, train.SFTEval, error) {
	lock, err := lockOutput(cfg.Output, "train sft")
	if err != nil {
		return train.SFTResult{}, train.SFTEval{}, err
	}
	defer lock.Release()
	start := time.Now()
	var bar *mpb.Bar
	var p *mpb.Progress
	var last train.StepInfo
	if term.IsTerminal(int(os.Stderr.Fd())) {
		p = mpb.New(mpb.WithOutput(os.Stderr))
		bar = p.AddBar(int64(cfg.Steps),
			mpb.PrependDecorators(decor.Name("sft "), decor.CountersNoUnit("%d/%d")),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
				return fmt.Sprintf("loss %.3f  %.0f tok/s%s", last.Loss, last.TokensPerSec, phaseNote(last.Phase))
			}), decor.Name("  "), decor.EwmaETA(decor.ET_STYLE_GO, 30)))
	}
	res, err := train.RunSFT(cmd.Context(), cfg, func(s train.StepInfo) {
		if s.Phase == "vision" {
			if s.Step == 1 || s.Step%500 == 0 || s.Step == cfg.VisionSteps {
				report("sft: vision pretraining step %d/%d loss %.3f, %.1f%% of targets right", s.Step, cfg.VisionSteps, s.Loss, 100*s.Accuracy)
			}
			return
		}
		last = s
		switch {
		case bar != nil:
			bar.SetCurrent(int64(s.Step))
		case s.Step%50 == 0 || s.HeldoutLoss > 0:
			msg := fmt.Sprintf("sft: step %d/%d loss %.3f lr %.2g %.0f tok/s", s.Step, cfg.Steps, s.Loss, s.LR, s.TokensPerSec)
			if s.HeldoutLoss > 0 {
				msg += fmt.Sprintf(" held-out %.3f", s.HeldoutLoss)
			}
			report("%s", msg+phaseNote(s.Phase))
		}
	})
	if p != nil {
		bar.Abort(false)
		p.Wait()
	}
	if err != nil {
		return train.SFTResult{}, train.SFTEval{}, err
	}
	if res.Steps == 0 { // a finished checkpoint resumed: nothing trained, so its result is the earlier run's
		if prev, ok := earlierSFTResult(cfg.Output); ok {
			prev.Drops, prev.Dropped = res.Drops, res.Dropped
			res = prev
		}
		report("sft: %s is trained to --steps %d already; nothing to train (earlier run: loss %.3f → %.3f, held-out %.3f)",
			cfg.Output, cfg.Steps, res.FirstLoss, res.FinalLoss, res.HeldoutLoss)
	} else {
		report("sft: %d steps in %.0f s (%d params, %d examples); loss %.3f → %.3f, held-out %.3f",
			res.Steps, res.Seconds, res.Params, res.Examples, res.FirstLoss, res.FinalLoss, res.HeldoutLoss)
	}
	if v := res.Vision; v != nil {
		report("sft: vision pretrained first: %d steps on %d videos in %.0f s, loss %.3f → %.3f, targets right %.1f%% → %.1f%%; the vision tower and projector stayed frozen in SFT",
			v.Steps, v.Videos, v.Seconds, v.FirstLoss, v.FinalLoss, 100*v.FirstAccuracy, 100*v.FinalAccuracy)
		for _, g := range []string{model.GroupFrameColour, model.GroupPatchColour, model.GroupBackground, model.GroupPatchFrame} {
			tr, ho := v.Train[g], v.Heldout[g]
			if len(v.Heldout) == 0 {
				report("sft: vision %-12s balanced accuracy train %.1f%% (recall %.1f%%); the world holds out no clip to score", g, 100*tr.Balanced, 100*tr.Recall)
				continue
			}
			report("sft: vision %-12s balanced accuracy train %.1f%%, held-out %.1f%% (recall %.1f%% / %.1f%%, %d held-out targets)",
				g, 100*tr.Balanced, 100*ho.Balanced, 100*tr.Recall, 100*ho.Recall, ho.Targets)
		}
	} else if !res.World && cfg.VisionSteps > 0 && res.Steps > 0 {
		report("sft: no vision pretraining: seed data has no synthetic palette to take targets from, so the vision tower trains with the decoder")
	}
	if len(res.Drops) > 0 {
		report("sft: %s; all in %s", train.DropLine(res.Drops), filepath.Join(cfg.Output, train.DroppedFile))
	}
	var ev train.SFTEval
	if res.World { // ground truth exists: measure what the model learnt
		if ev, err = train.EvaluateSFT(cmd.Context(), cfg.World, cfg.Output, evalLimit, cfg.Seed); err != nil {
			return res, ev, err
		}
		if ev.ShortAnswers == 0 && ev.JudgePairs == 0 {
			report("sft: the world holds out no question to measure accuracy on → %s", cfg.Output)
		} else {
			report("sft: held-out short-answer accuracy %.1f%% (%d), judging accuracy %.1f%% by verdict letter, %.1f%% by likelihood (%d pairs) → %s",
				100*ev.ShortAnswerAccuracy, ev.ShortAnswers, 100*ev.JudgeAccuracy, 100*ev.LikelihoodJudgeAccuracy, ev.JudgePairs, cfg.Output)
		}
		if line := ev.OtherVideoLine(); line != "" {
			report("sft: short answers with the clip's own video / another clip's (the gap is what the model sees): %s", line)
		}
		if line := ev.OtherVideoJudgeLine(); line != "" {
			report("sft: judging pairs by likelihood, own video / another clip's: %s", line)
		}
		if line := ev.ContextJudgeLine(); line != "" {
			report("sft: the likelihood judge with the clip's narrative / another clip's (the gap is what it reads): %s", line)
		}
	}
	return res, ev, writeSummary(cfg.Output, schemas.Summary{
		Command:     "train sft",
		Stages:      map[string]schemas.StageCounts{"sft": {In: res.Examples, Out: 1, DeadLetter: len(res.Drops)}},
		WallSeconds: time.Since(start).Seconds(),
		Settings:    map[string]any{"sft": cfg, "result": res, "eval": ev},
	})
}

// earlierSFTResult is the result an earlier 'train sft' recorded in dir's summary.json, so that a
// re-run with nothing left to train does not overwrite it with an empty one.
func earlierSFTResult(dir string) (train.SFTResult, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		return train.SFTResult{}, false
	}
	var s struct {
		Settings struct {
			Result train.SFTResult `json:"result"`
		} `json:"settings"`
	}
	if json.Unmarshal(b, &s) != nil || s.Settings.Result.Steps == 0 {
		return train.SFTResult{}, false
	}
	return s.Settings.Result, true
}
