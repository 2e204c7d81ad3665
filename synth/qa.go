package synth

import (
	"fmt"
	"math/rand/v2"

	"github.com/vrlaif/vrlaif/schemas"
)

// questions makes the clip's question/answer items in the Video-ChatGPT categories: generic
// (detail, colour, shape, direction), temporal (which first, what after), consistency (two
// phrasings of one question, sharing a PairID) and short-answer QA with a gold answer.
func questions(rng *rand.Rand, t schemas.Truth) []schemas.QAItem {
	var qs []schemas.QAItem
	add := func(cat, kind, q, a, gold, pair string) {
		qs = append(qs, schemas.QAItem{ID: fmt.Sprintf("%s-q%02d", t.ClipID, len(qs)), Category: cat, Kind: kind,
			Question: q, Answer: a, Gold: gold, PairID: pair})
	}
	add("generic", "describe", "Describe the video in detail.", t.Description, "", "")
	for _, o := range t.Objects {
		add("generic", "color", fmt.Sprintf("What colour is the %s?", o.Shape), fmt.Sprintf("The %s is %s.", o.Shape, o.Color), o.Color, "")
		add("generic", "shape", fmt.Sprintf("What shape is the %s object?", o.Color), fmt.Sprintf("The %s object is a %s.", o.Color, o.Shape), o.Shape, "")
	}
	moves := map[int32]schemas.TruthEvent{}
	for _, e := range t.Events {
		if e.Kind == "move" {
			moves[e.Object] = e
		}
	}
	for _, o := range t.Objects {
		if e, ok := moves[o.ID]; ok {
			add("generic", "direction", fmt.Sprintf("In which direction does the %s move?", name(o)),
				fmt.Sprintf("The %s moves %s.", name(o), e.Direction), e.Direction, "")
		}
	}

	// Temporal: which appears first (only when the gap is clear), and what happens after an event.
	frame := 1 / float64(t.FPS)
	if len(t.Objects) >= 2 {
		i, j := rng.IntN(len(t.Objects)), 0
		for j = (i + 1) % len(t.Objects); j == i; j = (j + 1) % len(t.Objects) {
		}
		a, b := t.Objects[i], t.Objects[j]
		if d := a.AppearSeconds - b.AppearSeconds; d > 1.5*frame || d < -1.5*frame {
			first := a
			if b.AppearSeconds < a.AppearSeconds {
				first = b
			}
			add("temporal", "first", fmt.Sprintf("Which appears first, the %s or the %s?", name(a), name(b)),
				fmt.Sprintf("The %s appears first.", name(first)), "the "+name(first), "")
		}
	}
	for i := 0; i+1 < len(t.Events); i++ {
		e, next := t.Events[i], t.Events[i+1]
		if next.StartSeconds-e.StartSeconds < 1.5*frame || (i+2 < len(t.Events) && t.Events[i+2].StartSeconds-next.StartSeconds < 1.5*frame) {
			continue // "what happens next" must have one clear answer
		}
		add("temporal", "after", fmt.Sprintf("What happens after %s?", eventPhrase(t, e)),
			fmt.Sprintf("Next, %s, at %s.", eventPhrase(t, next), secs(next.StartSeconds)), eventPhrase(t, next), "")
	}

	// Consistency: the same question in two phrasings.
	n := len(t.Objects)
	countPair := t.ClipID + "-count"
	add("consistency", "count", "How many objects appear in the video?", thereAre(n)+" in the video.", numberWords[n], countPair)
	add("consistency", "count", "How many shapes can be seen in the video?", fmt.Sprintf("%s can be seen.", capitalize(objectsPhrase(n))), numberWords[n], countPair)
	o := t.Objects[rng.IntN(n)]
	colorPair := t.ClipID + "-color"
	add("consistency", "color", fmt.Sprintf("What colour is the %s?", o.Shape), fmt.Sprintf("The %s is %s.", o.Shape, o.Color), o.Color, colorPair)
	add("consistency", "color", fmt.Sprintf("Which colour does the %s have?", o.Shape), fmt.Sprintf("It is %s.", o.Color), o.Color, colorPair)

	// Short-answer QA with a gold answer.
	add("qa", "background", "What colour is the background?", fmt.Sprintf("The background is %s.", t.Background), t.Background, "")
	for _, o := range t.Objects {
		_, moved := moves[o.ID]
		add("qa", "moves", fmt.Sprintf("Does the %s move?", name(o)), yesNoSentence(moved, "it moves", "it stays still"), yesNo(moved), "")
		gone := o.DisappearSeconds < t.DurationSeconds
		add("qa", "disappears", fmt.Sprintf("Does the %s disappear?", name(o)), yesNoSentence(gone, "it disappears", "it stays until the end"), yesNo(gone), "")
	}
	add("qa", "count", "How many objects are in the video?", thereAre(n)+".", numberWords[n], "")
	return qs
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func yesNoSentence(b bool, yes, no string) string {
	if b {
		return "Yes, " + yes + "."
	}
	return "No, " + no + "."
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
