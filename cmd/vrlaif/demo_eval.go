package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/internal/dataset"
	runreport "github.com/vrlaif/vrlaif/internal/report"
	"github.com/vrlaif/vrlaif/pipelines/eval"
	"github.com/vrlaif/vrlaif/pipelines/feedback"
	"github.com/vrlaif/vrlaif/pipelines/train"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
	"github.com/vrlaif/vrlaif/transforms/judge"
)

// demoJudgeFeedback judges the generate run's pairs without the narrative, with the method's
// no-context template, into out/NAME.
func demoJudgeFeedback(cmd *cobra.Command, out, name, method, ckpt string) (schemas.Summary, error) {
	b := backend.Config{Name: "builtin", Model: ckpt, CacheDir: filepath.Join(out, "cache")}
	_, template, _ := judge.Templates(method) // the ablation's
	fcfg := feedback.Config{Input: filepath.Join(out, "generate"), Output: filepath.Join(out, name),
		Judge: judge.Params{Backend: b, Method: method, Template: template, Decision: judge.DecideAverage}}
	fb, err := feedback.Run(cmd.Context(), fcfg, os.Stderr)
	if err != nil {
		return fb, err
	}
	if err := writeSummary(fcfg.Output, fb); err != nil {
		return fb, err
	}
	st := fb.Extra["judge_stats"].(judge.Stats)
	report("feedback (%s): %d pairs judged in %.0fs, %d labeled, flip rate %.2f → %s", template, st.Pairs, fb.WallSeconds, st.Labeled, st.FlipRate, fcfg.Output)
	return fb, nil
}

// demoEval scores SFT and the PPO policy (RLAIF) on the held-out clips with the ground truth and
// with the reward model PPO optimised (rm, when there is a policy), and checks both feedback runs'
// labels against the ground truth.
func demoEval(cmd *cobra.Command, dir, out, world, sft, policy, rm string, prefs map[string]string, maxTokens int) (eval.Result, error) {
	cfg := eval.DefaultConfig()
	cfg.World, cfg.Output, cfg.MaxTokens = world, dir, maxTokens
	if policy != "" {
		cfg.RewardModel = rm // runEval opens it
	}
	cache := filepath.Join(out, "cache")
	cfg.Models = []eval.ModelSpec{{Name: "sft", Backend: backend.Config{Name: "builtin", Model: sft, CacheDir: cache}}}
	if policy != "" {
		cfg.Models = append(cfg.Models, eval.ModelSpec{Name: "rlaif", Backend: backend.Config{Name: "builtin", Model: sft, Adapter: policy, CacheDir: cache}})
	}
	names := make([]string, 0, len(prefs))
	for n := range prefs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cfg.Preferences = append(cfg.Preferences, eval.PreferenceSet{Name: n, Dir: prefs[n]})
	}
	res, err := runEval(cmd, cfg)
	if err != nil {
		return res, err
	}
	printEval(res)
	return res, nil
}

// writeOracleFeedback relabels the context-aware feedback run's pairs by the ground truth into
// out/feedback-oracle, a feedback folder the reward model can train on.
func writeOracleFeedback(out, world string) error {
	prefs, err := dataset.ReadAll[schemas.Preference](filepath.Join(out, "feedback", schemas.RowPreference))
	if err != nil {
		return err
	}
	truths, err := synth.LoadTruth(world)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, "feedback-oracle")
	if err := os.RemoveAll(filepath.Join(dir, schemas.RowPreference)); err != nil {
		return err
	}
	oracle := eval.OracleLabels(prefs, truths)
	if err := dataset.WriteAll(filepath.Join(dir, schemas.RowPreference), schemas.RowPreference, 0, oracle...); err != nil {
		return err
	}
	labeled := 0
	for _, p := range oracle {
		if p.Labeled {
			labeled++
		}
	}
	report("feedback (oracle): %d of %d pairs labeled by the ground truth (the rest tie) → %s", labeled, len(oracle), dir)
	return writeSummary(dir, schemas.Summary{Command: "demo --oracle-labels",
		Stages:   map[string]schemas.StageCounts{"judge": {In: len(prefs), Out: len(oracle)}},
		Settings: map[string]any{"input": filepath.Join(out, "generate"), "judge": eval.OracleTemplate}})
}

// readPPOSteps reads a PPO run's metrics.jsonl.
func readPPOSteps(path string) ([]runreport.PPOStep, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []runreport.PPOStep
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m struct {
			Step    int     `json:"step"`
			Score   float64 `json:"score"`
			Reward  float64 `json:"reward"`
			KL      float64 `json:"kl_sum_seq"`
			Entropy float64 `json:"entropy"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, runreport.PPOStep{Step: m.Step, Score: m.Score, Reward: m.Reward, KL: m.KL, Entropy: m.Entropy})
	}
	return out, sc.Err()
}

// demoFindings are the report's notes: facts read off the run's numbers, the same rules every run
// (nothing here looks at which way the result went before choosing what to say).
func demoFindings(ev eval.Result, rm train.RMResult, steps []runreport.PPOStep, judgeStats map[string]judge.Stats) []string {
	var notes []string
	byName := map[string]eval.ModelResult{}
	for _, m := range ev.Models {
		byName[m.Name] = m
	}
	sft, okS := byName["sft"]
	rl, okR := byName["rlaif"]
	if okS && okR {
		notes = append(notes, fmt.Sprintf("Five-axis mean (ground-truth rubric %s): SFT %.2f, RLAIF %.2f (Δ %+.2f) over %d held-out clips; zero-shot QA accuracy SFT %.3f, RLAIF %.3f.",
			ev.Judge, sft.Mean, rl.Mean, rl.Mean-sft.Mean, ev.Clips, sft.QAAccuracy, rl.QAAccuracy))
	}
	for _, c := range ev.Comparisons {
		switch c.Axis {
		case "mean", eval.AxisTemporal, eval.AxisCorrectness:
			notes = append(notes, fmt.Sprintf("%s − %s on %s: %+.3f, 95%% interval [%+.3f, %+.3f] (paired bootstrap over %d scores); an interval that holds 0 is no evidence of a difference.",
				c.Model, c.Baseline, c.Axis, c.Delta, c.Low, c.High, c.N))
		case eval.AxisReward:
			notes = append(notes, fmt.Sprintf("The reward model's score of the answers to the held-out questions: %s − %s %+.3f, 95%% interval [%+.3f, %+.3f] over %d questions (%s %.3f, %s %.3f): whether PPO raised the reward it optimised, on questions it never trained on.",
				c.Model, c.Baseline, c.Delta, c.Low, c.High, c.N, c.Baseline, rewardMean(byName[c.Baseline]), c.Model, rewardMean(byName[c.Model])))
		}
	}
	likelihood := map[string]bool{} // judges that score each answer apart: they have no order
	for _, p := range ev.Preferences {
		bias := fmt.Sprintf("Flip rate %.2f (share of pairs whose verdict changes when the answers swap places: position bias).", p.FlipRate)
		if judge.MethodOf(p.Template) == judge.JudgeLikelihood {
			likelihood[p.Name] = true
			bias = "The likelihood judge scores each answer apart, so it has no position bias to measure."
		}
		notes = append(notes, fmt.Sprintf("Judge %s (%s): of %d labeled pairs whose answers the ground truth tells apart, %d (%.3f) agree with it; chance is 0.5. The ground truth tells apart %d of all %d pairs. %s",
			p.Name, p.Template, p.Comparable, p.Agree, p.Accuracy, p.OracleComparable, p.Pairs, bias))
	}
	for _, name := range sortedKeys(judgeStats) {
		if s := judgeStats[name]; !likelihood[name] {
			notes = append(notes, fmt.Sprintf("%s: the judge said A in %.0f%% of its verdicts.", name, 100*s.PreferA))
		}
	}
	if rm.Heldout.Pairs > 0 {
		notes = append(notes, fmt.Sprintf("Reward model: held-out accuracy %.3f on %d pairs (train %.3f): how well it learned the judge's labels, not the truth.",
			rm.Heldout.Accuracy, rm.Heldout.Pairs, rm.Train.Accuracy))
	}
	if n := len(steps); n >= 2 {
		k := min(max(5, n/5), n/2) // as the report's PPO section: a fifth of a long run
		mean := func(xs []runreport.PPOStep, f func(runreport.PPOStep) float64) float64 {
			var s float64
			for _, x := range xs {
				s += f(x)
			}
			return s / float64(len(xs))
		}
		score := func(s runreport.PPOStep) float64 { return s.Score }
		kl := func(s runreport.PPOStep) float64 { return s.KL }
		notes = append(notes, fmt.Sprintf("PPO, %d steps: mean RM score %.3f → %.3f and KL per sequence %.4f → %.4f (first %d vs last %d steps; each step samples different prompts, so the score's trend mixes the prompts' difficulty with learning).",
			n, mean(steps[:k], score), mean(steps[n-k:], score), mean(steps[:k], kl), mean(steps[n-k:], kl), k, k))
	}
	return notes
}

func rewardMean(m eval.ModelResult) float64 {
	if m.Reward == nil {
		return 0
	}
	return m.Reward.Mean
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// seenRows is the report's rows for accuracies by kind with either video: all first, then each kind.
func seenRows(all train.KindAccuracy, kinds []train.KindAccuracy) []runreport.SeenRow {
	var rows []runreport.SeenRow
	for _, k := range append([]train.KindAccuracy{all}, kinds...) {
		rows = append(rows, runreport.SeenRow{Kind: k.Kind, Questions: k.Questions, Own: k.Accuracy, Other: k.OtherVideo})
	}
	return rows
}

// demoReport writes the report into dir from the run's results.
func demoReport(dir, ppoDir, labels string, start time.Time, stages map[string]schemas.StageCounts, ev eval.Result, rm train.RMResult, judgeStats map[string]judge.Stats, sftEval train.SFTEval) (runreport.Files, error) {
	steps, err := readPPOSteps(filepath.Join(ppoDir, "metrics.jsonl"))
	if err != nil && !os.IsNotExist(err) {
		return runreport.Files{}, err
	}
	title := map[string]string{"feedback": "", "feedback-nocontext": " (ablation: labels from the judge without context)",
		"feedback-oracle": " (control: labels from the ground truth)"}[labels]
	d := runreport.Data{Title: "vrlaif demo: RLAIF vs SFT on the synthetic world" + title, Generated: time.Now().UTC().Format(time.RFC3339),
		WallSeconds: time.Since(start).Seconds(), Steps: steps,
		Notes: append([]string{fmt.Sprintf("The reward model and PPO learned from %s.", labels)}, demoFindings(ev, rm, steps, judgeStats)...)}
	for _, name := range sortedKeys(stages) {
		s := stages[name]
		d.Stages = append(d.Stages, runreport.StageRow{Stage: name, In: s.In, Out: s.Out, DeadLetter: s.DeadLetter})
	}
	if !sftEval.OtherVideo {
		d.SeenNote = "Not measured: the SFT evaluation asks with another clip's video only when the world holds out two clips or more, and this one holds out fewer."
	} else {
		d.Seen = seenRows(train.KindAccuracy{Kind: "all", Questions: sftEval.ShortAnswers, Accuracy: sftEval.ShortAnswerAccuracy, OtherVideo: sftEval.ShortAnswerOtherVideo}, sftEval.Kinds)
		d.SeenJudging = seenRows(train.KindAccuracy{Kind: "all", Questions: sftEval.JudgePairs, Accuracy: sftEval.LikelihoodJudgeAccuracy, OtherVideo: sftEval.LikelihoodJudgeOtherVideo}, sftEval.JudgeKinds)
		d.SeenContext = seenRows(train.KindAccuracy{Kind: "all", Questions: sftEval.JudgePairs, Accuracy: sftEval.ContextJudgeAccuracy, OtherVideo: sftEval.ContextJudgeOtherNarrative}, sftEval.ContextJudgeKinds)
	}
	for _, p := range ev.Preferences {
		d.Preference = append(d.Preference, runreport.PreferenceAccuracy{Name: p.Name, Accuracy: p.Accuracy, Pairs: p.Pairs, Labeled: p.Labeled, Compared: p.Comparable, FlipRate: p.FlipRate})
	}
	var sft, rl eval.ModelResult
	for _, m := range ev.Models {
		switch m.Name {
		case "sft":
			sft = m
		case "rlaif":
			rl = m
		}
		d.QA = append(d.QA, runreport.QAScore{Model: m.Name, Accuracy: m.QAAccuracy, Score: m.QAScore, N: m.QAN})
	}
	for _, a := range eval.Axes {
		d.Axes = append(d.Axes, runreport.AxisScore{Axis: a, SFT: sft.Axes[a].Mean, RLAIF: rl.Axes[a].Mean, N: sft.Axes[a].N})
	}
	return runreport.Write(dir, d)
}
