package judge

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/backend/builtin"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
)

func TestShortenContext(t *testing.T) {
	text := "Clip 1: a red square moves left.\nClip 2: the blue circle grows."
	// Unknown sizes: each line keeps half its characters, cut back to a space.
	if got, want := shortenContext(text, 0, &backend.ContextLengthError{}), "Clip 1: a red\nClip 2: the"; got != want {
		t.Errorf("halved: %q, want %q", got, want)
	}
	// 500 characters over 100 positions: 5 a position; 2 positions over → 1.1·2·5 + 1 = 12
	// characters to drop of 63, a share of 51/63 per line: 25 of 32 and 24 of 30, back to a space.
	got := shortenContext(text, 500, &backend.ContextLengthError{Need: 100, Limit: 98})
	if want := "Clip 1: a red square\nClip 2: the blue circle"; got != want {
		t.Errorf("by the sizes: %q, want %q", got, want)
	}
	// A line with nothing left at a space, or only its label, is dropped; multi-byte text is cut
	// by characters: 26 of 53 kept, a share of 0.49: 11 of the last line's 23 ("Clip 2: üb ").
	if got := shortenContext("Clip 1: über\nZZZZZZZZZZZZZZZZ\nClip 2: üb über über üb", 0, &backend.ContextLengthError{}); got != "Clip 2: üb" {
		t.Errorf("%q", got)
	}
	if got := shortenContext("", 10, &backend.ContextLengthError{Need: 9, Limit: 8}); got != "" {
		t.Errorf("empty: %q", got)
	}
	// Always shorter, however small the cut asked for (here one character).
	for _, s := range []string{"a b", "Clip 1: a b c d e f g h", "x\n\ny z", "\n"} {
		if got := shortenContext(s, 1, &backend.ContextLengthError{Need: 1001, Limit: 1000}); len(got) >= len(s) {
			t.Errorf("%q → %q: not shorter", s, got)
		}
	}
}

// A narrative too long for the judge's 512 positions is shortened until both orders fit: the row
// keeps what the judge saw (every clip's caption from its start) and how much it did not; the
// verdicts are the ones for that shortened prompt. A pair whose answers alone overflow stays a
// dead letter that says so.
func TestJudgeShortensLongNarrative(t *testing.T) {
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	frames := backendtest.Frames(t, 6)
	var lines []string
	for i := 1; i <= 3; i++ {
		lines = append(lines, "Clip "+string(rune('0'+i))+": "+strings.Repeat("the red square moves left and the blue circle grows. ", 12))
	}
	narrative := strings.Join(lines, "\n")
	pr := Pair{ClipID: "c", QuestionID: "q", Question: "What color is the square?", Frames: frames, Context: narrative,
		R1: schemas.Response{ID: "r1", Text: "Red."}, R2: schemas.Response{ID: "r2", Text: "Blue."}}
	ask := func(ctxText, a, b2 string) (*backend.ScoreResponse, error) {
		text := prompts.MustRender(prompts.Judge, prompts.Fields{Context: ctxText, Question: pr.Question, A: a, B: b2})
		return b.Score(context.Background(), &backend.ScoreRequest{Messages: []backend.Message{backend.VideoMessage(frames, text)}, Continuations: []string{"A", "B"}})
	}
	if _, err := ask(narrative, "Red.", "Blue."); !errors.Is(err, backend.ErrContextLength) {
		t.Fatalf("the whole narrative fits (%v): the test needs a longer one", err)
	}
	p, err := Judge(context.Background(), b, pr, Params{}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if p.ContextDropped <= 0 || int(p.ContextDropped)+len(p.Context) != len(narrative) || p.Context == "" {
		t.Fatalf("context %d characters, %d dropped, of %d", len(p.Context), p.ContextDropped, len(narrative))
	}
	t.Logf("narrative of %d characters: %d kept, %d dropped", len(narrative), len(p.Context), p.ContextDropped)
	kept := strings.Split(p.Context, "\n")
	if len(kept) != 3 {
		t.Errorf("%d of 3 clips kept: %q", len(kept), p.Context)
	}
	for i, k := range kept {
		if !strings.HasPrefix(lines[i], k) {
			t.Errorf("clip %d: %q is not the start of its caption", i+1, k)
		}
	}
	sr, err := ask(p.Context, "Red.", "Blue.")
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 / (1 + math.Exp(sr.LogProbs[1]-sr.LogProbs[0])); p.Forward.ProbA != want {
		t.Errorf("forward p(A) %v, want %v from the shortened prompt", p.Forward.ProbA, want)
	}
	if Summarize([]schemas.Preference{p, {}}, 0).ContextShortened != 1 {
		t.Error("Summarize does not count the shortened context")
	}

	long := pr
	long.R1.Text = strings.Repeat("red ", 600)
	_, err = Judge(context.Background(), b, long, Params{}.WithDefaults())
	if !errors.Is(err, backend.ErrContextLength) || !strings.Contains(err.Error(), "narrative shortened") {
		t.Errorf("answers longer than the context: %v", err)
	}
}
