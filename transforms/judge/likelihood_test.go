package judge

import (
	"context"
	"errors"
	"math"
	"net/http/httptest"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/backend/builtin"
	"github.com/vrlaif/vrlaif/backend/openai"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
)

// The likelihood judge scores each answer as the reply to the question with (or without) the
// narrative, and p(A) is σ of the difference of their mean log-probabilities per token, recomputed
// here from the backend's own scores (1e-12: the same float64 arithmetic on the same numbers).
func TestLikelihoodJudgeWithBuiltin(t *testing.T) {
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	frames := backendtest.Frames(t, 6)
	pr := Pair{ClipID: "c", QuestionID: "q", Question: "What color is the square?", Frames: frames, Context: "Clip 1: a red square.",
		R1: schemas.Response{ID: "r1", Text: "The square is red."}, R2: schemas.Response{ID: "r2", Text: "Blue."}}
	seen := map[float64]bool{}
	for _, tmpl := range []string{prompts.JudgeLikelihood, prompts.JudgeLikelihoodNoContext} {
		p, err := Judge(context.Background(), b, pr, Params{Method: JudgeLikelihood, Template: tmpl, Decision: DecideAgree}.WithDefaults())
		if err != nil {
			t.Fatal(err)
		}
		if p.Forward.Method != MethodLikelihood || p.Judge.Template != tmpl || (tmpl == prompts.JudgeLikelihood) != (p.Context != "") {
			t.Errorf("%s: %+v", tmpl, p)
		}
		text := prompts.MustRender(tmpl, prompts.Fields{Context: p.Context, Question: pr.Question})
		sr, err := b.Score(context.Background(), &backend.ScoreRequest{Messages: []backend.Message{backend.VideoMessage(frames, text)},
			Continuations: []string{pr.R1.Text, pr.R2.Text}})
		if err != nil {
			t.Fatal(err)
		}
		if sr.Tokens[0] < 2 || sr.Tokens[0] == sr.Tokens[1] {
			t.Fatalf("the answers should differ in length to test the mean per token: %v tokens", sr.Tokens)
		}
		m1, m2 := sr.LogProbs[0]/float64(sr.Tokens[0]), sr.LogProbs[1]/float64(sr.Tokens[1])
		want := 1 / (1 + math.Exp(m2-m1))
		if math.Abs(p.Forward.ProbA-want) > 1e-12 || math.Abs(p.Swapped.ProbA-(1-want)) > 1e-12 {
			t.Errorf("%s: p(A) %v / swapped %v, want %v / %v", tmpl, p.Forward.ProbA, p.Swapped.ProbA, want, 1-want)
		}
		// the answers have no order: both verdicts name the same answer, so the pair is labeled
		if !p.Labeled || p.Reason != "" || p.Chosen != map[bool]int32{true: 1, false: 2}[want > 0.5] {
			t.Errorf("%s: labeled %v, chosen %d, reason %q for p(output_1) %v", tmpl, p.Labeled, p.Chosen, p.Reason, want)
		}
		seen[want] = true
	}
	if len(seen) != 2 {
		t.Error("the narrative did not change the scores")
	}
}

// A template of the other method is refused before anything is asked.
func TestJudgeParamsValidate(t *testing.T) {
	for _, c := range []struct {
		p  Params
		ok bool
	}{
		{Params{}.WithDefaults(), true},
		{Params{Method: JudgeLikelihood}.WithDefaults(), true},
		{Params{Method: JudgeLikelihood, Template: prompts.JudgeLikelihoodNoContext}, true},
		{Params{Method: JudgeVerdict, Template: prompts.JudgeNoContext}, true},
		{Params{Method: JudgeLikelihood, Template: prompts.Judge}, false},
		{Params{Template: prompts.JudgeLikelihood}, false},
		{Params{Method: "vote", Template: prompts.Judge}, false},
	} {
		if err := c.p.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.p, err)
		}
	}
	if p := (Params{Method: JudgeLikelihood}).WithDefaults(); p.Template != prompts.JudgeLikelihood || !p.WithContext() {
		t.Errorf("likelihood defaults: %+v", p)
	}
	if (Params{Method: JudgeLikelihood, Template: prompts.JudgeLikelihoodNoContext}).WithContext() {
		t.Error("the no-context likelihood template shows the narrative")
	}
	for tmpl, want := range map[string]string{prompts.Judge: JudgeVerdict, prompts.JudgeNoContext: JudgeVerdict,
		prompts.JudgeLikelihood: JudgeLikelihood, prompts.JudgeLikelihoodNoContext: JudgeLikelihood, prompts.Narrative: ""} {
		if got := MethodOf(tmpl); got != want {
			t.Errorf("MethodOf(%s) = %q, want %q", tmpl, got, want)
		}
	}
}

// An OpenAI-compatible server gives log-probabilities of the reply's first token only: the
// likelihood judge refuses it once, up front, with a clear error (the built-in model passes).
// The server is vrlaif's own (the built-in model behind a real HTTP server), read by the real client.
func TestCheckWholeReplies(t *testing.T) {
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckWholeReplies(context.Background(), b); err != nil {
		t.Errorf("built-in: %v", err)
	}
	srv := httptest.NewServer(openai.Handler(b, openai.ServerOptions{}))
	defer srv.Close()
	c, err := backend.Open(context.Background(), backend.Config{Name: "openai", URL: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := CheckWholeReplies(context.Background(), c); !errors.Is(err, ErrWholeReplies) {
		t.Errorf("openai: %v, want ErrWholeReplies", err)
	}
}
