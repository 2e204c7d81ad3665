package train

import (
	"math/rand/v2"
	"testing"

	"github.com/vrlaif/vrlaif/schemas"
)

// Each short answer counts under its question's kind in the truth, with the clip's own video and
// with another clip's; the line shows both, over all and by kind.
func TestKindAccuraciesSplitByTheTruthsKinds(t *testing.T) {
	truths := []schemas.Truth{
		{ClipID: "a", Split: "heldout", QA: []schemas.QAItem{{Question: "How many?", Kind: "count", Category: "qa", Gold: "two", Answer: "There are two shapes."},
			{Question: "Which colour?", Kind: "background", Category: "qa", Gold: "red", Answer: "It is red."}}},
		{ClipID: "b", Split: "heldout", QA: []schemas.QAItem{{Question: "How many?", Kind: "count", Category: "qa", Gold: "one", Answer: "There is one shape."}}},
	}
	var short []*Encoded
	for _, ex := range WorldExamples(truths, rand.New(rand.NewPCG(1, 2))) {
		if ex.Kind == "qa" {
			short = append(short, &Encoded{Example: &ex})
		}
	}
	// and an example the truth gave no kind
	short = append(short, &Encoded{Example: &Example{ClipID: "b", Kind: "qa", Conv: turn("Not in the truth?"+ShortSuffix, "x")}})
	if len(short) != 4 {
		t.Fatalf("%d short-answer examples, want 4", len(short))
	}
	hits := []bool{true, true, false, true}
	other := []bool{true, false, false, false}
	got := kindAccuracies(short, hits, other)
	want := []KindAccuracy{
		{Kind: "background", Questions: 1, Accuracy: 1, OtherVideo: 0},
		{Kind: "count", Questions: 2, Accuracy: 0.5, OtherVideo: 0.5},
		{Kind: "other", Questions: 1, Accuracy: 1, OtherVideo: 0},
	}
	if len(got) != len(want) {
		t.Fatalf("kinds %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] { // exact: ratios of small counts
			t.Errorf("kind %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	ev := SFTEval{ShortAnswerAccuracy: share(hits), OtherVideo: true, ShortAnswerOtherVideo: share(other), Kinds: got}
	if line, w := ev.OtherVideoLine(), "all 75.0 / 25.0 %, background 100.0 / 0.0 %, count 50.0 / 50.0 %, other 100.0 / 0.0 %"; line != w {
		t.Errorf("line %q, want %q", line, w)
	}
	if (SFTEval{}).OtherVideoLine() != "" || (SFTEval{}).OtherVideoJudgeLine() != "" {
		t.Error("a line without the baseline")
	}
	// judging pairs carry their question's kind from the truth as well
	pairs := 0
	for _, ex := range WorldExamples(truths, rand.New(rand.NewPCG(1, 2))) {
		if ex.Kind == "judge" {
			pairs++
			if ex.QuestionKind == "" {
				t.Errorf("judging pair on %q has no kind", ex.Question)
			}
		}
	}
	if pairs != 3 {
		t.Errorf("%d judging pairs, want 3", pairs)
	}
}
