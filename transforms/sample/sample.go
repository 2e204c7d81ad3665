// Package sample draws K answers per question from the policy backend (the responses stage): one
// chat call per question with n = K, temperature and top-p, a seed derived from the clip and the
// question, and per-token log-probabilities kept.
package sample

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
)

// Stage is the stage name in dead letters, counters and summaries.
const Stage = "responses"

// Params configure the policy's sampling. Defaults are the reference's fill-ins (§6): two
// answers, temperature 0.7, top-p 0.9.
type Params struct {
	Backend     backend.Config `json:"backend"`
	Template    string         `json:"template"` // default prompts.Answer
	K           int            `json:"k"`        // answers per question (default 2)
	Temperature float64        `json:"temperature"`
	TopP        float64        `json:"top_p"`
	MaxTokens   int            `json:"max_tokens"` // default 256
	Seed        int64          `json:"seed"`       // base seed; each question gets its own from it
}

// DefaultParams returns the defaults with backend b.
func DefaultParams(b backend.Config) Params {
	return Params{Backend: b, Template: prompts.Answer, K: 2, Temperature: 0.7, TopP: 0.9, MaxTokens: 256}
}

// WithDefaults fills unset fields (a zero temperature stays greedy).
func (p Params) WithDefaults() Params {
	if p.Template == "" {
		p.Template = prompts.Answer
	}
	if p.K <= 0 {
		p.K = 2
	}
	if p.MaxTokens <= 0 {
		p.MaxTokens = 256
	}
	return p
}

// Validate reports the first setting no backend can sample with. Zero K and MaxTokens mean their
// defaults; a zero temperature is greedy; a zero top-p keeps every token.
func (p Params) Validate() error {
	switch {
	case p.K < 0:
		return fmt.Errorf("sample: k (answers per question) must be ≥ 1, got %d", p.K)
	case p.MaxTokens < 0:
		return fmt.Errorf("sample: max tokens must be ≥ 1, got %d", p.MaxTokens)
	case math.IsNaN(p.Temperature) || math.IsInf(p.Temperature, 0) || p.Temperature < 0:
		return fmt.Errorf("sample: temperature must be a finite number ≥ 0, got %g", p.Temperature)
	case math.IsNaN(p.TopP) || p.TopP < 0 || p.TopP > 1:
		return fmt.Errorf("sample: top-p must be in 0..1 (0 or 1: no nucleus cut), got %g", p.TopP)
	}
	return nil
}

// QuestionSeed is the seed of one question's draws: a hash of the base seed, the clip and the
// question, so that answers do not depend on the order in which work arrives.
func QuestionSeed(base int64, clipID, questionID string) int64 {
	h := sha256.Sum256([]byte(clipID + "\x00" + questionID))
	return int64((binary.LittleEndian.Uint64(h[:8]) ^ uint64(base)) >> 2) // non-negative, fits JSON numbers
}

// ResponseID is a response's deterministic id.
func ResponseID(clipID, questionID string, policy backend.Info, p Params, sample int) string {
	b, _ := json.Marshal(struct {
		Clip, Question string
		Info           backend.Info
		Template       string
		T, TopP        float64
		MaxTokens      int
		Seed           int64
		Sample         int
	}{clipID, questionID, policy, p.Template, p.Temperature, p.TopP, p.MaxTokens, p.Seed, sample})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Answers samples p.K answers to q about tc's clip.
func Answers(ctx context.Context, b backend.Backend, tc schemas.TaskClip, q schemas.Question, p Params) ([]schemas.Response, error) {
	text, err := prompts.Render(p.Template, prompts.Fields{Question: q.Text})
	if err != nil {
		return nil, err
	}
	seed := QuestionSeed(p.Seed, tc.Clip.ID, q.ID)
	resp, err := b.Chat(ctx, &backend.ChatRequest{
		Messages: []backend.Message{backend.VideoMessage(tc.Clip.Frames, text)},
		N:        p.K, Temperature: p.Temperature, TopP: p.TopP, MaxTokens: p.MaxTokens, Seed: seed, LogProbs: true,
		Template: p.Template})
	if err != nil {
		return nil, err
	}
	info := b.Info()
	ref := schemas.ModelRef{Backend: info.Backend, Model: info.Model, Revision: info.Revision, Template: p.Template}
	out := make([]schemas.Response, len(resp.Choices))
	now := time.Now().UnixMicro()
	for i, ch := range resp.Choices {
		out[i] = schemas.Response{ID: ResponseID(tc.Clip.ID, q.ID, info, p, i), ClipID: tc.Clip.ID, VideoID: tc.Task.ID,
			QuestionID: q.ID, Question: q.Text, Sample: int32(i), Text: ch.Text, FinishReason: ch.FinishReason,
			Tokens: int32(len(ch.Tokens)), LogProbs: ch.LogProbs, Temperature: p.Temperature, TopP: p.TopP, Seed: seed,
			Policy: ref, Images: tc.Task.ImageRefs, CreatedMicros: now}
	}
	return out, nil
}
