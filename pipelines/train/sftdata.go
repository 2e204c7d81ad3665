package train

import (
	"math/rand/v2"
	"strings"

	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
)

// Example is one SFT conversation about one video.
type Example struct {
	ClipID string
	Video  int // which frames: VideoFull, or 0..2 for a third of the clip
	Kind   string
	Split  string
	Conv   []schemas.Turn
	Gold   string // short answer, for short-answer and judging examples
	// QuestionKind is the truth's kind of question (synth: count, background, moves, …) for a
	// world's short-answer and judging examples; the evaluation splits its accuracies by it.
	QuestionKind string
	// For judging examples: the question and the two responses in prompt order (A, B).
	Question  string
	Responses [2]string
	// Context is the clip's narrative, for judging and context-QA examples.
	Context string
}

// VideoFull selects frames spread over the whole clip.
const VideoFull = -1

// Prompts shared with the narrative and judge stages (package prompts holds the templates).
var DescribePrompt = prompts.MustRender(prompts.Narrative, prompts.Fields{})

// ShortSuffix asks for a short answer.
const ShortSuffix = " Answer with one word or phrase."

// JudgePrompt is the user turn of a judging example: the video and the judge-v1 template (the
// narrative as context, the question, both responses, the seed's four criteria, one letter) — the
// same text the feedback pipeline's judge sends.
func JudgePrompt(narrative, question, a, b string) string {
	return "<video>\n" + prompts.MustRender(prompts.Judge, prompts.Fields{Context: narrative, Question: question, A: a, B: b})
}

// ContextPrompt is the user turn of a context-QA example: the video, and the question with the
// narrative as context, in the likelihood judge's words (prompts.JudgeLikelihood), so that the
// judge scores an answer as the reply SFT taught for that prompt.
func ContextPrompt(narrative, question string) string {
	return "<video>\n" + prompts.MustRender(prompts.JudgeLikelihood, prompts.Fields{Context: narrative, Question: question})
}

// Narrative joins per-clip descriptions as the narrative stage does.
func Narrative(clips []string) string { return prompts.JoinCaptions(clips) }

func turn(q, a string) []schemas.Turn {
	return []schemas.Turn{{From: "human", Value: "<video>\n" + q}, {From: "gpt", Value: a}}
}

// WorldExamples turns a synthetic world's ground truth into SFT examples. rng decides which
// response of a judging pair comes first and which wrong answers are made. Besides the seed's
// kinds, each question with a sentence answer is also asked with the narrative as context
// ("context_qa", a fill-in): the likelihood judge reads the narrative through that skill. A
// short-answer question is asked both with ShortSuffix (the gold word) and plainly ("qa_sentence",
// the reference sentence), the form zero-shot QA and the RL prompts use.
func WorldExamples(truths []schemas.Truth, rng *rand.Rand) []Example {
	var out []Example
	for _, t := range truths {
		add := func(video int, kind string, conv []schemas.Turn, gold string) {
			out = append(out, Example{ClipID: t.ClipID, Video: video, Kind: kind, Split: t.Split, Conv: conv, Gold: gold})
		}
		add(VideoFull, "describe", turn(DescribePrompt, t.Description), "")
		for k, d := range t.SegmentDescriptions {
			add(k, "describe_clip", turn(DescribePrompt, d), "")
		}
		narrative := Narrative(t.SegmentDescriptions)
		for _, q := range t.QA {
			switch {
			case q.Kind == "describe":
				continue // the description above
			case q.Category == "qa":
				add(VideoFull, "qa", turn(q.Question+ShortSuffix, q.Gold), q.Gold)
				out[len(out)-1].QuestionKind = q.Kind
				if q.Answer != "" {
					// Asked plainly, as zero-shot QA and the RL prompts ask it: a sentence that
					// holds the short answer ("Yes, it moves.").
					add(VideoFull, "qa_sentence", turn(q.Question, q.Answer), q.Gold)
					out[len(out)-1].QuestionKind = q.Kind
				}
			default:
				add(VideoFull, q.Category, turn(q.Question, q.Answer), q.Gold)
			}
			if q.Answer != "" {
				out = append(out, Example{ClipID: t.ClipID, Video: VideoFull, Kind: "context_qa", Split: t.Split, Gold: q.Gold, QuestionKind: q.Kind,
					Question: q.Question, Context: narrative,
					Conv: []schemas.Turn{{From: "human", Value: ContextPrompt(narrative, q.Question)}, {From: "gpt", Value: q.Answer}}})
			}
			if q.Gold == "" {
				continue
			}
			wrong, ok := corrupt(q, rng)
			if !ok {
				continue
			}
			good, bad := q.Answer, wrong
			letter := "A"
			if rng.IntN(2) == 1 {
				good, bad, letter = bad, good, "B"
			}
			out = append(out, Example{ClipID: t.ClipID, Video: VideoFull, Kind: "judge", Split: t.Split, Gold: letter,
				Question: q.Question, QuestionKind: q.Kind, Responses: [2]string{good, bad}, Context: narrative,
				Conv: []schemas.Turn{{From: "human", Value: JudgePrompt(narrative, q.Question, good, bad)}, {From: "gpt", Value: letter}}})
		}
	}
	return out
}

// corrupt rewrites a reference answer so that it contradicts the ground truth: its gold word is
// replaced by another word of the same kind.
func corrupt(q schemas.QAItem, rng *rand.Rand) (string, bool) {
	var pool []string
	for _, words := range [][]string{synth.Colors, synth.Shapes, synth.Directions, synth.Backgrounds, {"yes", "no"}, {"one", "two", "three"}} {
		for _, w := range words {
			if w == q.Gold {
				pool = words
			}
		}
	}
	if pool == nil || !strings.Contains(strings.ToLower(q.Answer), q.Gold) {
		return "", false
	}
	var others []string
	for _, w := range pool {
		if w != q.Gold {
			others = append(others, w)
		}
	}
	w := others[rng.IntN(len(others))]
	switch q.Gold {
	case "yes", "no": // "Yes, it moves." ↔ "No, it stays still."
		return yesNoFlip(q.Answer), true
	}
	// synth.Agree keeps a swapped count grammatical ("There is one shape." → "There are two
	// shapes.", not "There is two shape."): a judge must not be able to tell the wrong answer by
	// its grammar alone.
	if strings.Contains(q.Answer, q.Gold) {
		return synth.Agree(strings.Replace(q.Answer, q.Gold, w, 1)), true
	}
	// The gold word starts the sentence, capitalised ("Three shapes can be seen.").
	return synth.Agree(strings.Replace(q.Answer, capitalize(q.Gold), capitalize(w), 1)), true
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func yesNoFlip(a string) string {
	switch {
	case strings.HasPrefix(a, "Yes, it moves"):
		return "No, it stays still."
	case strings.HasPrefix(a, "No, it stays still"):
		return "Yes, it moves."
	case strings.HasPrefix(a, "Yes, it disappears"):
		return "No, it stays until the end."
	case strings.HasPrefix(a, "No, it stays until the end"):
		return "Yes, it disappears."
	}
	if strings.HasPrefix(a, "Yes") {
		return "No" + a[3:]
	}
	return "Yes" + strings.TrimPrefix(a, "No")
}

// Texts returns every string the tokenizer should learn from.
func Texts(ex []Example) []string {
	// The reward model's evaluation turn is not in any example but is read by the same tokenizer.
	out := []string{prompts.MustRender(prompts.Reward, prompts.Fields{}), prompts.RewardAnswerPrefix}
	for _, e := range ex {
		for _, t := range e.Conv {
			out = append(out, t.Value)
		}
	}
	return out
}
