package openai

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/vrlaif/vrlaif/backend"
)

// Name is the backend's registered name.
const Name = "openai"

// maxReply bounds a reply body (a reply with logprobs for 16 samples of 512 tokens is ~10 MiB).
const maxReply = 64 << 20

func init() {
	backend.Register(Name, func(ctx context.Context, c backend.Config) (backend.Backend, error) {
		return NewClient(ctx, c)
	})
}

// Client calls an OpenAI-compatible server.
type Client struct {
	cfg      backend.Config
	base     string
	key      string
	http     *http.Client
	sem      chan struct{}
	breaker  *breaker
	counters backend.Counters
	sleep    func(context.Context, time.Duration) error
}

// NewClient checks the configuration; with no model id it asks the server's /v1/models for the
// first one (vLLM and most servers serve exactly one).
func NewClient(ctx context.Context, c backend.Config) (*Client, error) {
	c = c.WithDefaults()
	if c.URL == "" {
		return nil, fmt.Errorf("openai: no URL (the server's base URL, e.g. http://localhost:8000/v1)")
	}
	cl := &Client{cfg: c, base: strings.TrimRight(c.URL, "/"), key: c.Key(),
		http: &http.Client{Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: c.Concurrency, IdleConnTimeout: 90 * time.Second}},
		sem:     make(chan struct{}, c.Concurrency),
		breaker: &breaker{threshold: c.BreakerFails, cooloff: c.BreakerCooloff, now: time.Now},
		sleep:   sleepCtx}
	if cl.cfg.Model == "" {
		id, err := cl.firstModel(ctx)
		if err != nil {
			return nil, fmt.Errorf("openai: no model id given and %s/models did not name one: %w", cl.base, err)
		}
		cl.cfg.Model = id
	}
	return cl, nil
}

func (c *Client) firstModel(ctx context.Context) (string, error) {
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if _, err := c.do(ctx, "models", http.MethodGet, "/models", nil, &list, nil); err != nil {
		return "", err
	}
	if len(list.Data) == 0 {
		return "", errors.New("empty model list")
	}
	return list.Data[0].ID, nil
}

// Info names the server's model.
func (c *Client) Info() backend.Info {
	return backend.Info{Backend: Name, Model: c.cfg.Model, Revision: c.cfg.Revision}
}

// Stats are the running totals.
func (c *Client) Stats() backend.Stats { return c.counters.Snapshot() }

// Close drops idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// Chat sends one chat completion for all N samples.
func (c *Client) Chat(ctx context.Context, r *backend.ChatRequest) (*backend.ChatResponse, error) {
	if err := r.Validate(); err != nil {
		c.counters.Failure()
		return nil, &backend.Error{Backend: Name, Op: "chat", Err: err}
	}
	body, err := encodeRequest(c.cfg.Model, r)
	if err != nil {
		return nil, &backend.Error{Backend: Name, Op: "chat", Err: backend.BadRequest(err.Error())}
	}
	var out chatResponse
	choices, err := c.do(ctx, "chat", http.MethodPost, "/chat/completions", body, &out, &expect{n: r.Samples(), text: len(r.Stop) == 0, logProbs: r.LogProbs})
	if err != nil {
		return nil, err
	}
	u := backend.Usage{PromptTokens: out.Usage.PromptTokens, CompletionTokens: out.Usage.CompletionTokens}
	c.counters.Call(u)
	return &backend.ChatResponse{Model: out.Model, Choices: choices, Usage: u}, nil
}

// Score asks for one greedy token with the top ScoreTopN log-probabilities and reads each
// continuation's value from them: the summed probability of the entries equal to it and to it
// with a leading space (see backend.ScoreRequest). A continuation not listed (or longer than one
// token) gets the smallest listed value with Exact false: its true value is at most that.
func (c *Client) Score(ctx context.Context, r *backend.ScoreRequest) (*backend.ScoreResponse, error) {
	if len(r.Continuations) == 0 {
		return nil, &backend.Error{Backend: Name, Op: "score", Err: backend.BadRequest("no continuations")}
	}
	cr := &backend.ChatRequest{Messages: r.Messages, N: 1, MaxTokens: 1, LogProbs: true, TopLogProbs: c.cfg.ScoreTopN}
	body, err := encodeRequest(c.cfg.Model, cr)
	if err != nil {
		return nil, &backend.Error{Backend: Name, Op: "score", Err: backend.BadRequest(err.Error())}
	}
	var out chatResponse
	choices, err := c.do(ctx, "score", http.MethodPost, "/chat/completions", body, &out, &expect{n: 1})
	if err != nil {
		return nil, err
	}
	if len(choices[0].Top) == 0 || len(choices[0].Top[0]) == 0 {
		c.counters.Failure()
		return nil, &backend.Error{Backend: Name, Op: "score", Attempts: 1,
			Err: fmt.Errorf("%w: the server returned no top_logprobs (does it support them?)", backend.ErrUnsupported)}
	}
	u := backend.Usage{PromptTokens: out.Usage.PromptTokens, CompletionTokens: out.Usage.CompletionTokens}
	c.counters.Call(u)
	resp := &backend.ScoreResponse{Usage: u}
	for _, cont := range r.Continuations {
		lp, exact := lookup(choices[0].Top[0], cont)
		resp.LogProbs, resp.Exact = append(resp.LogProbs, lp), append(resp.Exact, exact)
	}
	return resp, nil
}

func lookup(top []backend.TokenLogProb, cont string) (float64, bool) {
	sum, found, floor := math.Inf(-1), false, math.Inf(1)
	for _, e := range top {
		floor = math.Min(floor, e.LogProb)
		if e.Token == cont || e.Token == " "+cont {
			sum, found = backend.LogAddExp(sum, e.LogProb), true
		}
	}
	if found {
		return sum, true
	}
	return floor, false
}

// do sends a request with retries; for chat it also parses and checks n choices.
func (c *Client) do(ctx context.Context, op, method, path string, body []byte, out any, want *expect) ([]backend.Choice, error) {
	id := requestID(body)
	var last error
	status := 0
	attempts := 0
	var delay time.Duration
	for attempt := 0; attempt <= c.cfg.Retries(); attempt++ {
		if attempt > 0 {
			if err := c.sleep(ctx, delay); err != nil {
				last = fmt.Errorf("%w (while waiting to retry: %v)", last, err)
				break
			}
		}
		if err := c.breaker.allow(); err != nil {
			if last != nil { // this call's own earlier failure comes first
				err = fmt.Errorf("%w (this call's attempt %d: %v)", err, attempts, last)
			}
			last, status = err, 0
			break
		}
		attempts++
		c.counters.Attempt(attempt > 0)
		var retryAfter time.Duration
		var err error
		status, retryAfter, err = c.once(ctx, method, path, body, id, out)
		var choices []backend.Choice
		if err == nil && want != nil {
			choices, err = parseChoices(out.(*chatResponse), *want)
		}
		if err == nil {
			c.breaker.success()
			return choices, nil
		}
		last = err
		if errors.Is(err, backend.ErrBadRequest) || ctx.Err() != nil {
			if ctx.Err() == nil {
				c.breaker.success() // the server is healthy; the request is wrong
			} else {
				c.breaker.neutral()
			}
			break
		}
		if errors.Is(err, backend.ErrRateLimited) {
			c.breaker.neutral() // a busy server is not a broken one
		} else {
			c.breaker.failure(err)
		}
		delay = backoff(c.cfg.BackoffBase, c.cfg.BackoffMax, attempt)
		if retryAfter > 0 {
			delay = min(retryAfter, c.cfg.RetryAfterMax)
		}
	}
	c.counters.Failure()
	return nil, &backend.Error{Backend: Name, Op: op, Status: status, Attempts: attempts, Err: last}
}

// requestID names a request body; retries send the same id so a server can deduplicate them.
func requestID(body []byte) string {
	h := sha256.Sum256(body)
	return "vrlaif-" + hex.EncodeToString(h[:12])
}

// once makes one attempt and classifies its failure.
func (c *Client) once(ctx context.Context, method, path string, body []byte, id string, out any) (int, time.Duration, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	defer func() { <-c.sem }()
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, c.base+path, rd)
	if err != nil {
		return 0, 0, backend.BadRequest(err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", id)
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		return 0, 0, fmt.Errorf("%w: %v", backend.ErrUnavailable, redact(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if err != nil {
		if ctx.Err() != nil {
			return resp.StatusCode, 0, ctx.Err()
		}
		return resp.StatusCode, 0, fmt.Errorf("%w: reading the reply: %v", backend.ErrBadResponse, err)
	}
	if len(data) > maxReply {
		return resp.StatusCode, 0, fmt.Errorf("%w: reply larger than %d bytes", backend.ErrBadResponse, maxReply)
	}
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	switch s := resp.StatusCode; {
	case s == http.StatusOK:
		if err := json.Unmarshal(data, out); err != nil {
			return s, 0, fmt.Errorf("%w: %v", backend.ErrBadResponse, err)
		}
		return s, 0, nil
	case s == http.StatusTooManyRequests:
		return s, retryAfter, fmt.Errorf("%w: %s", backend.ErrRateLimited, serverMessage(data))
	case s == http.StatusRequestTimeout || s >= 500:
		return s, retryAfter, fmt.Errorf("%w: %s", backend.ErrUnavailable, serverMessage(data))
	default:
		if cl := contextLengthError(data); cl != nil {
			return s, 0, cl
		}
		return s, 0, fmt.Errorf("%w: %s", backend.ErrBadRequest, serverMessage(data))
	}
}

// serverMessage is the error text of a reply, shortened.
func serverMessage(data []byte) string {
	var e errorBody
	if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		s = "empty reply"
	}
	return s
}

// redact drops URL query strings (which may carry keys) from transport errors.
func redact(err error) string {
	s := err.Error()
	if i := strings.Index(s, "?"); i >= 0 {
		if j := strings.IndexAny(s[i:], "\": "); j >= 0 {
			return s[:i] + s[i+j:]
		}
		return s[:i]
	}
	return s
}
