package train

import (
	"context"
	"fmt"

	"github.com/vrlaif/vrlaif/model"
)

// AnswerRewarder scores answers with a reward model the way PPO's actors score rollouts (Scores:
// the question with the clip's video, the answer, the evaluation turn), for eval's comparison of
// the models' rewards (eval.Rewarder). Each clip's patches are computed once. Not safe for
// concurrent use.
type AnswerRewarder struct {
	RM      *RewardModel
	patches map[string][]float32
}

// NewAnswerRewarder opens the reward model in dir.
func NewAnswerRewarder(dir string) (*AnswerRewarder, error) {
	rm, err := LoadRewardModel(dir)
	if err != nil {
		return nil, err
	}
	return &AnswerRewarder{RM: rm, patches: map[string][]float32{}}, nil
}

// Reward is the reward model's score of answer to question about the clip's frames.
func (a *AnswerRewarder) Reward(ctx context.Context, clipID string, frames [][]byte, question, answer string) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	p, ok := a.patches[clipID]
	if !ok {
		var err error
		if p, err = model.VideoPatches(frames, a.RM.M.Config.Vision); err != nil {
			return 0, fmt.Errorf("train: reward of an answer about %s: %w", clipID, err)
		}
		a.patches[clipID] = p
	}
	s, err := a.RM.Scores([][]float32{p}, []string{question}, []string{answer})
	if err != nil {
		return 0, err
	}
	return float64(s[0]), nil
}
