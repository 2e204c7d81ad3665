package eval

import (
	"testing"

	"github.com/vrlaif/vrlaif/schemas"
)

// handTruth: a large red square that moves left and stops, and a small blue circle that appears at
// 1 s and disappears at 2.5 s, on a gray background.
func handTruth() schemas.Truth {
	return schemas.Truth{ClipID: "hand", Background: "gray", DurationSeconds: 3, FPS: 10,
		Objects: []schemas.TruthObject{
			{ID: 0, Shape: "square", Color: "red", Size: "large", AppearSeconds: 0, DisappearSeconds: 3},
			{ID: 1, Shape: "circle", Color: "blue", Size: "small", AppearSeconds: 1, DisappearSeconds: 2.5},
		},
		Events: []schemas.TruthEvent{
			{Object: 0, Kind: "appear"}, {Object: 0, Kind: "move", Direction: "left", StartSeconds: 0.5, EndSeconds: 1.5},
			{Object: 0, Kind: "stop", StartSeconds: 1.5, EndSeconds: 1.5}, {Object: 1, Kind: "appear", StartSeconds: 1, EndSeconds: 1},
			{Object: 1, Kind: "disappear", StartSeconds: 2.5, EndSeconds: 2.5},
		}}
}

func TestGoldMatch(t *testing.T) {
	for _, c := range []struct {
		pred, gold string
		want       float64
	}{
		{"The square is red.", "red", 1},
		{"RED", "red", 1},
		{"It is red or maybe blue.", "red", 0.5}, // hedge
		{"The square is blue.", "red", 0},
		{"I cannot tell.", "red", 0},
		{"The red square appears first.", "the red square", 1},
		{"The red circle.", "the red square", 0.5}, // colour right, shape wrong
		{"Squares!", "the red square", 0.5},        // plural folded; colour missing
		{"The red square moved leftwards.", "the red square moves left", 1},
		{"The red square moves right.", "the red square moves left", 0.75},
		{"Yes, it moves.", "yes", 1},
		{"No.", "yes", 0},
		{"There are 2 shapes.", "two", 1},
		{"", "", 0},
	} {
		if got, why := goldMatch(c.pred, c.gold); got != c.want {
			t.Errorf("goldMatch(%q, %q) = %v (%s), want %v", c.pred, c.gold, got, why, c.want)
		}
	}
}

func TestScoreGeneric(t *testing.T) {
	tr := handTruth()
	colour := schemas.QAItem{Category: "generic", Kind: "color", Question: "What colour is the square?", Answer: "The square is red.", Gold: "red"}
	describe := schemas.QAItem{Category: "generic", Kind: "describe", Question: "Describe the video in detail.",
		Answer: "The video shows two shapes on a gray background. A large red square moves left and stops. A small blue circle appears and disappears."}
	for _, c := range []struct {
		name                  string
		item                  schemas.QAItem
		pred                  string
		correct, detail, ctxt int
	}{
		// colour question: reference words {square, red}
		{"right and complete", colour, "The square is red.", 5, 5, 5},
		{"right, terse", colour, "red", 5, 3, 5},                              // detail: 1 of 2 reference words
		{"wrong colour of this clip", colour, "The square is blue.", 0, 3, 5}, // blue is in the clip: context stays 5
		{"colour not in the clip", colour, "The square is green.", 0, 3, 3},   // green is false of the clip: 1 of 2 true
		{"silent", colour, "I do not know.", 0, 0, 0},
		// describe: reference scene words {gray, large, red, square, move, left, stop, small, blue, circle, appear, disappear} + two
		{"full description", describe, "Two shapes on a gray background: a large red square moves left and stops; a small blue circle appears then disappears.", 5, 5, 5},
		{"half a description", describe, "A red square moves left.", 5, 2, 5},      // 4 of 13 reference words → 1.5 → 2
		{"hallucinated", describe, "A green triangle moves up.", 1, 0, 1},          // 1 (move) of 4 in the reference; context: move true, green/triangle/up not
		{"mixed", describe, "A red square and a yellow star move right.", 3, 1, 3}, // precision 3 of 5 (yellow, right not in it) → 3; recall 3 of 13 → 1.15 → 1
	} {
		c1, d, x := ScoreGeneric(tr, c.item, c.pred)
		if c1.Score != c.correct || d.Score != c.detail || x.Score != c.ctxt {
			t.Errorf("%s: correctness %d (%s), detail %d (%s), context %d (%s); want %d, %d, %d",
				c.name, c1.Score, c1.Reason, d.Score, d.Reason, x.Score, x.Reason, c.correct, c.detail, c.ctxt)
		}
	}
}

func TestScoreTemporal(t *testing.T) {
	first := schemas.QAItem{Category: "temporal", Kind: "first", Gold: "the red square"}
	after := schemas.QAItem{Category: "temporal", Kind: "after", Gold: "the red square stops"}
	for _, c := range []struct {
		item schemas.QAItem
		pred string
		want int
	}{
		{first, "The red square appears first.", 5},
		{first, "The blue circle appears first.", 0},
		{first, "The red one.", 3},                          // colour only: ½ → 2.5 → 3
		{first, "The red square, then the blue circle.", 3}, // both named: a hedge in each class
		{after, "Then the red square stops.", 5},
		{after, "The red square disappears.", 3}, // 2 of 3 classes
		{after, "The blue circle appears.", 0},
	} {
		if j := ScoreTemporal(c.item, c.pred); j.Score != c.want {
			t.Errorf("temporal %q on %q: %d (%s), want %d", c.pred, c.item.Gold, j.Score, j.Reason, c.want)
		}
	}
}

func TestScoreConsistency(t *testing.T) {
	a := schemas.QAItem{Category: "consistency", Kind: "count", Question: "How many objects appear in the video?", Gold: "two", PairID: "p"}
	b := schemas.QAItem{Category: "consistency", Kind: "count", Question: "How many shapes can be seen in the video?", Gold: "two", PairID: "p"}
	for _, c := range []struct {
		p1, p2 string
		want   int
	}{
		{"There are two objects.", "Two shapes can be seen.", 5},
		{"There are three objects.", "Three shapes.", 0}, // consistent but wrong
		{"There are two objects.", "Three shapes.", 0},   // inconsistent: min(1, 0)/2
		{"Two or three.", "Two or three.", 3},            // consistent hedges: ½ → 2.5 → 3
		{"Two.", "Two or three.", 1},                     // inconsistent: min(1, ½)/2 = ¼ → 1.25 → 1
	} {
		if j := ScoreConsistency(a, b, c.p1, c.p2); j.Score != c.want {
			t.Errorf("consistency %q / %q: %d (%s), want %d", c.p1, c.p2, j.Score, j.Reason, c.want)
		}
	}
}

func TestScoreQA(t *testing.T) {
	for _, c := range []struct {
		gold, pred string
		correct    bool
		score      int
	}{
		{"yes", "Yes, it moves.", true, 5},
		{"yes", "No, it stays still.", false, 0},
		{"yes", "Yes and no.", false, 3},
		{"gray", "The background is grey.", true, 5},
		{"two", "2", true, 5},
		{"two", "There are three.", false, 0},
	} {
		j := ScoreQA(schemas.QAItem{Category: "qa", Gold: c.gold}, c.pred)
		if j.Correct != c.correct || j.Score != c.score {
			t.Errorf("qa %q vs %q: correct %v score %d (%s), want %v %d", c.pred, c.gold, j.Correct, j.Score, j.Reason, c.correct, c.score)
		}
	}
}
