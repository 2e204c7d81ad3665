package judge

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
)

// ErrWholeReplies: the likelihood judge's backend cannot score whole answers.
var ErrWholeReplies = errors.New("the likelihood judge needs a backend that scores whole replies (the built-in model); use --judge verdict with this one")

// likelihood scores both answers as the reply to the likelihood prompt (the narrative as context
// where the template has it, and the question) and sets out.Forward (A = output_1) from their
// mean log-probabilities per token; out.Swapped is its mirror (the answers are scored apart, so
// their order cannot matter).
func likelihood(ctx context.Context, b backend.Backend, pr Pair, p Params, out *schemas.Preference) error {
	text, err := prompts.Render(p.Template, prompts.Fields{Context: out.Context, Question: pr.Question})
	if err != nil {
		return err
	}
	sr, err := b.Score(ctx, &backend.ScoreRequest{Messages: []backend.Message{backend.VideoMessage(pr.Frames, text)},
		Continuations: []string{pr.R1.Text, pr.R2.Text}, Template: p.Template})
	if err != nil {
		return fmt.Errorf("scoring both answers: %w", err)
	}
	if len(sr.LogProbs) != 2 || len(sr.Exact) != 2 || len(sr.Tokens) != 2 || !sr.Exact[0] || !sr.Exact[1] {
		return fmt.Errorf("%w: %s returned %d log-probabilities, exact %v, token counts %v", ErrWholeReplies, b.Info().Backend, len(sr.LogProbs), sr.Exact, sr.Tokens)
	}
	var mean [2]float64
	for i := range mean {
		if sr.Tokens[i] <= 0 || math.IsNaN(sr.LogProbs[i]) || math.IsInf(sr.LogProbs[i], 0) {
			return fmt.Errorf("judge: answer %d scored %v over %d tokens", i+1, sr.LogProbs[i], sr.Tokens[i])
		}
		mean[i] = sr.LogProbs[i] / float64(sr.Tokens[i])
	}
	pa := 1 / (1 + math.Exp(mean[1]-mean[0]))
	out.Forward = schemas.Verdict{ProbA: pa, Method: MethodLikelihood, Letter: letter(pa)}
	out.Swapped = schemas.Verdict{ProbA: 1 - pa, Method: MethodLikelihood, Letter: letter(1 - pa)}
	return nil
}

// letter is the verdict for p(A): "A" on a tie too (Decide reports ties).
func letter(pa float64) string {
	if pa < 0.5 {
		return "B"
	}
	return "A"
}

// CheckWholeReplies asks b once to score a two-word reply, so that a backend the likelihood judge
// cannot use is one clear error before any pair is judged (not a dead letter for every pair).
func CheckWholeReplies(ctx context.Context, b backend.Backend) error {
	sr, err := b.Score(ctx, &backend.ScoreRequest{Messages: []backend.Message{backend.TextMessage("user", "Is the square red?")},
		Continuations: []string{"Yes, it is."}, Template: "likelihood-check-v1"})
	if errors.Is(err, backend.ErrUnsupported) {
		return fmt.Errorf("%w (%v)", ErrWholeReplies, err)
	}
	if err != nil {
		return fmt.Errorf("checking that the judge scores whole replies: %w", err)
	}
	if len(sr.Tokens) != 1 || len(sr.Exact) != 1 || !sr.Exact[0] {
		return fmt.Errorf("%w: %s scores only a reply's first token", ErrWholeReplies, b.Info().Backend)
	}
	return nil
}
