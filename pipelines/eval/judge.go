package eval

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
)

// Judges.
const (
	JudgeGroundTruth = "groundtruth" // the synthetic world's truth, rubric groundtruth-v1 (deterministic)
	JudgeOpenAI      = "openai"      // any OpenAI-compatible model with the benchmark's instructions
)

// JudgeConfig chooses the judge.
type JudgeConfig struct {
	Kind    string         `json:"kind"`
	Backend backend.Config `json:"backend"` // JudgeOpenAI: the judging model
	Retries int            `json:"retries"` // JudgeOpenAI: new attempts after a reply without a readable dict (default 2)
}

// ErrUnreadableVerdict is a judge reply that holds no readable score after every retry.
var ErrUnreadableVerdict = errors.New("eval: the judge's reply has no readable score")

type judge interface {
	name() string
	// score judges pred (and, for consistency, the second phrasing's pred2) on one axis.
	score(ctx context.Context, t schemas.Truth, axis string, item schemas.QAItem, pred string, second *schemas.QAItem, pred2 string) (Judgement, error)
	close()
}

func newJudge(ctx context.Context, c JudgeConfig) (judge, error) {
	switch c.Kind {
	case "", JudgeGroundTruth:
		return groundTruth{}, nil
	case JudgeOpenAI:
		b, err := backend.Open(ctx, c.Backend)
		if err != nil {
			return nil, fmt.Errorf("eval: the judge: %w", err)
		}
		if c.Retries <= 0 {
			c.Retries = 2
		}
		return &modelJudge{b: b, retries: c.Retries}, nil
	}
	return nil, fmt.Errorf("eval: judge must be %s or %s, got %q", JudgeGroundTruth, JudgeOpenAI, c.Kind)
}

type groundTruth struct{}

func (groundTruth) name() string { return GroundTruthRubric }
func (groundTruth) close()       {}

func (groundTruth) score(_ context.Context, t schemas.Truth, axis string, item schemas.QAItem, pred string, second *schemas.QAItem, pred2 string) (Judgement, error) {
	switch axis {
	case AxisCorrectness, AxisDetail, AxisContext:
		c, d, x := ScoreGeneric(t, item, pred)
		return map[string]Judgement{AxisCorrectness: c, AxisDetail: d, AxisContext: x}[axis], nil
	case AxisTemporal:
		return ScoreTemporal(item, pred), nil
	case AxisConsistency:
		if second == nil {
			return Judgement{}, errors.New("eval: consistency needs both phrasings")
		}
		return ScoreConsistency(item, *second, pred, pred2), nil
	case AxisQA:
		return ScoreQA(item, pred), nil
	}
	return Judgement{}, fmt.Errorf("eval: unknown axis %q", axis)
}

// modelJudge asks a model, one call per answer and axis, and reads the dict it replies with.
type modelJudge struct {
	b       backend.Backend
	retries int
}

func (m *modelJudge) name() string { return "openai:" + m.b.Info().Model }
func (m *modelJudge) close()       { m.b.Close() }

var systemTemplate = map[string]string{AxisCorrectness: prompts.EvalCorrectness, AxisDetail: prompts.EvalDetail,
	AxisContext: prompts.EvalContext, AxisTemporal: prompts.EvalTemporal, AxisConsistency: prompts.EvalConsistency, AxisQA: prompts.EvalQA}

func (m *modelJudge) score(ctx context.Context, _ schemas.Truth, axis string, item schemas.QAItem, pred string, second *schemas.QAItem, pred2 string) (Judgement, error) {
	sys, ok := systemTemplate[axis]
	if !ok {
		return Judgement{}, fmt.Errorf("eval: unknown axis %q", axis)
	}
	f := prompts.Fields{Question: item.Question, Reference: item.Answer, Prediction: pred}
	user := prompts.EvalUser
	switch {
	case axis == AxisQA:
		user, f.Reference = prompts.EvalUserQA, firstNonEmpty(item.Gold, item.Answer)
	case axis == AxisConsistency && second != nil:
		user, f.Question2, f.Prediction2 = prompts.EvalUserPair, second.Question, pred2
	}
	sysText, err := prompts.Render(sys, f)
	if err != nil {
		return Judgement{}, err
	}
	userText, err := prompts.Render(user, f)
	if err != nil {
		return Judgement{}, err
	}
	var last string
	for attempt := 0; attempt <= m.retries; attempt++ {
		resp, err := m.b.Chat(ctx, &backend.ChatRequest{Messages: []backend.Message{backend.TextMessage(backend.RoleSystem, sysText),
			backend.TextMessage(backend.RoleUser, userText)}, MaxTokens: 64, Seed: int64(attempt), Template: sys + "+" + user})
		if err != nil {
			return Judgement{}, err
		}
		if len(resp.Choices) == 0 {
			continue
		}
		last = resp.Choices[0].Text
		if j, ok := parseVerdict(last, axis == AxisQA); ok {
			j.Reason = fmt.Sprintf("%s (%s)", strings.TrimSpace(last), sys)
			return j, nil
		}
	}
	return Judgement{}, fmt.Errorf("%w after %d attempts: %q", ErrUnreadableVerdict, m.retries+1, truncate(last, 200))
}

var (
	scoreRe = regexp.MustCompile(`['"]score['"]\s*:\s*['"]?(\d+)`)
	predRe  = regexp.MustCompile(`['"]pred['"]\s*:\s*['"]\s*(yes|no)`)
)

// parseVerdict reads {'score': n} (and {'pred': 'yes'|'no'} when withPred) from a judge's reply,
// as the benchmark's scripts do: a score outside 0..5, or a missing key, is unreadable.
func parseVerdict(text string, withPred bool) (Judgement, bool) {
	low := strings.ToLower(text)
	m := scoreRe.FindStringSubmatch(low)
	if m == nil {
		return Judgement{}, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 0 || n > 5 {
		return Judgement{}, false
	}
	j := Judgement{Score: n}
	if withPred {
		p := predRe.FindStringSubmatch(low)
		if p == nil {
			return Judgement{}, false
		}
		j.Correct = p[1] == "yes"
	}
	return j, true
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
