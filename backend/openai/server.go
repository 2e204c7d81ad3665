package openai

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/vrlaif/vrlaif/backend"
)

// ServerOptions are the served model's name and the limits on what one request may ask.
type ServerOptions struct {
	ModelName      string // the id /v1/models lists and requests must name (or leave empty)
	APIKey         string // if set, requests need "Authorization: Bearer <key>"
	MaxBodyBytes   int64  // default 64 MiB
	MaxNewTokens   int    // default 512
	MaxImages      int    // per request; default 64
	MaxN           int    // samples per request; default 16
	MaxTopLogProbs int    // default 20 (OpenAI's and vLLM's default limit)
	MaxInFlight    int    // requests run at once; default 2
	MaxQueue       int    // requests waiting beyond those; more get 429 with Retry-After; default 64
	Logger         *slog.Logger
}

func (o ServerOptions) withDefaults() ServerOptions {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 20
	}
	set(&o.MaxNewTokens, 512)
	set(&o.MaxImages, 64)
	set(&o.MaxN, 16)
	set(&o.MaxTopLogProbs, 20)
	set(&o.MaxInFlight, 2)
	set(&o.MaxQueue, 64)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// server serves one backend.
type server struct {
	b       backend.Backend
	o       ServerOptions
	slots   chan struct{}
	waiting atomic.Int64
}

// Handler serves b as an OpenAI-compatible API: GET /v1/models, POST /v1/chat/completions
// (n, logprobs/top_logprobs, images as data: URLs; no streaming), GET /healthz.
func Handler(b backend.Backend, o ServerOptions) http.Handler {
	o = o.withDefaults()
	if o.ModelName == "" {
		o.ModelName = b.Info().Model
	}
	s := &server{b: b, o: o, slots: make(chan struct{}, o.MaxInFlight)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /v1/models", s.auth(s.models))
	mux.HandleFunc("POST /v1/chat/completions", s.auth(s.chat))
	mux.HandleFunc("/v1/", unknownEndpoint) // JSON errors for clients, not the mux's plain text
	return s.logged(mux)
}

// unknownEndpoint answers every other /v1/ request: 405 with Allow for a known path asked with
// another method, 404 naming what is served otherwise.
func unknownEndpoint(w http.ResponseWriter, r *http.Request) {
	allow := map[string]string{"/v1/models": http.MethodGet, "/v1/chat/completions": http.MethodPost}[r.URL.Path]
	if allow != "" {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", fmt.Sprintf("%s %s: this endpoint takes %s", r.Method, r.URL.Path, allow))
		return
	}
	writeError(w, http.StatusNotFound, "invalid_request_error",
		fmt.Sprintf("%s %s: no such endpoint; this server has GET /v1/models and POST /v1/chat/completions", r.Method, r.URL.Path))
}

func (s *server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		s.o.Logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"ms", time.Since(start).Milliseconds(), "request_id", r.Header.Get("X-Request-Id"))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *server) auth(h http.HandlerFunc) http.HandlerFunc {
	if s.o.APIKey == "" {
		return h
	}
	want := []byte("Bearer " + s.o.APIKey)
	return func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeError(w, http.StatusUnauthorized, "authentication_error", "missing or wrong API key")
			return
		}
		h(w, r)
	}
}

func (s *server) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []map[string]any{
		{"id": s.o.ModelName, "object": "model", "created": 0, "owned_by": "vrlaif"}}})
}

func (s *server) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes))
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", fmt.Sprintf("body larger than %d bytes", s.o.MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_request_error", "malformed JSON: "+err.Error())
		return
	}
	if msg, param := s.check(&req); msg != "" {
		code := http.StatusBadRequest
		if param == "model" {
			code = http.StatusNotFound
		}
		writeParamError(w, code, "invalid_request_error", msg, param)
		return
	}
	br, err := fromWire(&req, s.o.MaxImages)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	if !s.acquire(w, r.Context()) {
		return
	}
	resp, err := s.b.Chat(r.Context(), br)
	<-s.slots
	if err != nil {
		var tooLong *backend.ContextLengthError
		switch {
		case r.Context().Err() != nil:
			return // the client left
		case errors.As(err, &tooLong):
			writeJSON(w, http.StatusBadRequest, contextLengthReply(tooLong))
		case errors.Is(err, backend.ErrBadRequest) || errors.Is(err, backend.ErrUnsupported):
			writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		default:
			writeError(w, http.StatusInternalServerError, "server_error", err.Error())
		}
		return
	}
	out := chatResponse{ID: "chatcmpl-" + requestID([]byte(r.Header.Get("X-Request-Id")+time.Now().String())),
		Object: "chat.completion", Created: time.Now().Unix(), Model: s.o.ModelName,
		Usage: wireUsage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens,
			TotalTokens: resp.Usage.PromptTokens + resp.Usage.CompletionTokens}}
	for i, ch := range resp.Choices {
		text := ch.Text
		wc := wireChoice{Index: i, Message: wireReply{Role: backend.RoleAssistant, Content: &text}, FinishReason: ch.FinishReason}
		if req.LogProbs {
			wc.LogProbs = wireTokens(ch)
		}
		out.Choices = append(out.Choices, wc)
	}
	writeJSON(w, http.StatusOK, out)
}

// check applies the limits; it returns what is wrong and the parameter at fault, or "".
func (s *server) check(r *chatRequest) (msg, param string) {
	switch {
	case r.Model != "" && r.Model != s.o.ModelName:
		return fmt.Sprintf("model %q is not served here (this server serves %q)", r.Model, s.o.ModelName), "model"
	case r.Stream:
		return "streaming is not supported; send \"stream\": false", "stream"
	case r.N > s.o.MaxN:
		return fmt.Sprintf("n is %d; this server allows at most %d", r.N, s.o.MaxN), "n"
	case r.MaxTokens > s.o.MaxNewTokens:
		return fmt.Sprintf("max_tokens is %d; this server allows at most %d", r.MaxTokens, s.o.MaxNewTokens), "max_tokens"
	case r.TopLogProbs > s.o.MaxTopLogProbs:
		return fmt.Sprintf("top_logprobs is %d; this server allows at most %d", r.TopLogProbs, s.o.MaxTopLogProbs), "top_logprobs"
	case r.TopLogProbs > 0 && !r.LogProbs:
		return "top_logprobs needs logprobs: true", "logprobs"
	}
	if r.MaxTokens == 0 {
		r.MaxTokens = s.o.MaxNewTokens
	}
	return "", ""
}

// acquire waits for a slot; when too many requests already wait it answers 429 with Retry-After.
func (s *server) acquire(w http.ResponseWriter, ctx context.Context) bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	if s.waiting.Add(1) > int64(s.o.MaxQueue) {
		s.waiting.Add(-1)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "rate_limit_error", "server busy; retry later")
		return false
	}
	defer s.waiting.Add(-1)
	select {
	case s.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// writeJSON encodes v before writing the status, so that a value JSON cannot carry (a NaN) is a
// 500 with an error body rather than a 200 with an empty one.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		var e errorBody
		e.Error.Message, e.Error.Type = "encoding the reply: "+err.Error(), "server_error"
		status = http.StatusInternalServerError
		b, _ = json.Marshal(e) // strings only: cannot fail
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	writeParamError(w, status, typ, msg, "")
}

// writeParamError writes an error naming the request parameter at fault (param null when none).
func writeParamError(w http.ResponseWriter, status int, typ, msg, param string) {
	var e errorBody
	e.Error.Message, e.Error.Type = msg, typ
	if param != "" {
		e.Error.Param = param
	}
	writeJSON(w, status, e)
}
