// Package openai speaks the OpenAI chat-completions protocol both ways: a backend that calls any
// OpenAI-compatible server (vLLM, SGLang, TGI, llama.cpp's server, Ollama, OpenAI) with bounded
// concurrency, timeouts, retries that honour Retry-After, and a circuit breaker; and an HTTP
// handler that serves any backend (vrlaif serve puts the built-in model behind it).
package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/vrlaif/vrlaif/backend"
)

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model       string        `json:"model"`
	Messages    []wireMessage `json:"messages,omitempty"` // written by encodeRequest
	N           int           `json:"n,omitempty"`
	Temperature *float64      `json:"temperature,omitempty"`
	TopP        *float64      `json:"top_p,omitempty"`
	TopK        int           `json:"top_k,omitempty"` // vLLM / SGLang extension
	MaxTokens   int           `json:"max_tokens,omitempty"`
	Stop        stopList      `json:"stop,omitempty"`
	Seed        *int64        `json:"seed,omitempty"`
	LogProbs    bool          `json:"logprobs,omitempty"`
	TopLogProbs int           `json:"top_logprobs,omitempty"`
	Stream      bool          `json:"stream,omitempty"`
}

// stopList accepts a string or a list of strings.
type stopList []string

func (s *stopList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = stopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("stop must be a string or a list of strings")
	}
	*s = many
	return nil
}

// wireMessage's content is a string or a list of parts.
type wireMessage struct {
	Role    string      `json:"role"`
	Content wireContent `json:"content"`
}

type wireContent []contentPart

type contentPart struct {
	Type     string    `json:"type"` // "text" or "image_url"
	Text     string    `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL string `json:"url"`
}

func (c *wireContent) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*c = wireContent{{Type: "text", Text: s}}
		return nil
	}
	var parts []contentPart
	if err := json.Unmarshal(b, &parts); err != nil {
		return fmt.Errorf("content must be a string or a list of parts")
	}
	*c = parts
	return nil
}

// chatResponse is the non-streaming reply.
type chatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []wireChoice `json:"choices"`
	Usage   wireUsage    `json:"usage"`
}

type wireChoice struct {
	Index        int           `json:"index"`
	Message      wireReply     `json:"message"`
	FinishReason string        `json:"finish_reason"`
	LogProbs     *wireLogProbs `json:"logprobs"`
}

type wireReply struct {
	Role    string  `json:"role"`
	Content *string `json:"content"`
}

type wireLogProbs struct {
	Content []wireTokenLogProb `json:"content"`
}

type wireTokenLogProb struct {
	Token       string             `json:"token"`
	LogProb     float64            `json:"logprob"`
	Bytes       []int              `json:"bytes"`
	TopLogProbs []wireTokenLogProb `json:"top_logprobs,omitempty"`
}

type wireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// errorBody is an OpenAI error reply.
type errorBody struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Param   any    `json:"param"` // null unless one parameter is at fault, as OpenAI writes it
		Code    any    `json:"code"`
	} `json:"error"`
}

// encodeRequest writes the request body for r. Frames go straight from bytes to base64 in the
// body: encoding/json would scan every megabyte of them twice more.
func encodeRequest(modelID string, r *backend.ChatRequest) ([]byte, error) {
	w := chatRequest{Model: modelID, N: r.Samples(), TopK: r.TopK, MaxTokens: r.MaxTokens, Stop: r.Stop,
		LogProbs: r.LogProbs || r.TopLogProbs > 0, TopLogProbs: r.TopLogProbs}
	t, p, sd := r.Temperature, r.TopP, r.Seed
	if p == 0 {
		p = 1
	}
	w.Temperature, w.TopP, w.Seed = &t, &p, &sd
	head, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	size := len(head) + 64
	for _, m := range r.Messages {
		for _, part := range m.Parts {
			size += len(part.Text) + base64.StdEncoding.EncodedLen(len(part.Image)) + 64
		}
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	buf.WriteString(`{"messages":[`)
	for i, m := range r.Messages {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"role":`)
		writeJSONString(buf, m.Role)
		buf.WriteString(`,"content":`)
		if len(m.Parts) == 1 && m.Parts[0].Image == nil {
			writeJSONString(buf, m.Parts[0].Text)
		} else {
			buf.WriteByte('[')
			for j, part := range m.Parts {
				if j > 0 {
					buf.WriteByte(',')
				}
				if part.Image == nil {
					buf.WriteString(`{"type":"text","text":`)
					writeJSONString(buf, part.Text)
					buf.WriteByte('}')
					continue
				}
				buf.WriteString(`{"type":"image_url","image_url":{"url":"data:` + imageType(part.Image) + `;base64,`)
				enc := base64.NewEncoder(base64.StdEncoding, buf)
				enc.Write(part.Image)
				enc.Close()
				buf.WriteString(`"}}`)
			}
			buf.WriteByte(']')
		}
		buf.WriteByte('}')
	}
	buf.WriteString("],")
	buf.Write(head[1:])
	return buf.Bytes(), nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	buf.Write(b)
}

// imageType is an image's sniffed MIME type (JPEG if unrecognised).
func imageType(img []byte) string {
	mime := http.DetectContentType(img)
	if !strings.HasPrefix(mime, "image/") {
		mime = "image/jpeg"
	}
	return mime
}

// fromWire turns a request body back into a backend request; images must be data: URLs.
func fromWire(w *chatRequest, maxImages int) (*backend.ChatRequest, error) {
	r := &backend.ChatRequest{N: w.N, TopK: w.TopK, MaxTokens: w.MaxTokens, Stop: w.Stop,
		LogProbs: w.LogProbs, TopLogProbs: w.TopLogProbs, Temperature: 1, TopP: 1}
	if w.Temperature != nil {
		r.Temperature = *w.Temperature
	}
	if w.TopP != nil {
		r.TopP = *w.TopP
	}
	if w.Seed != nil {
		r.Seed = *w.Seed
	}
	images := 0
	for _, m := range w.Messages {
		bm := backend.Message{Role: m.Role}
		for _, p := range m.Content {
			switch p.Type {
			case "text":
				bm.Parts = append(bm.Parts, backend.Part{Text: p.Text})
			case "image_url":
				if p.ImageURL == nil {
					return nil, backend.BadRequest("image_url part without a url")
				}
				if images++; images > maxImages {
					return nil, backend.BadRequest(fmt.Sprintf("more than %d images", maxImages))
				}
				img, err := decodeDataURL(p.ImageURL.URL)
				if err != nil {
					return nil, err
				}
				bm.Parts = append(bm.Parts, backend.Part{Image: img})
			default:
				return nil, backend.BadRequest(fmt.Sprintf("unsupported content part type %q", p.Type))
			}
		}
		r.Messages = append(r.Messages, bm)
	}
	return r, r.Validate()
}

// decodeDataURL reads data:image/…;base64,…; remote URLs are refused (the server fetches nothing).
func decodeDataURL(u string) ([]byte, error) {
	head, data, ok := strings.Cut(u, ",")
	if !ok || !strings.HasPrefix(head, "data:image/") || !strings.HasSuffix(head, ";base64") {
		return nil, backend.BadRequest("images must be data:image/…;base64 URLs (this server fetches no URLs)")
	}
	img, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, backend.BadRequest("image data is not valid base64")
	}
	return img, nil
}

// parseChoices checks a reply against the request and converts it.
// expect is what a chat reply must hold: n choices and, when asked for, text in each (an empty
// reply to a request without stop strings is a server's fault, not an answer) and
// log-probabilities for each one's tokens.
type expect struct {
	n              int
	text, logProbs bool
}

func parseChoices(resp *chatResponse, want expect) ([]backend.Choice, error) {
	n := want.n
	if len(resp.Choices) != n {
		return nil, fmt.Errorf("%w: asked for %d choices, got %d", backend.ErrBadResponse, n, len(resp.Choices))
	}
	out := make([]backend.Choice, n)
	seen := make([]bool, n)
	for _, c := range resp.Choices {
		if c.Index < 0 || c.Index >= n || seen[c.Index] {
			return nil, fmt.Errorf("%w: choice index %d repeated or out of range", backend.ErrBadResponse, c.Index)
		}
		if c.Message.Content == nil {
			return nil, fmt.Errorf("%w: choice %d has no content", backend.ErrBadResponse, c.Index)
		}
		seen[c.Index] = true
		ch := backend.Choice{Text: strings.TrimSpace(*c.Message.Content), FinishReason: c.FinishReason}
		if c.LogProbs != nil {
			for _, t := range c.LogProbs.Content {
				ch.Tokens = append(ch.Tokens, tokenText(t))
				ch.LogProbs = append(ch.LogProbs, t.LogProb)
				if len(t.TopLogProbs) > 0 {
					top := make([]backend.TokenLogProb, len(t.TopLogProbs))
					for j, e := range t.TopLogProbs {
						top[j] = backend.TokenLogProb{Token: tokenText(e), LogProb: e.LogProb}
					}
					ch.Top = append(ch.Top, top)
				}
			}
		}
		switch {
		case want.text && ch.Text == "":
			return nil, fmt.Errorf("%w: choice %d is empty (finish reason %q)", backend.ErrBadResponse, c.Index, c.FinishReason)
		case want.logProbs && len(ch.LogProbs) == 0:
			return nil, fmt.Errorf("%w: log-probabilities were asked for and choice %d has none (does the server support them?)", backend.ErrBadResponse, c.Index)
		}
		out[c.Index] = ch
	}
	return out, nil
}

// tokenText prefers a token's bytes (exact even for a token that is part of a UTF-8 character,
// whose text JSON cannot carry) to its text.
func tokenText(t wireTokenLogProb) string {
	if t.Bytes == nil {
		return t.Token
	}
	b := make([]byte, len(t.Bytes))
	for i, v := range t.Bytes {
		b[i] = byte(v)
	}
	return string(b)
}

// wireTokens converts one choice's log-probabilities for a reply.
func wireTokens(ch backend.Choice) *wireLogProbs {
	if ch.Tokens == nil {
		return nil
	}
	lp := &wireLogProbs{Content: make([]wireTokenLogProb, len(ch.Tokens))}
	for i, t := range ch.Tokens {
		w := wireTokenLogProb{Token: t, LogProb: ch.LogProbs[i], Bytes: bytesOf(t)}
		if i < len(ch.Top) {
			for _, e := range ch.Top[i] {
				w.TopLogProbs = append(w.TopLogProbs, wireTokenLogProb{Token: e.Token, LogProb: e.LogProb, Bytes: bytesOf(e.Token)})
			}
		}
		lp.Content[i] = w
	}
	return lp
}

func bytesOf(s string) []int {
	out := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int(s[i])
	}
	return out
}
