package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

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

	// OtherVideo: the short answers were asked again with another held-out clip's video (the next
	// by id; needs two held-out clips). What a model gets right that way it gets without seeing
	// the clip (a prior, the question itself, or the other clip agreeing by chance, as two
	// backgrounds of one colour do), so the gap to ShortAnswerAccuracy is what it sees; Kinds
	// splits both by the kind of question.
	OtherVideo            bool           `json:"other_video"`
	ShortAnswerOtherVideo float64        `json:"short_answer_accuracy_other_video"`
	Kinds                 []KindAccuracy `json:"short_answer_kinds,omitempty"`
	// The judging pairs by likelihood, asked again with another clip's video, and both split by
	// the kind of question: these cover what the short answers do not ask (an object's colour,
	// shape, direction).
	LikelihoodJudgeOtherVideo float64        `json:"likelihood_judge_accuracy_other_video"`
	JudgeKinds                []KindAccuracy `json:"likelihood_judge_kinds,omitempty"`
	// The likelihood judge as feedback asks it (the question with the clip's narrative as
	// context, prompts.JudgeLikelihood; here the truth's narrative), and again with another
	// held-out clip's narrative (the video stays the clip's own): the gap is what the judge reads
	// from the narrative. ContextJudgeKinds' OtherVideo holds the other narrative's accuracy.
	ContextJudgeAccuracy       float64        `json:"context_judge_accuracy,omitempty"`
	ContextJudgeOtherNarrative float64        `json:"context_judge_accuracy_other_narrative,omitempty"`
	ContextJudgeKinds          []KindAccuracy `json:"context_judge_kinds,omitempty"`
}

// KindAccuracy is the accuracy on one kind of question (synth's kinds: count, background, moves,
// disappears; for judging pairs also color, shape, direction), with the clip's own video and
// with another clip's.
type KindAccuracy struct {
	Kind       string  `json:"kind"`
	Questions  int     `json:"questions"`
	Accuracy   float64 `json:"accuracy"`
	OtherVideo float64 `json:"other_video_accuracy"`
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
	hits, err := shortAnswerHits(m, tok, short, videoOf)
	if err != nil {
		return ev, err
	}
	ev.ShortAnswerAccuracy = share(hits)
	judgeHits, err := likelihoodJudgeHits(m, tok, judge, videoOf, questionPrompt)
	if err != nil {
		return ev, err
	}
	ev.LikelihoodJudgeAccuracy = share(judgeHits)
	if len(held) >= 2 {
		ids := make([]string, len(held))
		for i, t := range held {
			ids[i] = t.ClipID
		}
		slices.Sort(ids)
		other := make(map[string]string, len(ids))
		for i, id := range ids {
			other[id] = ids[(i+1)%len(ids)]
		}
		otherVideoOf := func(ex *Example) []float32 { return videos[other[ex.ClipID]].Patches(ex.Video) }
		otherHits, err := shortAnswerHits(m, tok, short, otherVideoOf)
		if err != nil {
			return ev, err
		}
		otherJudgeHits, err := likelihoodJudgeHits(m, tok, judge, otherVideoOf, questionPrompt)
		if err != nil {
			return ev, err
		}
		narrative := map[string]string{}
		for _, e := range judge {
			narrative[e.Example.ClipID] = e.Example.Context
		}
		ownNarrative := func(ex *Example) string { return ContextPrompt(ex.Context, ex.Question) }
		otherNarrative := func(ex *Example) string { return ContextPrompt(narrative[other[ex.ClipID]], ex.Question) }
		ctxHits, err := likelihoodJudgeHits(m, tok, judge, videoOf, ownNarrative)
		if err != nil {
			return ev, err
		}
		otherCtxHits, err := likelihoodJudgeHits(m, tok, judge, videoOf, otherNarrative)
		if err != nil {
			return ev, err
		}
		ev.ContextJudgeAccuracy, ev.ContextJudgeOtherNarrative = share(ctxHits), share(otherCtxHits)
		ev.ContextJudgeKinds = kindAccuracies(judge, ctxHits, otherCtxHits)
		ev.OtherVideo, ev.ShortAnswerOtherVideo, ev.LikelihoodJudgeOtherVideo = true, share(otherHits), share(otherJudgeHits)
		ev.Kinds = kindAccuracies(short, hits, otherHits)
		ev.JudgeKinds = kindAccuracies(judge, judgeHits, otherJudgeHits)
	}
	if ev.JudgeAccuracy, err = JudgeAccuracy(m, tok, judge, videoOf); err != nil {
		return ev, err
	}
	return ev, nil
}

// OtherVideoLine renders the short answers' accuracy with the clip's own video and with another
// clip's, over all and by kind: "all 64.0 / 54.0 %, background 77.5 / 20.0 %, count 27.5 / 27.5 %".
func (ev SFTEval) OtherVideoLine() string {
	if !ev.OtherVideo {
		return ""
	}
	return kindsLine(ev.ShortAnswerAccuracy, ev.ShortAnswerOtherVideo, ev.Kinds)
}

// OtherVideoJudgeLine renders the judging pairs' likelihood accuracy the same way.
func (ev SFTEval) OtherVideoJudgeLine() string {
	if !ev.OtherVideo {
		return ""
	}
	return kindsLine(ev.LikelihoodJudgeAccuracy, ev.LikelihoodJudgeOtherVideo, ev.JudgeKinds)
}

// ContextJudgeLine renders the likelihood judge's accuracy with the clip's own narrative and with
// another clip's, the same way.
func (ev SFTEval) ContextJudgeLine() string {
	if !ev.OtherVideo {
		return ""
	}
	return kindsLine(ev.ContextJudgeAccuracy, ev.ContextJudgeOtherNarrative, ev.ContextJudgeKinds)
}

func kindsLine(all, allOther float64, kinds []KindAccuracy) string {
	parts := []string{fmt.Sprintf("all %.1f / %.1f %%", 100*all, 100*allOther)}
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %.1f / %.1f %%", k.Kind, 100*k.Accuracy, 100*k.OtherVideo))
	}
	return strings.Join(parts, ", ")
}

// share is the fraction of true values (0 for none).
func share(hits []bool) float64 {
	if len(hits) == 0 {
		return 0
	}
	n := 0
	for _, h := range hits {
		if h {
			n++
		}
	}
	return float64(n) / float64(len(hits))
}

// kindAccuracies splits hits on examples (short answers or judging pairs) by their question's
// kind (Example.QuestionKind), in kind order.
func kindAccuracies(examples []*Encoded, hits, otherHits []bool) []KindAccuracy {
	byKind := map[string]*KindAccuracy{}
	for i, e := range examples {
		k := e.Example.QuestionKind
		if k == "" {
			k = "other"
		}
		a := byKind[k]
		if a == nil {
			a = &KindAccuracy{Kind: k}
			byKind[k] = a
		}
		a.Questions++
		if hits[i] {
			a.Accuracy++
		}
		if otherHits[i] {
			a.OtherVideo++
		}
	}
	out := make([]KindAccuracy, 0, len(byKind))
	for _, a := range byKind {
		a.Accuracy /= float64(a.Questions)
		a.OtherVideo /= float64(a.Questions)
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b KindAccuracy) int { return strings.Compare(a.Kind, b.Kind) })
	return out
}
