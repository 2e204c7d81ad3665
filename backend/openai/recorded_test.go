package openai_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/openai"
)

// replay serves a recorded reply body for every chat completion.
func replay(t *testing.T, file string) *openai.Client {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := openai.NewClient(context.Background(), backend.Config{URL: srv.URL + "/v1", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A reply in the shape vLLM returns (n = 2, logprobs with top_logprobs, its -9999.0 for an
// impossible token, a token that is half a UTF-8 character, the end-of-sequence token listed,
// extra fields) parses into the right choices.
func TestParsesVLLMReply(t *testing.T) {
	c := replay(t, "testdata/vllm_chat_logprobs.json")
	resp, err := c.Chat(context.Background(), &backend.ChatRequest{Messages: []backend.Message{backend.TextMessage("user", "q")}, N: 2, LogProbs: true, TopLogProbs: 2})
	if err != nil {
		t.Fatal(err)
	}
	a, b := resp.Choices[0], resp.Choices[1]
	if a.Text != "The square is red." || a.FinishReason != "stop" || len(a.Tokens) != 6 || a.Tokens[5] != "</s>" ||
		a.LogProbs[3] != -0.3984 || len(a.Top[1]) != 2 || a.Top[1][1].Token != " shape" || a.Top[1][1].LogProb != -1.7656 {
		t.Errorf("choice 0: %+v", a)
	}
	if b.FinishReason != "length" || b.Tokens[1] != " \xe2\x96" || b.LogProbs[1] != -9999 {
		t.Errorf("choice 1: tokens %q logprobs %v", b.Tokens, b.LogProbs)
	}
	if resp.Usage != (backend.Usage{PromptTokens: 2067, CompletionTokens: 8}) || resp.Model != "LanguageBind/Video-LLaVA-7B-hf" {
		t.Errorf("usage %+v model %q", resp.Usage, resp.Model)
	}
}

// OpenAI's own reply shape, read as a judge's score: "A" matches exactly, "B" too, and a
// continuation not in the list gets the smallest listed value as an upper bound.
func TestScoresFromOpenAIReply(t *testing.T) {
	c := replay(t, "testdata/openai_chat_logprobs.json")
	resp, err := c.Score(context.Background(), &backend.ScoreRequest{Messages: []backend.Message{backend.TextMessage("user", "q")},
		Continuations: []string{"A", "B", "C"}})
	if err != nil {
		t.Fatal(err)
	}
	// A: "A" and " A" are both listed, so their probabilities add up.
	want := []float64{backend.LogAddExp(-0.12692805, -9.626928), -2.1269281, -9.626928}
	exact := []bool{true, true, false}
	for i := range want {
		if math.Abs(resp.LogProbs[i]-want[i]) > 1e-12 || resp.Exact[i] != exact[i] {
			t.Errorf("%s: %v (exact %v), want %v (exact %v)", []string{"A", "B", "C"}[i], resp.LogProbs[i], resp.Exact[i], want[i], exact[i])
		}
	}
}
