// Package eval scores a model on the Video-ChatGPT benchmark's five axes (correctness of
// information, detail orientation, contextual understanding, temporal understanding,
// consistency; 0–5 each) and on zero-shot QA (accuracy and a 0–5 score), with the inference
// settings of reference §5.1. Two judges: the synthetic world's ground truth (this file: a
// deterministic rubric over the world's vocabulary, documented per axis) and any OpenAI-compatible
// model given the benchmark's judging instructions (paraphrased, versioned in prompts/).
package eval

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/vrlaif/vrlaif/schemas"
)

// Axes of the benchmark, in its order, and zero-shot QA.
const (
	AxisCorrectness = "correctness" // correctness of information (generic questions)
	AxisDetail      = "detail"      // detail orientation (generic questions)
	AxisContext     = "context"     // contextual understanding (generic questions)
	AxisTemporal    = "temporal"    // temporal understanding (temporal questions)
	AxisConsistency = "consistency" // consistency (two phrasings of one question)
	AxisQA          = "qa"          // zero-shot QA: accuracy and a 0–5 score
)

// Axes are the five benchmark axes in order.
var Axes = []string{AxisCorrectness, AxisDetail, AxisContext, AxisTemporal, AxisConsistency}

// GroundTruthRubric names the rubric below; it is recorded with every score it gives. Change the
// rubric only under a new name.
const GroundTruthRubric = "groundtruth-v1"

// Judgement is one score on one axis, with why.
type Judgement struct {
	Score   int    // 0..5
	Correct bool   // zero-shot QA only: the answer matches the gold answer
	Reason  string // what the rubric saw
}

// Rubric groundtruth-v1. An answer is read as the set of the world's vocabulary words it contains
// (colours, shapes, sizes, directions, event verbs, numbers, yes/no; plurals and verb forms folded,
// everything else ignored). Scores are round(5·f) with f in [0, 1], rounding halves up.
//
//   - gold match f (short gold answers: "red", "the blue circle", "the red square moves left",
//     "yes", "two"): for each class the gold answer has a word in, 1 if the answer has the gold
//     word and no other word of that class, ½ if it has the gold word and another (a hedge), 0
//     otherwise; f is the mean over the gold's classes. Word order is not read.
//   - correctness: questions with a gold answer score its gold match; "describe the video" scores
//     the share of the answer's scene words (colour, shape, size, direction, event) that the
//     reference description also has (precision; none at all scores 0).
//   - detail: the share of the reference answer's scene and number words that the answer has
//     (recall).
//   - context: the share of the answer's scene and number words that are true anywhere in the clip
//     (an object's colour, shape or size, the background colour, a direction something moved in,
//     an event that happened, the number of objects); none at all scores 0.
//   - temporal: the gold match of the answer ("which appears first", "what happens after").
//   - consistency: both phrasings' gold matches f1, f2; if the two answers say the same words in
//     the gold's classes, round(5·(f1+f2)/2), else round(5·min(f1, f2)/2).
//   - zero-shot QA: correct when the gold match is 1; the score is round(5·f).

func score(f float64) int { return int(math.Floor(5*f + 0.5)) }

// goldMatch is the rubric's gold match f of pred against gold.
func goldMatch(pred, gold string) (float64, string) {
	g, p := byClass(words(gold)), byClass(words(pred))
	if len(g) == 0 {
		return 0, fmt.Sprintf("the gold answer %q has no vocabulary word", gold)
	}
	classes := make([]string, 0, len(g))
	for c := range g {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var got float64
	var notes []string
	for _, c := range classes {
		hit, other := true, false
		for v := range g[c] {
			hit = hit && p[c][v]
		}
		for v := range p[c] {
			other = other || !g[c][v]
		}
		want := strings.Join(keys(g[c]), "/")
		switch {
		case hit && !other:
			got++
			notes = append(notes, c+" "+want+" ✓")
		case hit:
			got += 0.5
			notes = append(notes, fmt.Sprintf("%s %s hedged with %s", c, want, strings.Join(keys(p[c]), "/")))
		case len(p[c]) > 0:
			notes = append(notes, fmt.Sprintf("%s %s, answer says %s", c, want, strings.Join(keys(p[c]), "/")))
		default:
			notes = append(notes, c+" "+want+" missing")
		}
	}
	return got / float64(len(classes)), strings.Join(notes, "; ")
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// factWords are the words of text in the scene classes, and numbers when withNumbers.
func factWords(text string, withNumbers bool) map[word]bool {
	out := map[word]bool{}
	for _, w := range words(text) {
		if factClasses[w.class] || (withNumbers && w.class == ClassNumber) {
			out[w] = true
		}
	}
	return out
}

// share is |a ∩ b| / |a| (0 when a is empty) with a note.
func share(a, b map[word]bool, what string) (float64, string) {
	if len(a) == 0 {
		return 0, "no " + what
	}
	n := 0
	var miss []string
	for w := range a {
		if b[w] {
			n++
		} else {
			miss = append(miss, w.value)
		}
	}
	sort.Strings(miss)
	note := fmt.Sprintf("%d of %d %s", n, len(a), what)
	if len(miss) > 0 {
		note += " (not: " + strings.Join(miss, ", ") + ")"
	}
	return float64(n) / float64(len(a)), note
}

// ScoreGeneric scores an answer to a generic question on correctness, detail and context.
func ScoreGeneric(t schemas.Truth, item schemas.QAItem, pred string) (correctness, detail, context Judgement) {
	if item.Gold != "" {
		f, why := goldMatch(pred, item.Gold)
		correctness = Judgement{Score: score(f), Reason: why}
	} else {
		f, why := share(factWords(pred, false), factWords(item.Answer, false), "scene words of the answer are in the reference")
		correctness = Judgement{Score: score(f), Reason: why}
	}
	f, why := share(factWords(item.Answer, true), factWords(pred, true), "words of the reference are in the answer")
	detail = Judgement{Score: score(f), Reason: why}
	f, why = share(factWords(pred, true), sceneWords(t), "words of the answer are true of the clip")
	context = Judgement{Score: score(f), Reason: why}
	return correctness, detail, context
}

// ScoreTemporal scores an answer to a temporal question.
func ScoreTemporal(item schemas.QAItem, pred string) Judgement {
	f, why := goldMatch(pred, item.Gold)
	return Judgement{Score: score(f), Reason: why}
}

// ScoreConsistency scores the answers to the two phrasings a and b of one question.
func ScoreConsistency(a, b schemas.QAItem, predA, predB string) Judgement {
	fa, whyA := goldMatch(predA, a.Gold)
	fb, whyB := goldMatch(predB, b.Gold)
	gold := byClass(words(a.Gold))
	pa, pb := byClass(words(predA)), byClass(words(predB))
	agree := true
	for c := range gold {
		agree = agree && strings.Join(keys(pa[c]), "/") == strings.Join(keys(pb[c]), "/")
	}
	j := Judgement{Reason: fmt.Sprintf("first: %s; second: %s", whyA, whyB)}
	if agree {
		j.Score = score((fa + fb) / 2)
		j.Reason += "; the two answers agree"
	} else {
		j.Score = score(min(fa, fb) / 2)
		j.Reason += "; the two answers disagree"
	}
	return j
}

// ScoreQA scores a zero-shot QA answer: correct when it matches the gold answer.
func ScoreQA(item schemas.QAItem, pred string) Judgement {
	f, why := goldMatch(pred, item.Gold)
	return Judgement{Score: score(f), Correct: f == 1, Reason: why}
}

// Quality is how good one answer to one question is by the ground truth, in [0, 1]: the gold
// match for questions with a gold answer, and for open questions the mean of the rubric's
// correctness, detail and context fractions. It decides which of two answers the ground truth
// prefers when a judge's preference labels are checked.
func Quality(t schemas.Truth, item schemas.QAItem, pred string) float64 {
	if item.Gold != "" {
		f, _ := goldMatch(pred, item.Gold)
		return f
	}
	c, _ := share(factWords(pred, false), factWords(item.Answer, false), "")
	d, _ := share(factWords(item.Answer, true), factWords(pred, true), "")
	x, _ := share(factWords(pred, true), sceneWords(t), "")
	return (c + d + x) / 3
}
