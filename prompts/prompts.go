// Package prompts holds vrlaif's prompt templates as versioned files (templates/NAME.txt, Go
// text/template syntax), embedded in the binary. A template's name includes its version
// ("judge-v1"); the name travels with every row a model produced from it and is part of the call
// cache's key, so editing a template means adding a new version, never changing an old one.
package prompts

import (
	"bytes"
	"embed"
	"fmt"
	"sort"
	"strings"
	"text/template"
)

//go:embed templates/*.txt
var files embed.FS

// Template names.
const (
	Narrative      = "narrative-v1"       // "Describe this video in detail." per sub-clip (reference §6)
	Judge          = "judge-v1"           // narrative as context + question + A + B, the seed's four criteria, one letter
	JudgeNoContext = "judge-nocontext-v1" // the ablation: the same without the narrative
	// The likelihood judge's prompts (a fill-in, not the original's): the narrative as context and
	// the question, to which each response is scored as the reply; and the ablation, the question
	// alone. SFT on a synthetic world trains the same text ("context_qa" examples).
	JudgeLikelihood          = "judge-likelihood-v1"
	JudgeLikelihoodNoContext = "judge-likelihood-nocontext-v1"
	Answer                   = "answer-v1" // the question as asked (no template text added)
	Reward                   = "reward-v1" // the reward model's evaluation turn (reference §3.2, {factual_prompt} removed)

	// The Video-ChatGPT benchmark's judging instructions, paraphrased (reference §5.2, §5.3): a
	// system message per axis, and the user message that gives the question, the reference and the
	// prediction and asks for only a dict.
	EvalCorrectness = "eval-correctness-v1"
	EvalDetail      = "eval-detail-v1"
	EvalContext     = "eval-context-v1"
	EvalTemporal    = "eval-temporal-v1"
	EvalConsistency = "eval-consistency-v1"
	EvalQA          = "eval-qa-v1"
	EvalUser        = "eval-user-v1"             // question / correct answer / predicted answer → {'score': n}
	EvalUserPair    = "eval-user-consistency-v1" // both questions and answers → {'score': n}
	EvalUserQA      = "eval-user-qa-v1"          // → {'pred': 'yes'|'no', 'score': n}
)

// RewardAnswerPrefix is what the assistant's turn starts with after the evaluation turn; the
// reward is read at its last token (reference §3.2).
const RewardAnswerPrefix = " Following your definitions, the quality score of my last response is"

var parsed = map[string]*template.Template{}

func init() {
	entries, err := files.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := files.ReadFile("templates/" + e.Name())
		if err != nil {
			panic(err)
		}
		name := strings.TrimSuffix(e.Name(), ".txt")
		parsed[name] = template.Must(template.New(name).Option("missingkey=error").Parse(strings.TrimRight(string(b), "\n")))
	}
	parsed[Answer] = template.Must(template.New(Answer).Parse("{{.Question}}"))
}

// Names lists the templates.
func Names() []string {
	var out []string
	for n := range parsed {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Fields fill a template; each template uses some of them.
type Fields struct {
	Context  string // the narrative
	Question string
	A, B     string // the two responses, in the order shown
	// Evaluation: the reference answer, the model's prediction, and for consistency the second
	// phrasing and its prediction.
	Reference, Prediction  string
	Question2, Prediction2 string
}

// Render fills the named template.
func Render(name string, f Fields) (string, error) {
	t, ok := parsed[name]
	if !ok {
		return "", fmt.Errorf("prompts: no template %q (have %v)", name, Names())
	}
	var b bytes.Buffer
	if err := t.Execute(&b, f); err != nil {
		return "", fmt.Errorf("prompts: %s: %w", name, err)
	}
	return b.String(), nil
}

// MustRender is Render for templates and fields known to be valid.
func MustRender(name string, f Fields) string {
	s, err := Render(name, f)
	if err != nil {
		panic(err)
	}
	return s
}

// JoinCaptions makes a narrative from sub-clip descriptions: "Clip 1: …\nClip 2: …".
func JoinCaptions(captions []string) string {
	var b strings.Builder
	for i, c := range captions {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Clip %d: %s", i+1, c)
	}
	return b.String()
}
