// Package builtin serves vrlaif's own model (package model) in-process behind the backend
// interface. Register name: "builtin"; Config.Model is the checkpoint folder.
package builtin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/model/tokenizer"
	"github.com/vrlaif/vrlaif/schemas"
)

// Name is the backend's registered name.
const Name = "builtin"

// DefaultMaxTokens is the new-token limit when a request sets none (the reference's 512, capped
// by the model's context).
const DefaultMaxTokens = 512

func init() {
	backend.Register(Name, func(_ context.Context, c backend.Config) (backend.Backend, error) {
		if c.Adapter != "" {
			return LoadWithAdapter(c.Model, c.Adapter, c.Revision)
		}
		return Load(c.Model, c.Revision)
	})
}

// Builtin is the built-in model behind the backend interface. The model is not safe for
// concurrent use, so calls take turns (each call is batched over its N samples).
type Builtin struct {
	mu       sync.Mutex
	m        *model.Model
	tok      *tokenizer.Tokenizer
	info     backend.Info
	counters backend.Counters
}

// Load opens a checkpoint folder (model.safetensors, config.json, tokenizer.json). An empty
// revision becomes the first 16 hex digits of the weights file's SHA-256.
func Load(dir, revision string) (*Builtin, error) {
	if dir == "" {
		return nil, fmt.Errorf("builtin: no checkpoint folder (set the backend's model)")
	}
	m, err := model.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("builtin: %w", err)
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("builtin: %w", err)
	}
	if revision == "" {
		revision = m.Revision
	}
	return New(m, tok, backend.Info{Backend: Name, Model: filepath.Base(filepath.Clean(dir)), Revision: revision})
}

// LoadWithAdapter opens a checkpoint and merges a LoRA adapter (PEFT layout: adapter_config.json,
// adapter_model.safetensors; e.g. the policy a PPO run trained) into it. The model id is the
// adapter folder's name; an empty revision becomes the weights' hash prefix + "+" + the adapter's.
func LoadWithAdapter(dir, adapter, revision string) (*Builtin, error) {
	b, err := Load(dir, revision)
	if err != nil {
		return nil, err
	}
	if err := model.LoadLoRA(adapter, b.m); err != nil {
		return nil, fmt.Errorf("builtin: adapter %s: %w", adapter, err)
	}
	b.m.MergeLoRA()
	if revision == "" {
		h, err := fileHash(filepath.Join(adapter, model.AdapterWeightsFile))
		if err != nil {
			return nil, fmt.Errorf("builtin: %w", err)
		}
		b.info.Revision += "+" + h
	}
	b.info.Model = filepath.Base(filepath.Clean(dir)) + "+" + filepath.Base(filepath.Clean(adapter))
	return b, nil
}

// New serves a model already in memory.
func New(m *model.Model, tok *tokenizer.Tokenizer, info backend.Info) (*Builtin, error) {
	if tok.VocabSize() != m.Config.VocabSize {
		return nil, fmt.Errorf("builtin: tokenizer has %d tokens, model %d", tok.VocabSize(), m.Config.VocabSize)
	}
	info.Backend = Name
	return &Builtin{m: m, tok: tok, info: info}, nil
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Info names the checkpoint.
func (b *Builtin) Info() backend.Info { return b.info }

// Stats are the running totals.
func (b *Builtin) Stats() backend.Stats { return b.counters.Snapshot() }

// Close releases nothing; the model is garbage collected.
func (b *Builtin) Close() error { return nil }

// prompt renders messages with the v1 chat template (reference §2.4) and expands the video.
func (b *Builtin) prompt(msgs []backend.Message) (model.Prompt, error) {
	var conv []schemas.Turn
	var frames [][]byte
	for i, m := range msgs {
		var text []string
		var imgs [][]byte
		for _, p := range m.Parts {
			if p.Image != nil {
				imgs = append(imgs, p.Image)
			} else {
				text = append(text, p.Text)
			}
		}
		v := strings.Join(text, "\n")
		switch {
		case m.Role == backend.RoleSystem:
			if i != 0 || strings.TrimSpace(v) != tokenizer.SystemV1 {
				return model.Prompt{}, fmt.Errorf("%w: the built-in model takes only its own v1 system prompt, first (%q)", backend.ErrUnsupported, tokenizer.SystemV1)
			}
			continue
		case len(imgs) > 0 && m.Role != backend.RoleUser:
			return model.Prompt{}, backend.BadRequest("images are allowed in user messages only")
		case len(imgs) > 0 && frames != nil:
			return model.Prompt{}, fmt.Errorf("%w: one video per conversation", backend.ErrUnsupported)
		case len(imgs) > 0:
			frames, v = imgs, "<video>\n"+v
		}
		from := "human"
		if m.Role == backend.RoleAssistant {
			from = "gpt"
		}
		conv = append(conv, schemas.Turn{From: from, Value: v})
	}
	if len(conv) == 0 || conv[len(conv)-1].From != "human" {
		return model.Prompt{}, backend.BadRequest("the last message must be the user's")
	}
	ids, _ := b.tok.EncodeChat(conv)
	pr := model.Prompt{VideoAt: -1}
	for _, id := range ids {
		if id == b.tok.VideoID() {
			pr.VideoAt = len(pr.Tokens)
			for j := 0; j < b.m.Config.VideoTokens(); j++ {
				pr.Tokens = append(pr.Tokens, -1)
			}
			continue
		}
		pr.Tokens = append(pr.Tokens, int32(id))
	}
	if frames != nil {
		p, err := model.VideoPatches(frames, b.m.Config.Vision)
		if err != nil {
			return model.Prompt{}, backend.BadRequest(err.Error())
		}
		pr.Patches = p
	}
	return pr, nil
}

func (b *Builtin) fail(op string, err error) error {
	b.counters.Failure()
	return &backend.Error{Backend: Name, Op: op, Attempts: 1, Err: err}
}

// Chat samples r.N continuations; sample i draws from the stream (Seed, i), so it does not depend
// on N. Text is the decoded reply without the end-of-sequence token, cut before the first stop
// string, with surrounding spaces trimmed; Tokens and LogProbs keep every generated token up to
// the one that ends the reply (the end-of-sequence token, or the one completing a stop string).
func (b *Builtin) Chat(ctx context.Context, r *backend.ChatRequest) (*backend.ChatResponse, error) {
	if err := r.Validate(); err != nil {
		return nil, b.fail("chat", err)
	}
	pr, err := b.prompt(r.Messages)
	if err != nil {
		return nil, b.fail("chat", err)
	}
	room := b.m.Config.MaxPositionEmbeddings - len(pr.Tokens)
	if room <= 0 { // no room for one token of reply
		return nil, b.fail("chat", backend.ContextLength(len(pr.Tokens)+1, b.m.Config.MaxPositionEmbeddings))
	}
	maxNew := r.MaxTokens
	if maxNew == 0 {
		maxNew = DefaultMaxTokens
	}
	maxNew = min(maxNew, room)
	prompts := make([]model.Prompt, r.Samples())
	for i := range prompts {
		prompts[i] = pr
	}
	sp := model.SampleParams{MaxNew: maxNew, Temperature: float32(r.Temperature), TopK: r.TopK,
		TopP: float32(r.TopP), Seed: uint64(r.Seed), EOS: b.tok.EOSID(), TopLogProbs: r.TopLogProbs}
	if err := ctx.Err(); err != nil {
		return nil, b.fail("chat", err)
	}
	b.counters.Attempt(false)
	b.mu.Lock()
	samples, err := b.m.Generate(prompts, sp)
	b.mu.Unlock()
	if err != nil {
		return nil, b.fail("chat", backend.BadRequest(err.Error()))
	}
	resp := &backend.ChatResponse{Model: b.info.Model, Usage: backend.Usage{PromptTokens: len(pr.Tokens)}}
	for _, s := range samples {
		ch := b.choice(s, r.Stop, r.LogProbs || r.TopLogProbs > 0)
		resp.Usage.CompletionTokens += len(s.Tokens)
		resp.Choices = append(resp.Choices, ch)
	}
	b.counters.Call(resp.Usage)
	return resp, nil
}

// choice decodes one sample and applies the stop strings.
func (b *Builtin) choice(s model.Sample, stop []string, logprobs bool) backend.Choice {
	eos := int32(b.tok.EOSID())
	ch := backend.Choice{FinishReason: backend.FinishLength}
	var text strings.Builder
	var ends []int // text length after each token
	for _, t := range s.Tokens {
		if t != eos {
			text.WriteString(b.tok.Decode([]int{int(t)}))
		}
		ends = append(ends, text.Len())
	}
	keep := len(s.Tokens)
	if len(s.Tokens) > 0 && s.Tokens[len(s.Tokens)-1] == eos {
		ch.FinishReason = backend.FinishStop
	}
	out := text.String()
	if cut, end := firstStop(out, stop); cut >= 0 {
		out, ch.FinishReason = out[:cut], backend.FinishStop
		for keep = 1; keep < len(ends) && ends[keep-1] < end; keep++ {
		}
	}
	ch.Text = strings.TrimSpace(validText(out))
	if !logprobs {
		return ch
	}
	for i, t := range s.Tokens[:keep] {
		ch.Tokens = append(ch.Tokens, b.tok.Decode([]int{int(t)}))
		ch.LogProbs = append(ch.LogProbs, float64(s.LogProbs[i]))
		if s.Top != nil {
			top := make([]backend.TokenLogProb, len(s.Top[i]))
			for j, e := range s.Top[i] {
				top[j] = backend.TokenLogProb{Token: b.tok.Decode([]int{int(e.Token)}), LogProb: float64(e.LogProb)}
			}
			ch.Top = append(ch.Top, top)
		}
	}
	return ch
}

// firstStop finds the earliest stop string in s: where it starts and ends, or −1.
func firstStop(s string, stop []string) (cut, end int) {
	cut = -1
	for _, st := range stop {
		if i := strings.Index(s, st); st != "" && i >= 0 && (cut < 0 || i < cut) {
			cut, end = i, i+len(st)
		}
	}
	return cut, end
}

// Score returns, for each continuation c, log(p(c) + p(" "+c)) as the start of the reply,
// teacher-forced (see backend.ScoreRequest); no end-of-sequence is added. Always exact; Tokens
// counts each continuation's tokens.
func (b *Builtin) Score(ctx context.Context, r *backend.ScoreRequest) (*backend.ScoreResponse, error) {
	if len(r.Continuations) == 0 {
		return nil, b.fail("score", backend.BadRequest("no continuations"))
	}
	pr, err := b.prompt(r.Messages)
	if err != nil {
		return nil, b.fail("score", err)
	}
	if need := len(pr.Tokens) + b.longestVariant(r.Continuations); need > b.m.Config.MaxPositionEmbeddings {
		return nil, b.fail("score", backend.ContextLength(need, b.m.Config.MaxPositionEmbeddings))
	}
	resp := &backend.ScoreResponse{}
	b.counters.Attempt(false)
	if lps, ok, err := b.scoreSingleTokens(pr, r.Continuations); err != nil {
		return nil, b.fail("score", err)
	} else if ok { // every variant is one token: one forward pass answers all
		resp.LogProbs = lps
		for range lps {
			resp.Exact, resp.Tokens = append(resp.Exact, true), append(resp.Tokens, 1)
		}
		resp.Usage = backend.Usage{PromptTokens: len(pr.Tokens), CompletionTokens: 0}
		b.counters.Call(resp.Usage)
		return resp, nil
	}
	for _, c := range r.Continuations {
		total := math.Inf(-1)
		for i, variant := range []string{c, " " + c} {
			if err := ctx.Err(); err != nil {
				return nil, b.fail("score", err)
			}
			lp, n, err := b.score(pr, variant)
			if err != nil {
				return nil, b.fail("score", err)
			}
			total = backend.LogAddExp(total, lp)
			if i == 0 { // the continuation as written
				resp.Tokens = append(resp.Tokens, n)
			}
			resp.Usage.PromptTokens += len(pr.Tokens)
			resp.Usage.CompletionTokens += n
		}
		resp.LogProbs = append(resp.LogProbs, total)
		resp.Exact = append(resp.Exact, true)
	}
	b.counters.Call(resp.Usage)
	return resp, nil
}

// longestVariant is the most tokens a continuation takes (as c or " "+c).
func (b *Builtin) longestVariant(conts []string) int {
	n := 0
	for _, c := range conts {
		n = max(n, len(b.tok.Encode(c)), len(b.tok.Encode(" "+c)))
	}
	return n
}

// scoreSingleTokens scores continuations whose variants (c and " "+c) are all single tokens
// from one forward pass; ok is false when some variant is longer.
func (b *Builtin) scoreSingleTokens(pr model.Prompt, conts []string) ([]float64, bool, error) {
	ids := make([][2]int, len(conts))
	for i, c := range conts {
		for j, v := range []string{c, " " + c} {
			t := b.tok.Encode(v)
			if len(t) != 1 {
				return nil, false, nil
			}
			ids[i][j] = t[0]
		}
	}
	b.mu.Lock()
	all, err := b.m.NextLogProbs(pr)
	b.mu.Unlock()
	if err != nil {
		return nil, false, backend.BadRequest(err.Error())
	}
	out := make([]float64, len(conts))
	for i, pair := range ids {
		out[i] = backend.LogAddExp(float64(all[pair[0]]), float64(all[pair[1]]))
	}
	return out, true, nil
}

// score is log p(text) as the reply's start, and its number of tokens.
func (b *Builtin) score(pr model.Prompt, text string) (float64, int, error) {
	ids := b.tok.Encode(text)
	cont := make([]int32, len(ids))
	for i, id := range ids {
		cont[i] = int32(id)
	}
	if len(pr.Tokens)+len(cont) > b.m.Config.MaxPositionEmbeddings {
		return 0, 0, backend.ContextLength(len(pr.Tokens)+len(cont), b.m.Config.MaxPositionEmbeddings)
	}
	b.mu.Lock()
	lps, err := b.m.Score(pr, cont)
	b.mu.Unlock()
	if err != nil {
		return 0, 0, backend.BadRequest(err.Error())
	}
	var sum float64
	for _, lp := range lps {
		sum += float64(lp)
	}
	return sum, len(cont), nil
}

// validText replaces each byte that is not part of valid UTF-8 with U+FFFD, as encoding/json
// does, so a reply reads the same in-process and over HTTP.
func validText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}
