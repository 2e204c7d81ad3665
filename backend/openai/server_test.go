package openai_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/backend/builtin"
	"github.com/vrlaif/vrlaif/backend/openai"
)

func post(t *testing.T, url, key, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/chat/completions", strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// Every limit answers with the right status and an OpenAI-style error that says what to change.
func TestServerLimits(t *testing.T) {
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(openai.Handler(b, openai.ServerOptions{MaxBodyBytes: 4096, MaxNewTokens: 16, MaxImages: 2, MaxN: 3, APIKey: "k"}))
	defer srv.Close()
	img := "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(backendtest.Frames(t, 1)[0])
	withImages := func(n int) string {
		parts := []string{`{"type":"text","text":"What color?"}`}
		for range n {
			parts = append(parts, fmt.Sprintf(`{"type":"image_url","image_url":{"url":%q}}`, img))
		}
		return `{"messages":[{"role":"user","content":[` + strings.Join(parts, ",") + `]}],"max_tokens":4}`
	}
	for _, c := range []struct {
		name, key, body string
		status          int
		says            string
	}{
		{"no key", "", `{"messages":[{"role":"user","content":"hi"}]}`, 401, "API key"},
		{"ok", "k", withImages(2), 200, `"finish_reason"`},
		{"too many images", "k", withImages(3), 400, "more than 2 images"},
		{"body too big", "k", `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`, 413, "larger than 4096"},
		{"n", "k", `{"n":4,"messages":[{"role":"user","content":"hi"}]}`, 400, "at most 3"},
		{"max_tokens", "k", `{"max_tokens":17,"messages":[{"role":"user","content":"hi"}]}`, 400, "at most 16"},
		{"stream", "k", `{"stream":true,"messages":[{"role":"user","content":"hi"}]}`, 400, "streaming"},
		{"model", "k", `{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}`, 404, "not served here"},
		{"remote image", "k", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://169.254.169.254/x.jpg"}}]}]}`, 400, "fetches no URLs"},
		{"malformed", "k", `{"messages":[`, 400, "malformed JSON"},
		{"bad image", "k", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,AAAA"}},{"type":"text","text":"?"}]}]}`, 400, "frame 0"},
	} {
		status, body, _ := post(t, srv.URL, c.key, c.body)
		if status != c.status || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, status, body, c.status, c.says)
		}
		if status != 200 {
			var e struct {
				Error map[string]any
			}
			if json.Unmarshal([]byte(body), &e) != nil || e.Error["message"] == "" {
				t.Errorf("%s: error body is not OpenAI-shaped: %s", c.name, body)
			}
			for _, k := range []string{"type", "param", "code"} { // present, null where nothing applies
				if _, ok := e.Error[k]; !ok {
					t.Errorf("%s: error object has no %q: %s", c.name, k, body)
				}
			}
			if want := map[string]string{"n": "n", "max_tokens": "max_tokens", "stream": "stream", "model": "model"}[c.name]; want != "" && e.Error["param"] != want {
				t.Errorf("%s: param %v, want %q", c.name, e.Error["param"], want)
			}
		}
	}
}

// Requests for other endpoints, or known ones with another method, get OpenAI-shaped JSON
// errors (404, 405 with Allow), not the router's plain text.
func TestServerUnknownEndpoints(t *testing.T) {
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(openai.Handler(b, openai.ServerOptions{}))
	defer srv.Close()
	for _, c := range []struct {
		method, path string
		status       int
		allow, says  string
	}{
		{"POST", "/v1/completions", 404, "", "no such endpoint"},
		{"GET", "/v1/embeddings", 404, "", "POST /v1/chat/completions"},
		{"GET", "/v1/chat/completions", 405, "POST", "takes POST"},
		{"DELETE", "/v1/models", 405, "GET", "takes GET"},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error struct{ Message, Type string }
		}
		if resp.StatusCode != c.status || resp.Header.Get("Allow") != c.allow || json.Unmarshal(body, &e) != nil ||
			!strings.Contains(e.Error.Message, c.says) || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d Allow=%q %s", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), body)
		}
	}
}

// slowBackend holds every call until released, to fill the server's queue.
type slowBackend struct {
	backend.Backend
	release chan struct{}
}

func (s *slowBackend) Chat(ctx context.Context, r *backend.ChatRequest) (*backend.ChatResponse, error) {
	<-s.release
	return &backend.ChatResponse{Choices: []backend.Choice{{Text: "ok", FinishReason: "stop"}}}, nil
}

func (s *slowBackend) Info() backend.Info { return backend.Info{Model: "slow"} }

// Beyond MaxInFlight running and MaxQueue waiting, requests get 429 with Retry-After; the queued
// ones complete once the backend frees up.
func TestServerQueueLimit(t *testing.T) {
	sb := &slowBackend{release: make(chan struct{})}
	srv := httptest.NewServer(openai.Handler(sb, openai.ServerOptions{MaxInFlight: 1, MaxQueue: 2}))
	defer srv.Close()
	body := `{"messages":[{"role":"user","content":"hi"}]}`
	var wg sync.WaitGroup
	codes := make(chan int, 3)
	for range 3 { // one runs, two wait
		wg.Go(func() { s, _, _ := post(t, srv.URL, "", body); codes <- s })
	}
	time.Sleep(500 * time.Millisecond) // let the three reach the server (no timing is asserted)
	status, _, h := post(t, srv.URL, "", body)
	if status != 429 || h.Get("Retry-After") != "1" {
		t.Errorf("fourth request: %d, Retry-After %q; want 429 and 1", status, h.Get("Retry-After"))
	}
	close(sb.release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("queued request ended %d", c)
		}
	}
}

// A temperature so small that logits/T overflows float32 (1e-39) answers like greedy decoding,
// with a valid JSON body and finite log-probabilities; it used to be HTTP 200 with an empty body
// (the encoder failed on a NaN log-probability).
func TestServerTinyTemperature(t *testing.T) {
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(openai.Handler(b, openai.ServerOptions{}))
	defer srv.Close()
	type reply struct {
		Choices []struct {
			Message  struct{ Content string }
			LogProbs struct {
				Content []struct {
					Token   string
					LogProb float64
				}
			}
		}
	}
	ask := func(temp string) reply {
		t.Helper()
		status, body, _ := post(t, srv.URL, "", `{"messages":[{"role":"user","content":"hi"}],"temperature":`+temp+`,"max_tokens":3,"logprobs":true}`)
		var r reply
		if err := json.Unmarshal([]byte(body), &r); status != 200 || err != nil || len(r.Choices) != 1 || len(r.Choices[0].LogProbs.Content) == 0 {
			t.Fatalf("temperature %s: %d %q (%v)", temp, status, body, err)
		}
		return r
	}
	tiny, greedy := ask("1e-39"), ask("0")
	if got, want := tiny.Choices[0].Message.Content, greedy.Choices[0].Message.Content; got != want {
		t.Errorf("temperature 1e-39 said %q, greedy %q", got, want)
	}
	for _, c := range tiny.Choices[0].LogProbs.Content {
		if c.LogProb > 0 || c.LogProb < -1e-6 { // the argmax's probability rounds to 1 in float32
			t.Errorf("token %q: logprob %v, want 0 within 1e-6", c.Token, c.LogProb)
		}
	}
	// JSON cannot carry NaN or Inf; a number beyond float64's range is malformed.
	if status, body, _ := post(t, srv.URL, "", `{"messages":[{"role":"user","content":"hi"}],"temperature":1e999}`); status != 400 {
		t.Errorf("temperature 1e999: %d %s, want 400", status, body)
	}
}

// An image above model.MaxFramePixels (a one-colour PNG: a few KB on the wire) is a 400 that
// names the limit, refused from its header instead of decoded (8000×8000 took 5.8 s and 500 MB).
func TestServerRefusesHugeImage(t *testing.T) {
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(openai.Handler(b, openai.ServerOptions{}))
	defer srv.Close()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 3841, 2160))); err != nil {
		t.Fatal(err)
	}
	url := "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
	body := `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"` + url + `"}},{"type":"text","text":"?"}]}],"max_tokens":2}`
	if status, out, _ := post(t, srv.URL, "", body); status != 400 || !strings.Contains(out, "3841x2160") || !strings.Contains(out, "8294400") {
		t.Errorf("a 3841x2160 image: %d %s, want 400 naming its size and the limit", status, out)
	}
}
