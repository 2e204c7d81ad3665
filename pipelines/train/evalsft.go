package train

import (
	"context"
	"math/rand/v2"
	"path/filepath"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/model/tokenizer"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
)

// SFTEval is what a trained checkpoint reaches on a world's held-out clips.
type SFTEval struct {
	ShortAnswerAccuracy float64 `json:"short_answer_accuracy"` // exact match of short answers
	ShortAnswers        int     `json:"short_answers"`
	JudgeAccuracy       float64 `json:"judge_accuracy"` // the generated verdict letter agrees with the ground truth
	JudgePairs          int     `json:"judge_pairs"`
	// LikelihoodJudgeAccuracy: the likelier response (mean token log-probability given the video
	// and the question) is the right one.
	LikelihoodJudgeAccuracy float64 `json:"likelihood_judge_accuracy"`
}

// EvaluateSFT loads the checkpoint in dir and scores it on the held-out clips of world: greedy
// short answers against the gold answers, and the judge's A/B verdict on pairs where one answer
// contradicts the ground truth. limit caps each set (0: all).
func EvaluateSFT(ctx context.Context, world, dir string, limit int, seed uint64) (SFTEval, error) {
	var ev SFTEval
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return ev, err
	}
	m, err := model.Load(dir)
	if err != nil {
		return ev, err
	}
	truths, err := synth.LoadTruth(world)
	if err != nil {
		return ev, err
	}
	var held []schemas.Truth
	for _, t := range truths {
		if t.Split == "heldout" {
			held = append(held, t)
		}
	}
	videos, err := LoadWorldVideos(ctx, world, held, m.Config.Vision)
	if err != nil {
		return ev, err
	}
	videoOf := func(ex *Example) []float32 { return videos[ex.ClipID].Patches(ex.Video) }
	examples := WorldExamples(held, rand.New(rand.NewPCG(seed, 99)))
	var short, judge []*Encoded
	for i := range examples {
		e, err := Encode(tok, &examples[i], m.Config.VideoTokens())
		if err != nil {
			return ev, err
		}
		if len(e.Tokens) > m.Config.MaxPositionEmbeddings {
			continue
		}
		switch examples[i].Kind {
		case "qa":
			short = append(short, &e)
		case "judge":
			judge = append(judge, &e)
		}
	}
	if limit > 0 {
		short, judge = short[:min(limit, len(short))], judge[:min(limit, len(judge))]
	}
	ev.ShortAnswers, ev.JudgePairs = len(short), len(judge)
	if ev.ShortAnswerAccuracy, err = ShortAnswerAccuracy(m, tok, short, videoOf); err != nil {
		return ev, err
	}
	if ev.JudgeAccuracy, err = JudgeAccuracy(m, tok, judge, videoOf); err != nil {
		return ev, err
	}
	if ev.LikelihoodJudgeAccuracy, err = LikelihoodJudgeAccuracy(m, tok, judge, videoOf); err != nil {
		return ev, err
	}
	return ev, nil
}
