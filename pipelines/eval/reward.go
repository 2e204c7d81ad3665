package eval

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"

	"github.com/vrlaif/vrlaif/schemas"
)

// AxisReward names the comparison of the reward model's scores of the models' answers: not one of
// the benchmark's axes, but whether PPO raised the reward it was trained to raise, measured on the
// held-out questions (the same questions for every model, unlike PPO's own per-step scores).
const AxisReward = "reward"

// Rewarder scores an answer to a question about a clip with a reward model: the one PPO optimised
// (train.AnswerRewarder), with the prompt convention PPO's actors score rollouts with. Eval calls
// it from one goroutine.
type Rewarder interface {
	Reward(ctx context.Context, clipID string, frames [][]byte, question, answer string) (float64, error)
}

// RewardResult is the reward model's mean score of one model's answers.
type RewardResult struct {
	Mean   float64 `json:"mean"`
	N      int     `json:"n"`
	Failed int     `json:"failed"` // answers it could not score (dead letters, kind "reward")
}

// rewardAnswers scores every answered job (answers[i].err == nil) and returns the rewards by
// question id; an answer the reward model cannot score is a dead letter.
func rewardAnswers(ctx context.Context, r Rewarder, model string, jobs []job, answers []answer) (RewardResult, map[string]float64, []schemas.DeadLetter) {
	var res RewardResult
	out := map[string]float64{}
	var dead []schemas.DeadLetter
	var sum float64
	for i, j := range jobs {
		if answers[i].err != nil {
			continue
		}
		v, err := r.Reward(ctx, j.clip.truth.ClipID, j.clip.frames, j.item.Question, answers[i].text)
		if err != nil {
			dead = append(dead, deadLetter(model+"/"+j.item.ID+"/"+AxisReward, AxisReward, err))
			res.Failed++
			continue
		}
		out[j.item.ID] = v
		sum += v
		res.N++
	}
	if res.N > 0 {
		res.Mean = sum / float64(res.N)
	}
	return res, out, dead
}

// compareRewards compares each model's rewards with the first model's over the questions both
// have, with Compare's paired bootstrap (2 000 resamples, a fixed seed).
func compareRewards(rewards map[string]map[string]float64, models []string) []Comparison {
	if len(models) < 2 || rewards[models[0]] == nil {
		return nil
	}
	base := models[0]
	var out []Comparison
	for _, m := range models[1:] {
		var qs []string
		for q := range rewards[base] {
			if _, ok := rewards[m][q]; ok {
				qs = append(qs, q)
			}
		}
		if len(qs) == 0 {
			continue
		}
		slices.SortFunc(qs, cmp.Compare)
		d := make([]float64, len(qs))
		for i, q := range qs {
			d[i] = rewards[m][q] - rewards[base][q]
		}
		lo, hi := interval(bootstrapMeans(d, rand.New(rand.NewPCG(7, 7))))
		out = append(out, Comparison{Model: m, Baseline: base, Axis: AxisReward, Delta: mean(d), Low: lo, High: hi, N: len(d)})
	}
	return out
}
