package eval

import (
	"testing"

	"github.com/vrlaif/vrlaif/schemas"
)

// A model that scores one point more on every question differs by exactly +1 with a zero-width
// interval; a model equal on average but noisy gets an interval around 0; the mean row averages the
// five axes.
func TestCompare(t *testing.T) {
	var rows []schemas.EvalScore
	for _, axis := range Axes {
		for i := range 40 {
			q := string(rune('a'+i%26)) + string(rune('a'+i/26))
			rows = append(rows,
				schemas.EvalScore{Model: "base", Axis: axis, QuestionID: q, Score: 2},
				schemas.EvalScore{Model: "better", Axis: axis, QuestionID: q, Score: 3},
				schemas.EvalScore{Model: "noisy", Axis: axis, QuestionID: q, Score: int32(1 + 2*(i%2))})
		}
	}
	rows = append(rows, schemas.EvalScore{Model: "better", Axis: AxisDetail, QuestionID: "only-here", Score: 5}) // not paired: ignored
	cs := Compare(rows, []string{"base", "better", "noisy"})
	got := map[string]Comparison{}
	for _, c := range cs {
		got[c.Model+"/"+c.Axis] = c
	}
	for _, a := range append(append([]string{}, Axes...), "mean") {
		c := got["better/"+a]
		if c.Delta != 1 || c.Low != 1 || c.High != 1 {
			t.Errorf("better on %s: %+v", a, c)
		}
		n := got["noisy/"+a]
		if n.Delta != 0 || n.Low >= 0 || n.High <= 0 || n.Low < -1 || n.High > 1 {
			t.Errorf("noisy on %s: %+v (want an interval around 0)", a, n)
		}
	}
	if got["better/detail"].N != 40 || got["better/mean"].N != 200 {
		t.Errorf("pairs: %+v", got["better/detail"])
	}
	if again := Compare(rows, []string{"base", "better", "noisy"}); again[len(again)-1] != cs[len(cs)-1] {
		t.Error("the bootstrap is not deterministic")
	}
}
