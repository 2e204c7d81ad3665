package openai

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/vrlaif/vrlaif/backend"
)

// How servers say that a prompt is longer than the model's context (submatches: the sizes, named
// by the pattern's order).
var contextLengthPatterns = []struct {
	re          *regexp.Regexp
	limit, need []int // submatch indexes; need's are summed
}{
	// OpenAI and vLLM: "This model's maximum context length is 4096 tokens. However, you requested
	// 5000 tokens (4000 in the messages, 1000 in the completion)." / "... your messages resulted in 9000 tokens."
	{regexp.MustCompile(`(?i)maximum context length is (\d+) tokens.*?(?:requested|resulted in) (\d+) tokens`), []int{1}, []int{2}},
	// SGLang: "The input (5000 tokens) is longer than the model's context length (4096 tokens)."
	{regexp.MustCompile(`(?i)input \((\d+) tokens\) is longer than the model's context length \((\d+) tokens\)`), []int{2}, []int{1}},
	// TGI: "`inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`"
	{regexp.MustCompile("must be <= (\\d+)\\. Given: (\\d+) `inputs` tokens and (\\d+) `max_new_tokens`"), []int{1}, []int{2, 3}},
}

// contextLengthError reads an error reply (HTTP 4xx) as a backend.ContextLengthError when it says
// the prompt is too long (OpenAI's code context_length_exceeded, or the words of vLLM, SGLang or
// TGI), with the sizes where the words give them; nil otherwise.
func contextLengthError(data []byte) *backend.ContextLengthError {
	var e errorBody
	msg := string(data)
	code := ""
	if json.Unmarshal(data, &e) == nil {
		if e.Error.Message != "" {
			msg = e.Error.Message
		}
		code, _ = e.Error.Code.(string)
	}
	for _, p := range contextLengthPatterns {
		if m := p.re.FindStringSubmatch(msg); m != nil {
			return &backend.ContextLengthError{Limit: sum(m, p.limit), Need: sum(m, p.need), Detail: serverMessage(data)}
		}
	}
	low := strings.ToLower(msg)
	if code == "context_length_exceeded" || strings.Contains(low, "context length") || strings.Contains(low, "maximum context") {
		return &backend.ContextLengthError{Detail: serverMessage(data)}
	}
	return nil
}

func sum(m []string, idx []int) int {
	n := 0
	for _, i := range idx {
		v, _ := strconv.Atoi(m[i])
		n += v
	}
	return n
}

// contextLengthReply is the error reply for a prompt too long, in OpenAI's and vLLM's words, so
// that clients (this package's among them) can tell it from other bad requests and see the sizes.
func contextLengthReply(e *backend.ContextLengthError) errorBody {
	var b errorBody
	b.Error.Type, b.Error.Code = "invalid_request_error", "context_length_exceeded"
	b.Error.Message = fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens.", e.Limit, e.Need)
	return b
}
