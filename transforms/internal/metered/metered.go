// Package metered counts a stage's model calls as Beam metrics: calls that reached the model,
// calls answered by the cache, and the tokens paid for (prompt and completion), under the stage's
// namespace.
package metered

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/internal/progress"
)

// Backend is a backend whose calls are counted.
type Backend struct {
	backend.Backend
	stage                          string
	calls, hits, prompt, completed beam.Counter
}

// Wrap counts b's calls under stage.
func Wrap(b backend.Backend, stage string) *Backend {
	return &Backend{Backend: b, stage: stage,
		calls: beam.NewCounter(stage, "model_calls"), hits: beam.NewCounter(stage, "cache_hits"),
		prompt: beam.NewCounter(stage, "prompt_tokens"), completed: beam.NewCounter(stage, "completion_tokens")}
}

func (m *Backend) count(ctx context.Context, cached bool, u backend.Usage) {
	if cached {
		m.hits.Inc(ctx, 1)
		progress.Add(m.stage, "cache_hits", 1)
		return
	}
	m.calls.Inc(ctx, 1)
	m.prompt.Inc(ctx, int64(u.PromptTokens))
	m.completed.Inc(ctx, int64(u.CompletionTokens))
	progress.Add(m.stage, "model_calls", 1)
}

// Chat counts a call as a cache hit when every sample came from the cache.
func (m *Backend) Chat(ctx context.Context, r *backend.ChatRequest) (*backend.ChatResponse, error) {
	resp, err := m.Backend.Chat(ctx, r)
	if err == nil {
		m.count(ctx, resp.Cached == len(resp.Choices), resp.Usage)
	}
	return resp, err
}

// Score counts a call.
func (m *Backend) Score(ctx context.Context, r *backend.ScoreRequest) (*backend.ScoreResponse, error) {
	resp, err := m.Backend.Score(ctx, r)
	if err == nil {
		m.count(ctx, resp.Cached, resp.Usage)
	}
	return resp, err
}
