package backendtest

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
)

// Question is the conformance suite's standard request: a video and a question.
func Question(frames [][]byte, n int, seed int64) *backend.ChatRequest {
	return &backend.ChatRequest{
		Messages: []backend.Message{backend.VideoMessage(frames, "What color is the square?")},
		N:        n, Temperature: 0.9, TopP: 0.95, MaxTokens: 12, Seed: seed, LogProbs: true, TopLogProbs: 3,
		Template: "conformance-v1",
	}
}

// Run is the conformance suite: every backend passes it. b must serve the Checkpoint model (or any
// model whose vocabulary includes the letters A and B).
func Run(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	frames := Frames(t, 5)
	t.Run("Deterministic", func(t *testing.T) {
		r1, err := b.Chat(ctx, Question(frames, 3, 11))
		if err != nil {
			t.Fatal(err)
		}
		r2, err := b.Chat(ctx, Question(frames, 3, 11))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r1.Choices, r2.Choices) {
			t.Errorf("same request and seed gave different choices:\n%+v\n%+v", r1.Choices, r2.Choices)
		}
	})
	t.Run("SampleIndependentOfN", func(t *testing.T) {
		three, err := b.Chat(ctx, Question(frames, 3, 5))
		if err != nil {
			t.Fatal(err)
		}
		one, err := b.Chat(ctx, Question(frames, 1, 5))
		if err != nil {
			t.Fatal(err)
		}
		if len(three.Choices) != 3 || len(one.Choices) != 1 {
			t.Fatalf("got %d and %d choices, want 3 and 1", len(three.Choices), len(one.Choices))
		}
		if !reflect.DeepEqual(three.Choices[0], one.Choices[0]) {
			t.Errorf("sample 0 depends on n:\n%+v\n%+v", three.Choices[0], one.Choices[0])
		}
		if reflect.DeepEqual(three.Choices[0].Tokens, three.Choices[1].Tokens) && reflect.DeepEqual(three.Choices[1].Tokens, three.Choices[2].Tokens) {
			t.Errorf("three samples at temperature 0.9 are identical: %q", three.Choices[0].Text)
		}
	})
	t.Run("LogProbs", func(t *testing.T) {
		r := Question(frames, 2, 3)
		r.Temperature = 0 // greedy: the chosen token is the first of the top list
		resp, err := b.Chat(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for i, ch := range resp.Choices {
			if len(ch.Tokens) == 0 || len(ch.Tokens) != len(ch.LogProbs) || len(ch.Top) != len(ch.Tokens) {
				t.Fatalf("choice %d: %d tokens, %d logprobs, %d top lists", i, len(ch.Tokens), len(ch.LogProbs), len(ch.Top))
			}
			if len(ch.Tokens) > r.MaxTokens {
				t.Errorf("choice %d: %d tokens > max_tokens %d", i, len(ch.Tokens), r.MaxTokens)
			}
			if ch.FinishReason != backend.FinishStop && ch.FinishReason != backend.FinishLength {
				t.Errorf("choice %d: finish reason %q", i, ch.FinishReason)
			}
			for j, lp := range ch.LogProbs {
				top := ch.Top[j]
				if lp > 0 || len(top) != 3 || top[0].Token != ch.Tokens[j] || top[0].LogProb != lp {
					t.Errorf("choice %d token %d: %q at %v, top %+v", i, j, ch.Tokens[j], lp, top)
				}
			}
			total += len(ch.Tokens)
		}
		if !reflect.DeepEqual(resp.Choices[0], resp.Choices[1]) {
			t.Errorf("greedy samples differ")
		}
		if resp.Usage.PromptTokens <= 0 || resp.Usage.CompletionTokens != total {
			t.Errorf("usage %+v, want prompt > 0 and completion %d", resp.Usage, total)
		}
	})
	t.Run("Stop", func(t *testing.T) {
		r := Question(frames, 1, 9)
		r.Temperature = 0
		free, err := b.Chat(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		text := free.Choices[0].Text
		stop := ""
		for i := len(text) / 2; i < len(text) && stop == ""; i++ {
			if c := text[i]; c > ' ' && c < 0x7f { // an ASCII character past the middle
				stop = text[i : i+1]
			}
		}
		if stop == "" {
			t.Fatalf("greedy reply %q has no ASCII character past its middle to stop at", text)
		}
		r.Stop = []string{stop}
		cut, err := b.Chat(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSpace(text[:strings.Index(text, stop)])
		if got := cut.Choices[0].Text; got != want || cut.Choices[0].FinishReason != backend.FinishStop {
			t.Errorf("stop %q: got %q (%s), want %q", stop, got, cut.Choices[0].FinishReason, want)
		}
	})
	t.Run("Score", func(t *testing.T) {
		resp, err := b.Score(ctx, &backend.ScoreRequest{
			Messages:      []backend.Message{backend.VideoMessage(frames, "Which response is better? Answer A or B.")},
			Continuations: []string{"A", "B"}, Template: "conformance-v1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.LogProbs) != 2 || len(resp.Exact) != 2 {
			t.Fatalf("got %+v", resp)
		}
		if mass := math.Exp(resp.LogProbs[0]) + math.Exp(resp.LogProbs[1]); mass > 1+1e-5 || resp.LogProbs[0] == resp.LogProbs[1] {
			t.Errorf("log p(A), log p(B) = %v: mass %v", resp.LogProbs, mass)
		}
	})
	t.Run("BadRequests", func(t *testing.T) {
		twoVideos := Question(frames, 1, 1)
		twoVideos.Messages = append(twoVideos.Messages, backend.TextMessage(backend.RoleAssistant, "Red."), backend.VideoMessage(frames, "And now?"))
		negative := Question(frames, 1, 1)
		negative.N = -1
		assistantLast := Question(frames, 1, 1)
		assistantLast.Messages = append(assistantLast.Messages, backend.TextMessage(backend.RoleAssistant, "Red."))
		for name, r := range map[string]*backend.ChatRequest{"two videos": twoVideos, "negative n": negative, "assistant last": assistantLast} {
			_, err := b.Chat(ctx, r)
			if err == nil || backend.Retryable(err) || !(errors.Is(err, backend.ErrBadRequest) || errors.Is(err, backend.ErrUnsupported)) {
				t.Errorf("%s: got %v, want a bad-request error that is not retryable", name, err)
			}
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		want, err := b.Chat(ctx, Question(frames, 2, 21))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for range 6 {
			wg.Go(func() {
				got, err := b.Chat(ctx, Question(frames, 2, 21))
				if err == nil && !reflect.DeepEqual(got.Choices, want.Choices) {
					err = errors.New("concurrent call gave different choices")
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}
