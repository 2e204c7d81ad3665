package openai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/backend/builtin"
	"github.com/vrlaif/vrlaif/backend/openai"
)

// faultProxy sits between the client and vrlaif serve. Each request (told apart by its seed)
// follows a plan: the fault to inject at each attempt, then pass-through once the plan runs out.
type faultProxy struct {
	upstream *httputil.ReverseProxy
	mu       sync.Mutex
	plans    map[int64][]string
	attempts map[int64]int
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req struct{ Seed int64 }
	json.Unmarshal(body, &req)
	p.mu.Lock()
	n := p.attempts[req.Seed]
	p.attempts[req.Seed]++
	fault := "pass"
	if plan := p.plans[req.Seed]; n < len(plan) {
		fault = plan[n]
	}
	p.mu.Unlock()
	switch fault {
	case "pass":
		p.upstream.ServeHTTP(w, r)
	case "500":
		http.Error(w, `{"error":{"message":"injected internal error","type":"server_error"}}`, http.StatusInternalServerError)
	case "503":
		w.Header().Set("Retry-After", "2")
		http.Error(w, "upstream overloaded", http.StatusServiceUnavailable)
	case "429":
		w.Header().Set("Retry-After", "3")
		http.Error(w, `{"error":{"message":"rate limit","type":"rate_limit_error"}}`, http.StatusTooManyRequests)
	case "malformed":
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x","choices":[{"index":0,"message":{"content":"Red`))
	case "empty": // n choices, both with empty content
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x","choices":[{"index":0,"message":{"content":""},"finish_reason":"stop"},{"index":1,"message":{"content":" "},"finish_reason":"stop"}],"usage":{}}`))
	case "nologprobs": // text, but none of the log-probabilities asked for
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x","choices":[{"index":0,"message":{"content":"Red."},"finish_reason":"stop"},{"index":1,"message":{"content":"Blue."},"finish_reason":"stop"}],"usage":{}}`))
	case "wrong-n":
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x","choices":[],"usage":{}}`))
	case "truncated": // the real reply, cut in half on the wire
		rec := httptest.NewRecorder()
		p.upstream.ServeHTTP(rec, r)
		full := rec.Body.Bytes()
		w.Header().Set("Content-Length", fmt.Sprint(len(full)))
		w.WriteHeader(http.StatusOK)
		w.Write(full[:len(full)/2])
		panic(http.ErrAbortHandler)
	case "timeout": // no reply until the client gives up
		<-r.Context().Done()
	case "reset":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
}

// Every request through the faulty proxy either succeeds with exactly the answer the server gives
// without faults, or ends after MaxRetries+1 attempts in an error that says why; no request gets
// more attempts than that, and Retry-After is honoured.
func TestFaultInjection(t *testing.T) {
	dir := backendtest.Checkpoint(t)
	b, err := builtin.Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(openai.Handler(b, openai.ServerOptions{}))
	defer srv.Close()
	up, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(up)
	rp.ErrorLog = log.New(io.Discard, "", 0) // clients that time out cancel proxied calls, by design
	proxy := &faultProxy{upstream: rp, plans: map[int64][]string{}, attempts: map[int64]int{}}
	ps := httptest.NewServer(proxy)
	defer ps.Close()

	const maxRetries = 4
	plans := [][]string{
		{}, {"500"}, {"503", "429"}, {"malformed", "truncated"}, {"timeout"}, {"reset", "wrong-n", "500"},
		{"429", "429", "429", "429"},        // four faults, then success on the fifth and last attempt
		{"500", "500", "500", "500", "500"}, // one fault too many: gives up
		{"malformed", "timeout", "reset", "truncated", "503", "pass"},
		{"empty", "nologprobs"}, // a reply without the text or the log-probabilities asked for is retried
		{"empty", "empty", "nologprobs", "empty", "nologprobs"},
	}
	wantOK := []bool{true, true, true, true, true, true, true, false, false, true, false}
	for i, p := range plans {
		proxy.plans[int64(100+i)] = p
	}
	c, err := openai.NewClient(context.Background(), backend.Config{URL: ps.URL + "/v1", Model: "tiny",
		Timeout: 2 * time.Second, MaxRetries: maxRetries, BreakerFails: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var waits []time.Duration
	openai.SetSleep(c, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return nil
	})
	frames := backendtest.Frames(t, 4)
	type result struct {
		resp *backend.ChatResponse
		err  error
	}
	results := make([]result, len(plans))
	var wg sync.WaitGroup
	for i := range plans {
		wg.Go(func() {
			r, err := c.Chat(context.Background(), backendtest.Question(frames, 2, int64(100+i)))
			results[i] = result{r, err}
		})
	}
	wg.Wait()
	for i, res := range results {
		seed := int64(100 + i)
		want, err := b.Chat(context.Background(), backendtest.Question(frames, 2, seed))
		if err != nil {
			t.Fatal(err)
		}
		attempts := proxy.attempts[seed]
		switch {
		case wantOK[i] && res.err != nil:
			t.Errorf("plan %v: %v", plans[i], res.err)
		case wantOK[i] && !reflect.DeepEqual(res.resp.Choices, want.Choices):
			t.Errorf("plan %v: answer differs from the fault-free one", plans[i])
		case wantOK[i] && attempts != len(plans[i])+1 && !(len(plans[i]) == 0 && attempts == 1):
			t.Errorf("plan %v: %d attempts, want %d", plans[i], attempts, len(plans[i])+1)
		case !wantOK[i]:
			var be *backend.Error
			if res.err == nil || !errors.As(res.err, &be) || be.Attempts != maxRetries+1 || !backend.Retryable(res.err) ||
				!strings.Contains(res.err.Error(), "after 5 attempts") || attempts != maxRetries+1 {
				t.Errorf("plan %v: got %v after %d attempts, want a retryable error after %d", plans[i], res.err, attempts, maxRetries+1)
			}
		}
	}
	got := map[time.Duration]int{}
	for _, d := range waits {
		got[d]++
	}
	// 429s with Retry-After: 3 → 1 + 4 (plans 2 and 6); 503 with Retry-After: 2 → 1 (plan 2; plan
	// 8's 503 is its last attempt). Every other wait is a jittered backoff below BackoffMax.
	if got[3*time.Second] != 5 || got[2*time.Second] != 1 {
		t.Errorf("waits %v: want five of 3s (429) and one of 2s (503)", got)
	}
	st := c.Stats()
	if st.Failures != 3 || st.Calls != 8 {
		t.Errorf("stats %+v: want 8 calls and 3 failures", st)
	}
	if err := results[10].err; err == nil || !errors.Is(err, backend.ErrBadResponse) || !strings.Contains(err.Error(), "log-probabilities were asked for") {
		t.Errorf("plan %v: %v, want a bad response naming the missing log-probabilities", plans[10], err)
	}
}

// A server that keeps failing opens the breaker: calls fail fast without reaching it, until the
// cool-off lets one probe through.
func TestCircuitBreaker(t *testing.T) {
	var hits, healthy sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := hits.LoadOrStore("n", new(int))
		*n.(*int)++
		if _, ok := healthy.Load("yes"); ok {
			w.Write([]byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{}}`))
			return
		}
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	c, err := openai.NewClient(context.Background(), backend.Config{URL: srv.URL, Model: "m", MaxRetries: 1,
		BreakerFails: 3, BreakerCooloff: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	openai.SetSleep(c, func(context.Context, time.Duration) error { return nil })
	req := &backend.ChatRequest{Messages: []backend.Message{backend.TextMessage("user", "hi")}}
	count := func() int { n, _ := hits.Load("n"); return *n.(*int) }
	c.Chat(context.Background(), req)          // attempts 1, 2
	_, err = c.Chat(context.Background(), req) // attempt 3 opens the breaker; the retry fails fast
	if n := count(); n != 3 {
		t.Fatalf("%d attempts reached the server, want 3", n)
	}
	// Refused by the breaker, the call still says what failed: its own attempt and the breaker's cause.
	be := &backend.Error{Status: -1}
	if !errors.Is(err, backend.ErrCircuitOpen) || !errors.As(err, &be) || be.Status != 0 ||
		strings.Count(err.Error(), "down") != 2 || !strings.Contains(err.Error(), "3 failed attempts in a row") {
		t.Errorf("breaker opened during a call: %v (status %d), want both the breaker's and the call's failure (the 502's body)", err, be.Status)
	}
	_, err = c.Chat(context.Background(), req)
	if !errors.Is(err, backend.ErrCircuitOpen) || count() != 3 || !strings.Contains(err.Error(), "down") {
		t.Fatalf("open breaker: got %v with %d hits, want the failure that opened it in the message", err, count())
	}
	time.Sleep(200 * time.Millisecond)
	healthy.Store("yes", true)
	if _, err := c.Chat(context.Background(), req); err != nil || count() != 4 {
		t.Fatalf("after cool-off: %v, %d hits", err, count())
	}
}

// MaxRetries −1 means one attempt and no retry, through backend.Open too (which applies the
// defaults before the client applies them again).
func TestNoRetries(t *testing.T) {
	var hits sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := hits.LoadOrStore("n", new(int))
		*n.(*int)++
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	b, err := backend.Open(context.Background(), backend.Config{Name: "openai", URL: srv.URL, Model: "m", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = b.Chat(context.Background(), &backend.ChatRequest{Messages: []backend.Message{backend.TextMessage("user", "hi")}})
	n, _ := hits.Load("n")
	be := &backend.Error{}
	if !errors.As(err, &be) || be.Attempts != 1 || *n.(*int) != 1 {
		t.Errorf("%v: %d attempts reached the server, the error says %d; want exactly 1", err, *n.(*int), be.Attempts)
	}
}
