// Package backend is the one interface every stage uses to reach a model: chat generation about
// a video (frames as images) with n samples and per-token log-probabilities, and scoring (the
// log-probability of given replies, as a judge reads "A" against "B"). Backends register by name
// (builtin, openai) and are opened from a Config, never passed into DoFns as objects.
package backend

import (
	"context"
	"fmt"
	"math"
)

// Roles of a message.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Part is a piece of a message: text, or one image (an encoded JPEG or PNG frame).
type Part struct {
	Text  string `json:"text,omitempty"`
	Image []byte `json:"image,omitempty"`
}

// Message is one turn of a conversation.
type Message struct {
	Role  string `json:"role"`
	Parts []Part `json:"parts"`
}

// TextMessage is a message of text only.
func TextMessage(role, text string) Message {
	return Message{Role: role, Parts: []Part{{Text: text}}}
}

// VideoMessage is a user turn holding a video's frames (in order) followed by text.
func VideoMessage(frames [][]byte, text string) Message {
	m := Message{Role: RoleUser}
	for _, f := range frames {
		m.Parts = append(m.Parts, Part{Image: f})
	}
	m.Parts = append(m.Parts, Part{Text: text})
	return m
}

// ChatRequest asks for N continuations of a conversation.
type ChatRequest struct {
	Messages    []Message `json:"messages"`
	N           int       `json:"n"`           // samples; 0 means 1
	Temperature float64   `json:"temperature"` // 0: greedy
	TopP        float64   `json:"top_p"`       // 0 or 1: off
	TopK        int       `json:"top_k"`       // 0: off (an extension vLLM, SGLang and vrlaif serve accept)
	MaxTokens   int       `json:"max_tokens"`  // new tokens at most; 0: the backend's default
	Stop        []string  `json:"stop,omitempty"`
	Seed        int64     `json:"seed"` // sample i of a request draws from (Seed, i)
	LogProbs    bool      `json:"logprobs"`
	TopLogProbs int       `json:"top_logprobs"`
	// Template names the prompt template and its version ("judge-v1"); it is part of the cache key
	// so that changing a template never reuses answers to the old one.
	Template string `json:"template,omitempty"`
}

// Samples is N with its default.
func (r *ChatRequest) Samples() int { return max(r.N, 1) }

// Validate reports a request no backend can serve.
func (r *ChatRequest) Validate() error {
	switch {
	case len(r.Messages) == 0:
		return BadRequest("no messages")
	case r.N < 0 || r.MaxTokens < 0 || r.TopK < 0 || r.TopLogProbs < 0:
		return BadRequest("n, max_tokens, top_k and top_logprobs must not be negative")
	case !finite(r.Temperature) || !finite(r.TopP):
		return BadRequest(fmt.Sprintf("temperature %v and top_p %v must be finite numbers", r.Temperature, r.TopP))
	case r.Temperature < 0 || r.TopP < 0 || r.TopP > 1:
		return BadRequest(fmt.Sprintf("temperature %v or top_p %v out of range", r.Temperature, r.TopP))
	case r.Seed < 0:
		return BadRequest("seed must not be negative")
	}
	for _, m := range r.Messages {
		if m.Role != RoleSystem && m.Role != RoleUser && m.Role != RoleAssistant {
			return BadRequest(fmt.Sprintf("unknown role %q", m.Role))
		}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// TokenLogProb is one token's text and log-probability.
type TokenLogProb struct {
	Token   string  `json:"token"`
	LogProb float64 `json:"logprob"`
}

// Finish reasons.
const (
	FinishStop   = "stop"   // end of sequence or a stop string
	FinishLength = "length" // MaxTokens reached
)

// Choice is one sample. With LogProbs, Tokens[i] and LogProbs[i] describe each generated token
// (an end-of-sequence token included, so that PPO sees the stop), and Top[i] the most likely
// tokens at that step when TopLogProbs > 0.
type Choice struct {
	Text         string           `json:"text"`
	FinishReason string           `json:"finish_reason"`
	Tokens       []string         `json:"tokens,omitempty"`
	LogProbs     []float64        `json:"logprobs,omitempty"`
	Top          [][]TokenLogProb `json:"top,omitempty"`
}

// Usage counts the tokens of a call.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// ChatResponse holds the choices in sample order. Cached counts choices served from the call
// cache; Usage is then the usage of the call that made them (what the answer cost; a backend's
// Stats count what was actually paid).
type ChatResponse struct {
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   Usage    `json:"usage"`
	Cached  int      `json:"cached,omitempty"`
}

// ScoreRequest asks, for each continuation c, for the log-probability that the assistant's next
// reply starts with c, with or without a leading space: log(p(c) + p(" "+c)). Tokenizers differ on
// whether the first word of a reply carries its space; the sum makes the value mean the same on
// every backend.
type ScoreRequest struct {
	Messages      []Message `json:"messages"`
	Continuations []string  `json:"continuations"`
	Template      string    `json:"template,omitempty"`
}

// ScoreResponse: LogProbs[i] is log p(Continuations[i]). Exact[i] is false where the backend
// could only bound it from above (an OpenAI-compatible server returns the top tokens of the
// first reply position; a continuation not among them gets the smallest listed value). Tokens[i],
// where the backend scores whole continuations, is the number of tokens of Continuations[i] (as
// written, without the leading space), for a mean per token; nil where it does not.
type ScoreResponse struct {
	LogProbs []float64 `json:"logprobs"`
	Exact    []bool    `json:"exact"`
	Tokens   []int     `json:"tokens,omitempty"`
	Usage    Usage     `json:"usage"`
	Cached   bool      `json:"cached,omitempty"`
}

// Info identifies what answers: the backend's name, the model and its revision (all part of the
// call cache's key).
type Info struct {
	Backend  string `json:"backend"`
	Model    string `json:"model"`
	Revision string `json:"revision"`
}

// Backend is a model reachable by every stage. Implementations are safe for concurrent use.
type Backend interface {
	Info() Info
	Chat(ctx context.Context, r *ChatRequest) (*ChatResponse, error)
	Score(ctx context.Context, r *ScoreRequest) (*ScoreResponse, error)
	Stats() Stats
	Close() error
}

// LogAddExp is log(exp(a) + exp(b)), computed without overflow.
func LogAddExp(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	m := math.Max(a, b)
	return m + math.Log1p(math.Exp(-math.Abs(a-b)))
}
