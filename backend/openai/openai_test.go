package openai_test

import (
	"context"
	"errors"
	"math"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/backend/builtin"
	"github.com/vrlaif/vrlaif/backend/openai"
)

// served starts a real HTTP server (vrlaif serve's handler) over the built-in model and returns
// the built-in backend and an openai client pointed at the server.
func served(t *testing.T, opts openai.ServerOptions, cfg backend.Config) (*builtin.Builtin, backend.Backend, string) {
	t.Helper()
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(openai.Handler(b, opts))
	t.Cleanup(srv.Close)
	cfg.Name, cfg.URL = "openai", srv.URL+"/v1"
	c, err := backend.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return b, c, srv.URL
}

func TestConformanceAgainstServe(t *testing.T) {
	_, c, _ := served(t, openai.ServerOptions{}, backend.Config{})
	if got := c.Info().Model; got != "tiny" {
		t.Errorf("model id from /v1/models: %q, want tiny", got)
	}
	backendtest.Run(t, c)
}

// The openai backend through vrlaif serve gives what the built-in backend gives in-process, bit
// for bit: same seed, same text, tokens, log-probabilities and top lists (float32 values travel
// as shortest-round-trip float64 JSON numbers, which is exact).
func TestOpenAIThroughServeEqualsBuiltin(t *testing.T) {
	b, c, _ := served(t, openai.ServerOptions{MaxTopLogProbs: 400}, backend.Config{ScoreTopN: 400})
	ctx := context.Background()
	frames := backendtest.Frames(t, 7)
	for _, seed := range []int64{1, 2, 99} {
		r := backendtest.Question(frames, 4, seed)
		direct, err := b.Chat(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		remote, err := c.Chat(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(direct.Choices, remote.Choices) || direct.Usage != remote.Usage {
			t.Errorf("seed %d:\nbuiltin %+v %+v\nopenai  %+v %+v", seed, direct.Choices, direct.Usage, remote.Choices, remote.Usage)
		}
	}
	// Scoring: the server reads the first reply token's top list from the cached decoding path,
	// the built-in backend runs one teacher-forced pass; they agree to 1e-4 (the tolerance the
	// model's own KV-cache test derives for these two float32 paths).
	sr := &backend.ScoreRequest{Messages: []backend.Message{backend.VideoMessage(frames, "Which response is better? Answer A or B.")},
		Continuations: []string{"A", "B"}}
	want, err := b.Score(ctx, sr)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Score(ctx, sr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.LogProbs {
		if !got.Exact[i] || math.Abs(got.LogProbs[i]-want.LogProbs[i]) > 1e-4 {
			t.Errorf("score %q: openai %v (exact %v), builtin %v", sr.Continuations[i], got.LogProbs[i], got.Exact[i], want.LogProbs[i])
		}
	}
}

// A prompt longer than the served model's context comes back through the client as a
// context-length error with the server's sizes (vrlaif serve answers in vLLM's words).
func TestContextLengthThroughServe(t *testing.T) {
	b, c, _ := served(t, openai.ServerOptions{}, backend.Config{})
	r := &backend.ChatRequest{Messages: []backend.Message{{Role: backend.RoleUser,
		Parts: []backend.Part{{Text: strings.Repeat("red ", 5000)}}}}, N: 1, MaxTokens: 2}
	_, direct := b.Chat(context.Background(), r)
	_, remote := c.Chat(context.Background(), r)
	var want, got *backend.ContextLengthError
	if !errors.As(direct, &want) || !errors.As(remote, &got) {
		t.Fatalf("builtin: %v; openai: %v; want context-length errors", direct, remote)
	}
	if got.Need != want.Need || got.Limit != want.Limit || backend.Retryable(remote) {
		t.Errorf("through serve: %+v, in-process: %+v (retryable %v)", got, want, backend.Retryable(remote))
	}
}
