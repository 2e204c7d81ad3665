package builtin

import (
	"context"
	"math"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
)

// The one-pass path for single-token continuations gives what the teacher-forced path gives for
// each variant (1e-5: float64 vs float32 log-softmax of the same logits), and a multi-token
// continuation goes the teacher-forced way.
func TestScorePaths(t *testing.T) {
	b, err := Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	msgs := []backend.Message{backend.VideoMessage(backendtest.Frames(t, 3), "A or B?")}
	pr, err := b.prompt(msgs)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.Score(context.Background(), &backend.ScoreRequest{Messages: msgs, Continuations: []string{"A", "B"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []string{"A", "B"} {
		l1, _, _ := b.score(pr, c)
		l2, _, _ := b.score(pr, " "+c)
		if want := backend.LogAddExp(l1, l2); math.Abs(resp.LogProbs[i]-want) > 1e-5 {
			t.Errorf("%s: one pass %v, teacher-forced %v", c, resp.LogProbs[i], want)
		}
	}
	long, err := b.Score(context.Background(), &backend.ScoreRequest{Messages: msgs, Continuations: []string{"The square is red."}})
	if err != nil {
		t.Fatal(err)
	}
	l1, n1, _ := b.score(pr, "The square is red.")
	l2, n2, _ := b.score(pr, " The square is red.")
	if n1 < 2 || long.LogProbs[0] != backend.LogAddExp(l1, l2) || long.Usage.CompletionTokens != n1+n2 {
		t.Errorf("multi-token: %v (%d+%d tokens), want %v", long.LogProbs[0], n1, n2, backend.LogAddExp(l1, l2))
	}
}
