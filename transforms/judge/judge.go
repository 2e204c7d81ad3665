// Package judge labels preferences with a context-aware judge (reference §6): each pair of
// answers to a question is shown to the judge with the question, the video and (by default) the
// clip's narrative as context, in both orders; the verdict is read from the probabilities of "A"
// and "B" where the backend gives them, else parsed from its reply; a pair is labeled only when the
// two orders agree, and kept with the reason when they do not. The likelihood judge (a fill-in)
// instead scores each answer as the judge's own reply to the question with the narrative as
// context, and prefers the likelier one per token.
package judge

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
)

// Stage names.
const (
	PairsStage = "pairs"
	Stage      = "judge"
)

// Reasons a pair has no label.
const (
	ReasonDisagree   = "orders_disagree"
	ReasonUnreadable = "unreadable_verdict"
	ReasonTie        = "tie"
)

// Verdict methods: how a verdict was read.
const (
	MethodLogProbs   = "logprobs"   // p(A) vs p(B) as the next token
	MethodParsed     = "parsed"     // the letter in a greedy reply
	MethodLikelihood = "likelihood" // each answer's mean log-probability per token as the reply
)

// Judging methods (Params.Method).
const (
	// JudgeVerdict asks which answer is better and reads the letter (reference §6).
	JudgeVerdict = "verdict"
	// JudgeLikelihood scores each answer as the judge's reply to the question, asked with the
	// narrative as context (prompts.JudgeLikelihood), and prefers the one with the higher mean
	// log-probability per token: p(A) = σ(mean₁ − mean₂). A fill-in for small judges that have not
	// learned the verdict letter: it needs a backend that scores whole replies (the built-in
	// model). It has no answer order, so the swapped verdict mirrors the forward one.
	JudgeLikelihood = "likelihood"
)

// Decision rules for turning the two orders' verdicts into a label.
const (
	// DecideAgree labels a pair only when both orders pick the same response (reference §6).
	DecideAgree = "agree"
	// DecideAverage labels a pair by the mean of the two orders' p(output_1 better), which cancels
	// a judge's constant position bias (the reference's other option: "or average the A/B
	// probabilities"). Pairs whose orders disagree still carry that reason in Reason.
	DecideAverage = "average"
)

// Params configure the judge.
type Params struct {
	Backend backend.Config `json:"backend"`
	Method  string         `json:"method,omitempty"` // JudgeVerdict (default; "" too) or JudgeLikelihood
	// Template: prompts.Judge (the verdict's default) or prompts.JudgeNoContext; for the
	// likelihood judge prompts.JudgeLikelihood (its default) or prompts.JudgeLikelihoodNoContext.
	Template  string `json:"template"`
	MaxTokens int    `json:"max_tokens"` // for a parsed verdict (default 8)
	Decision  string `json:"decision"`   // DecideAgree (default) or DecideAverage
}

// WithDefaults fills unset fields.
func (p Params) WithDefaults() Params {
	if p.Method == JudgeVerdict { // "" is the verdict: output folders recorded before the method existed match
		p.Method = ""
	}
	if with, _, ok := Templates(p.Method); ok && p.Template == "" {
		p.Template = with
	}
	if p.MaxTokens <= 0 {
		p.MaxTokens = 8
	}
	if p.Decision == "" {
		p.Decision = DecideAgree
	}
	return p
}

// Templates are a judging method's two templates: with the narrative as context, and without it
// (the ablation); ok is false for a method the judge does not know ("" is the verdict).
func Templates(method string) (withContext, noContext string, ok bool) {
	switch method {
	case "", JudgeVerdict:
		return prompts.Judge, prompts.JudgeNoContext, true
	case JudgeLikelihood:
		return prompts.JudgeLikelihood, prompts.JudgeLikelihoodNoContext, true
	}
	return "", "", false
}

// MethodOf is the judging method a template belongs to ("" for a template of neither).
func MethodOf(template string) string {
	for _, m := range []string{JudgeVerdict, JudgeLikelihood} {
		if with, without, _ := Templates(m); template == with || template == without {
			return m
		}
	}
	return ""
}

// Validate reports a method the judge does not know, or a template that is not the method's.
func (p Params) Validate() error {
	with, without, ok := Templates(p.Method)
	switch {
	case !ok:
		return fmt.Errorf("judge: unknown method %q (verdict or likelihood)", p.Method)
	case p.Template != with && p.Template != without:
		return fmt.Errorf("judge: template %q is not one of the %s judge's (%s, %s)", p.Template, cmp.Or(p.Method, JudgeVerdict), with, without)
	}
	return nil
}

// WithContext says whether the template shows the narrative.
func (p Params) WithContext() bool {
	return p.Template != prompts.JudgeNoContext && p.Template != prompts.JudgeLikelihoodNoContext
}

// Pair is two different answers to one question about one clip, ready to judge.
type Pair struct {
	ClipID     string
	VideoID    string
	QuestionID string
	Question   string
	Frames     [][]byte
	Context    string
	R1, R2     schemas.Response // stored as output_1 and output_2
}

// PreferenceID is a judged pair's deterministic id (rule: the template and the decision rule).
func PreferenceID(r1, r2 string, judge backend.Info, rule string) string {
	sum := sha256.Sum256([]byte(r1 + "\x00" + r2 + "\x00" + judge.Backend + "\x00" + judge.Model + "\x00" + judge.Revision + "\x00" + rule))
	return hex.EncodeToString(sum[:16])
}

// Judge labels one pair: both orders, then agreement. When the prompt is longer than the judge's
// context (backend.ErrContextLength), the narrative is shortened until both orders fit (at most
// MaxShortenings times): the row's Context is what the judge saw, ContextDropped how many
// characters of the narrative it did not see.
func Judge(ctx context.Context, b backend.Backend, pr Pair, p Params) (schemas.Preference, error) {
	info := b.Info()
	if err := p.Validate(); err != nil {
		return schemas.Preference{}, err
	}
	out := schemas.Preference{ID: PreferenceID(pr.R1.ID, pr.R2.ID, info, p.Template+"/"+p.Decision), ClipID: pr.ClipID, VideoID: pr.VideoID,
		QuestionID: pr.QuestionID, Question: pr.Question, Response1: pr.R1.ID, Response2: pr.R2.ID,
		Output1: pr.R1.Text, Output2: pr.R2.Text, Images: pr.R1.Images,
		Judge: schemas.ModelRef{Backend: info.Backend, Model: info.Model, Revision: info.Revision, Template: p.Template}}
	if p.WithContext() {
		out.Context = pr.Context
	}
	full := utf8.RuneCountInString(out.Context)
	for tries := 0; ; tries++ {
		err := bothOrders(ctx, b, pr, p, &out)
		var tooLong *backend.ContextLengthError
		if err == nil {
			break
		}
		if !errors.As(err, &tooLong) || out.Context == "" || tries == MaxShortenings {
			if tooLong != nil && full > 0 {
				err = fmt.Errorf("%w (the narrative shortened %d times, from %d to %d characters)", err, tries, full, utf8.RuneCountInString(out.Context))
			}
			return out, err
		}
		text, _ := prompts.Render(p.Template, prompts.Fields{Context: out.Context, Question: pr.Question, A: pr.R1.Text, B: pr.R2.Text})
		out.Context = shortenContext(out.Context, utf8.RuneCountInString(text), tooLong)
		out.ContextDropped = int32(full - utf8.RuneCountInString(out.Context))
	}
	Decide(&out, p.Decision)
	out.CreatedMicros = time.Now().UnixMicro()
	return out, nil
}

// bothOrders asks the judge in both orders with out.Context, setting out.Forward and out.Swapped
// (the likelihood judge scores once: it has no order).
func bothOrders(ctx context.Context, b backend.Backend, pr Pair, p Params, out *schemas.Preference) error {
	if p.Method == JudgeLikelihood {
		return likelihood(ctx, b, pr, p, out)
	}
	var err error
	if out.Forward, err = verdict(ctx, b, pr.Frames, prompts.Fields{Context: out.Context, Question: pr.Question, A: pr.R1.Text, B: pr.R2.Text}, p); err != nil {
		return fmt.Errorf("judging (A=output_1): %w", err)
	}
	if out.Swapped, err = verdict(ctx, b, pr.Frames, prompts.Fields{Context: out.Context, Question: pr.Question, A: pr.R2.Text, B: pr.R1.Text}, p); err != nil {
		return fmt.Errorf("judging (A=output_2): %w", err)
	}
	return nil
}

// Decide sets Labeled, Chosen, ProbOutput1 and Reason from the two verdicts: output_1 is better
// in the forward order when p(A) > ½ and in the swapped order when p(A) < ½; with DecideAgree the
// pair is labeled when both orders say the same. ProbOutput1 is the mean of the two orders'
// p(output_1 better); with DecideAverage it alone decides the label (Reason still records a
// disagreement of the orders).
func Decide(pf *schemas.Preference, rule string) {
	f, s := pf.Forward, pf.Swapped
	p1, p2 := f.ProbA, 1-s.ProbA
	pf.ProbOutput1 = (p1 + p2) / 2
	switch {
	case f.Letter == "" || s.Letter == "":
		pf.Reason = ReasonUnreadable
	case p1 == 0.5 || p2 == 0.5:
		pf.Reason = ReasonTie
	case rule == DecideAverage:
		if (p1 > 0.5) != (p2 > 0.5) {
			pf.Reason = ReasonDisagree
		}
		if pf.ProbOutput1 != 0.5 {
			pf.Labeled, pf.Chosen = true, 1
			if pf.ProbOutput1 < 0.5 {
				pf.Chosen = 2
			}
		}
	case (p1 > 0.5) != (p2 > 0.5):
		pf.Reason = ReasonDisagree
	default:
		pf.Labeled, pf.Chosen = true, 1
		if p1 < 0.5 {
			pf.Chosen = 2
		}
	}
}

var letterRE = regexp.MustCompile(`^\W*\(?([AB])\b`)

// verdict asks the judge once: by the probabilities of "A" and "B" when the backend gives both
// exactly, else by parsing a short greedy reply.
func verdict(ctx context.Context, b backend.Backend, frames [][]byte, f prompts.Fields, p Params) (schemas.Verdict, error) {
	text, err := prompts.Render(p.Template, f)
	if err != nil {
		return schemas.Verdict{}, err
	}
	msgs := []backend.Message{backend.VideoMessage(frames, text)}
	sr, err := b.Score(ctx, &backend.ScoreRequest{Messages: msgs, Continuations: []string{"A", "B"}, Template: p.Template})
	if err != nil && !errors.Is(err, backend.ErrUnsupported) { // a bad reply is an error, not a reason to parse instead
		return schemas.Verdict{}, err
	}
	if err == nil && sr.Exact[0] && sr.Exact[1] {
		pa := 1 / (1 + math.Exp(sr.LogProbs[1]-sr.LogProbs[0]))
		v := schemas.Verdict{ProbA: pa, Method: MethodLogProbs}
		if pa > 0.5 {
			v.Letter = "A"
		} else if pa < 0.5 {
			v.Letter = "B"
		} else {
			v.Letter = "A" // an exact tie: Decide reports it
		}
		return v, nil
	}
	resp, err := b.Chat(ctx, &backend.ChatRequest{Messages: msgs, N: 1, Temperature: 0, MaxTokens: p.MaxTokens, Template: p.Template})
	if err != nil {
		return schemas.Verdict{}, err
	}
	v := schemas.Verdict{Method: MethodParsed, Raw: resp.Choices[0].Text, ProbA: 0.5}
	if m := letterRE.FindStringSubmatch(resp.Choices[0].Text); m != nil {
		v.Letter = m[1]
		v.ProbA = map[string]float64{"A": 1, "B": 0}[m[1]]
	}
	return v, nil
}
