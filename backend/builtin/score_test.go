package builtin

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
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
	if !slices.Equal(resp.Tokens, []int{1, 1}) {
		t.Errorf("one-token continuations counted %v tokens", resp.Tokens)
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
	if n1 < 2 || long.LogProbs[0] != backend.LogAddExp(l1, l2) || long.Usage.CompletionTokens != n1+n2 || !slices.Equal(long.Tokens, []int{n1}) {
		t.Errorf("multi-token: %v (%d+%d tokens), want %v", long.LogProbs[0], n1, n2, backend.LogAddExp(l1, l2))
	}
}

// A prompt too long for the model's positions is an ErrContextLength (and ErrBadRequest) that
// says by how much, for Score and Chat; the longest prompt that fits is scored.
func TestContextLength(t *testing.T) {
	b, err := Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	limit := b.m.Config.MaxPositionEmbeddings
	conts := []string{"A", "B"}
	frames := backendtest.Frames(t, 3)
	msgs := func(words int) []backend.Message {
		return []backend.Message{backend.VideoMessage(frames, strings.Repeat("red ", words)+"A or B?")}
	}
	need := func(words int) int {
		pr, err := b.prompt(msgs(words))
		if err != nil {
			t.Fatal(err)
		}
		return len(pr.Tokens) + b.longestVariant(conts)
	}
	fits := 0 // the most words that fit
	for need(fits+1) <= limit {
		fits++
	}
	if _, err := b.Score(context.Background(), &backend.ScoreRequest{Messages: msgs(fits), Continuations: conts}); err != nil {
		t.Fatalf("%d positions of %d: %v", need(fits), limit, err)
	}
	_, err = b.Score(context.Background(), &backend.ScoreRequest{Messages: msgs(fits + 1), Continuations: conts})
	var cl *backend.ContextLengthError
	if !errors.Is(err, backend.ErrContextLength) || !errors.Is(err, backend.ErrBadRequest) || !errors.As(err, &cl) {
		t.Fatalf("score, %d positions of %d: %v, want a context-length error", need(fits+1), limit, err)
	}
	if cl.Need != need(fits+1) || cl.Limit != limit || backend.Kind(err) != "context_length" {
		t.Errorf("score: %+v (kind %s), want need %d limit %d", cl, backend.Kind(err), need(fits+1), limit)
	}
	_, err = b.Chat(context.Background(), &backend.ChatRequest{Messages: msgs(fits + limit), MaxTokens: 4})
	if !errors.As(err, &cl) || cl.Limit != limit || cl.Need <= limit {
		t.Errorf("chat with a prompt past the context: %v", err)
	}
}
