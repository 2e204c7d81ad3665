package judge

import (
	"context"
	"math"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/backend/builtin"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
)

func TestDecide(t *testing.T) {
	v := func(l string, pa float64) schemas.Verdict { return schemas.Verdict{Letter: l, ProbA: pa} }
	for _, c := range []struct {
		name     string
		f, s     schemas.Verdict
		labeled  bool
		chosen   int32
		reason   string
		probOut1 float64
	}{
		{"both pick output_1", v("A", 0.8), v("B", 0.3), true, 1, "", 0.75},
		{"both pick output_2", v("B", 0.1), v("A", 0.9), true, 2, "", 0.1},
		{"position bias: always A", v("A", 0.7), v("A", 0.6), false, 0, ReasonDisagree, 0.55},
		{"unreadable", v("", 0.5), v("A", 0.9), false, 0, ReasonUnreadable, 0.3},
		{"tie", v("A", 0.5), v("B", 0.2), false, 0, ReasonTie, 0.65},
	} {
		p := schemas.Preference{Forward: c.f, Swapped: c.s}
		Decide(&p, DecideAgree)
		if p.Labeled != c.labeled || p.Chosen != c.chosen || p.Reason != c.reason || math.Abs(p.ProbOutput1-c.probOut1) > 1e-12 {
			t.Errorf("%s: labeled %v chosen %d reason %q p1 %v", c.name, p.Labeled, p.Chosen, p.Reason, p.ProbOutput1)
		}
	}
}

// Averaging cancels a constant position bias: a judge that prefers A by 0.2 in both orders still
// labels the pair by the content difference it sees.
func TestDecideAverage(t *testing.T) {
	v := func(l string, pa float64) schemas.Verdict { return schemas.Verdict{Letter: l, ProbA: pa} }
	// forward p(A = output_1) = 0.75; swapped p(A = output_2) = 0.65 → p(output_1) = 0.35; mean 0.55.
	p := schemas.Preference{Forward: v("A", 0.75), Swapped: v("A", 0.65)}
	Decide(&p, DecideAverage)
	if !p.Labeled || p.Chosen != 1 || p.Reason != ReasonDisagree || math.Abs(p.ProbOutput1-0.55) > 1e-12 {
		t.Errorf("%+v", p)
	}
	q := schemas.Preference{Forward: v("A", 0.6), Swapped: v("A", 0.7)} // mean 0.45 → output_2
	Decide(&q, DecideAverage)
	if !q.Labeled || q.Chosen != 2 {
		t.Errorf("%+v", q)
	}
	u := schemas.Preference{Forward: v("", 0.5), Swapped: v("A", 0.7)}
	if Decide(&u, DecideAverage); u.Labeled {
		t.Errorf("an unreadable verdict was labeled: %+v", u)
	}
}

func TestMakePairs(t *testing.T) {
	r := func(id, video, q string, sample int32, text string) schemas.Response {
		return schemas.Response{ID: id, VideoID: video, QuestionID: q, Question: "Q" + q, Sample: sample, Text: text}
	}
	// Two records (v1, v2) share the clip, as the seed's RL_data.json records of one video do; v2
	// asks a question with v1's question id, whose answers must not be paired with v1's.
	rs := []schemas.Response{r("a", "v1", "1", 0, "Red."), r("b", "v1", "1", 1, " red. "), r("c", "v1", "2", 1, "Blue"),
		r("d", "v1", "2", 0, "Green"), r("e", "v1", "2", 2, "Blue"), r("f", "v2", "2", 0, "Pink"), r("g", "v2", "2", 1, "Teal")}
	pairs, identical := MakePairs(schemas.Clip{ID: "clip"}, "ctx", rs)
	// v1 question 1: a,b identical (case and spaces); v1 question 2: d-c, d-e differ, c-e
	// identical; v2 question 2: f-g.
	if identical != 2 || len(pairs) != 3 {
		t.Fatalf("%d pairs, %d identical; want 3 and 2", len(pairs), identical)
	}
	for _, p := range pairs {
		ids := map[string]bool{p.R1.ID: true, p.R2.ID: true}
		want := "v1"
		if ids["f"] {
			want = "v2"
		}
		if p.QuestionID != "2" || !(ids["d"] || ids["f"] && ids["g"]) || p.Context != "ctx" || p.ClipID != "clip" || p.VideoID != want ||
			p.R1.VideoID != want || p.R2.VideoID != want {
			t.Errorf("pair %+v", p)
		}
	}
}

func TestSummarize(t *testing.T) {
	pref := func(labeled bool, chosen int32, reason, fl, sl string) schemas.Preference {
		return schemas.Preference{Labeled: labeled, Chosen: chosen, Reason: reason,
			Forward: schemas.Verdict{Letter: fl, Method: MethodLogProbs}, Swapped: schemas.Verdict{Letter: sl, Method: MethodParsed}}
	}
	s := Summarize([]schemas.Preference{
		pref(true, 1, "", "A", "B"), pref(true, 2, "", "B", "A"), pref(true, 1, "", "A", "B"),
		pref(false, 0, ReasonDisagree, "A", "A"), pref(false, 0, ReasonUnreadable, "", "B"),
	}, 3)
	want := Stats{Pairs: 5, Labeled: 3, Disagree: 1, Unreadable: 1, FlipRate: 0.25, Agreement: 0.75,
		LabelBalance: 2.0 / 3, PreferA: 5.0 / 9, LogProbShare: 0.5, Identical: 3}
	if s != want {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
}

// A judge that gives log-probabilities is read from them; both orders are asked, and the row
// records the template, the context and the judge.
func TestJudgeWithBuiltin(t *testing.T) {
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	frames := backendtest.Frames(t, 6)
	pr := Pair{ClipID: "c", QuestionID: "q", Question: "What color is the square?", Frames: frames, Context: "Clip 1: a red square.",
		R1: schemas.Response{ID: "r1", Text: "Red."}, R2: schemas.Response{ID: "r2", Text: "Blue."}}
	for _, tmpl := range []string{prompts.Judge, prompts.JudgeNoContext} {
		p, err := Judge(context.Background(), b, pr, Params{Template: tmpl}.WithDefaults())
		if err != nil {
			t.Fatal(err)
		}
		if p.Forward.Method != MethodLogProbs || p.Swapped.Method != MethodLogProbs || p.Judge.Template != tmpl || p.Judge.Backend != "builtin" {
			t.Errorf("%s: %+v", tmpl, p)
		}
		if (tmpl == prompts.Judge) != (p.Context != "") {
			t.Errorf("%s: context %q", tmpl, p.Context)
		}
		// p(A) in each order comes from the same two scores the backend gives for that prompt.
		text := prompts.MustRender(tmpl, prompts.Fields{Context: p.Context, Question: pr.Question, A: "Red.", B: "Blue."})
		sr, _ := b.Score(context.Background(), &backend.ScoreRequest{Messages: []backend.Message{backend.VideoMessage(frames, text)}, Continuations: []string{"A", "B"}})
		if want := 1 / (1 + math.Exp(sr.LogProbs[1]-sr.LogProbs[0])); math.Abs(p.Forward.ProbA-want) > 1e-12 {
			t.Errorf("%s: forward p(A) %v, want %v", tmpl, p.Forward.ProbA, want)
		}
	}
}

// Under the average rule a pair can be labeled although its orders disagree: it counts in both.
func TestSummarizeAverageRule(t *testing.T) {
	s := Summarize([]schemas.Preference{{Labeled: true, Chosen: 2, Reason: ReasonDisagree}, {Labeled: true, Chosen: 1}}, 0)
	if s.Labeled != 2 || s.Disagree != 1 || s.FlipRate != 0.5 || s.LabelBalance != 0.5 {
		t.Errorf("%+v", s)
	}
}
