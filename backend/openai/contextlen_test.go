package openai

import (
	"testing"
)

// Each server's words for a prompt too long (as their documentation and issue threads quote
// them) read as a context-length error with its sizes; other bad requests do not.
func TestContextLengthError(t *testing.T) {
	for _, c := range []struct {
		name, body  string
		need, limit int
		tooLong     bool
	}{
		{"vllm", `{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","code":400}`, 5000, 4096, true},
		{"openai", `{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9013 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`, 9013, 8192, true},
		{"sglang", `{"object":"error","message":"The input (5000 tokens) is longer than the model's context length (4096 tokens).","type":"BadRequestError"}`, 5000, 4096, true},
		{"tgi", "{\"error\":\"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`\",\"error_type\":\"validation\"}", 4200, 4096, true},
		{"code only", `{"error":{"message":"too long","type":"invalid_request_error","code":"context_length_exceeded"}}`, 0, 0, true},
		{"other 400", `{"error":{"message":"max_tokens must be at least 1","type":"invalid_request_error"}}`, 0, 0, false},
		{"not json", `Bad Request`, 0, 0, false},
	} {
		e := contextLengthError([]byte(c.body))
		if (e != nil) != c.tooLong {
			t.Errorf("%s: %v, want too long %v", c.name, e, c.tooLong)
			continue
		}
		if e != nil && (e.Need != c.need || e.Limit != c.limit || e.Detail == "") {
			t.Errorf("%s: need %d limit %d detail %q, want %d and %d", c.name, e.Need, e.Limit, e.Detail, c.need, c.limit)
		}
	}
}
