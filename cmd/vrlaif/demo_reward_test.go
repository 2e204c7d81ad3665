package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/pipelines/eval"
	"github.com/vrlaif/vrlaif/pipelines/train"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/frames"
)

// checkDemoRewards: the demo's evaluation scored every answer of both models with the reward
// model PPO optimised. Each score row carries the reward of its prediction, which is that reward
// model's own score of (question, prediction) about the clip, recomputed here for a few rows;
// the summary's means and the comparison agree with the rows.
func checkDemoRewards(t *testing.T, out string, truths []schemas.Truth, scores []schemas.EvalScore) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "eval", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Extra struct {
			Result eval.Result `json:"result"`
		} `json:"extra"`
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	res := sum.Extra.Result
	rm, err := train.LoadRewardModel(filepath.Join(out, "rm"))
	if err != nil {
		t.Fatal(err)
	}
	video := map[string]string{}
	for _, tr := range truths {
		video[tr.ClipID] = filepath.Join(out, "world", tr.VideoPath)
	}
	perQuestion := map[string]map[string]float64{} // model → question → reward
	checked := map[string]int{}
	for _, r := range scores {
		if r.Reward == nil {
			t.Errorf("score row %s (%s, %s) has no reward", r.ID, r.Model, r.Axis)
			continue
		}
		if perQuestion[r.Model] == nil {
			perQuestion[r.Model] = map[string]float64{}
		}
		perQuestion[r.Model][r.QuestionID] = *r.Reward
		if checked[r.Model] >= 3 || r.Axis == eval.AxisConsistency {
			continue
		}
		checked[r.Model]++
		clip, err := frames.ExtractFile(t.Context(), video[r.ClipID], frames.DefaultParams())
		if err != nil {
			t.Fatal(err)
		}
		p, err := model.VideoPatches(clip.Frames, rm.M.Config.Vision)
		if err != nil {
			t.Fatal(err)
		}
		want, err := rm.Scores([][]float32{p}, []string{r.Question}, []string{r.Prediction})
		if err != nil {
			t.Fatal(err)
		}
		// The same model on the same one-row batch: equal up to float32 rounding of the head's output.
		if math.Abs(*r.Reward-float64(want[0])) > 1e-5*math.Max(1, math.Abs(float64(want[0]))) {
			t.Errorf("%s %s: reward %v, the reward model says %v", r.Model, r.QuestionID, *r.Reward, want[0])
		}
	}
	means := map[string]float64{}
	for _, m := range res.Models {
		if m.Reward == nil || m.Reward.Failed != 0 || m.Reward.N != m.Answers {
			t.Fatalf("model %s: reward %+v for %d answers, want every answer scored", m.Name, m.Reward, m.Answers)
		}
		means[m.Name] = m.Reward.Mean
		// The rows hold the first phrasing of a consistency pair only: a subset of the answers.
		if n := len(perQuestion[m.Name]); n == 0 || n > m.Reward.N {
			t.Errorf("model %s: %d questions with a reward in the rows, %d answers scored", m.Name, n, m.Reward.N)
		}
	}
	var cmp *eval.Comparison
	for i, c := range res.Comparisons {
		if c.Axis == eval.AxisReward {
			cmp = &res.Comparisons[i]
		}
	}
	if cmp == nil || cmp.Model != "rlaif" || cmp.Baseline != "sft" {
		t.Fatalf("comparisons %+v: no reward comparison of rlaif with sft", res.Comparisons)
	}
	// Both models answered every question, so the paired mean difference is the difference of the
	// means (up to float64 summation order: 1e-9).
	if math.Abs(cmp.Delta-(means["rlaif"]-means["sft"])) > 1e-9 || cmp.Low > cmp.Delta || cmp.High < cmp.Delta {
		t.Errorf("reward comparison %+v; means rlaif %v, sft %v", *cmp, means["rlaif"], means["sft"])
	}
}
