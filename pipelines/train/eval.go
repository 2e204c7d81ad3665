package train

import (
	"strings"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/schemas"
)

// Decoder turns token ids back into text.
type Decoder interface {
	Decode(ids []int) string
	EOSID() int
}

// answerStart is the position of the first trained token of e (the start of the answer).
func answerStart(e *Encoded) int {
	for i, l := range e.Labels {
		if l != model.IgnoreIndex {
			return i
		}
	}
	return len(e.Labels)
}

// Normalize lower-cases an answer and trims spaces and final punctuation, for exact match.
func Normalize(s string) string {
	return strings.Trim(strings.ToLower(strings.TrimSpace(s)), " .!?,;:\"'")
}

// shortAnswerHits generates (greedy) an answer for each example and says whether the normalised
// answer equals the example's gold short answer.
func shortAnswerHits(m *model.Model, dec Decoder, es []*Encoded, videoOf func(*Example) []float32) ([]bool, error) {
	hits := make([]bool, len(es))
	for k, e := range es {
		s := answerStart(e)
		out, err := m.Greedy(e.Tokens[:s], e.VideoAt, videoOf(e.Example), 8, dec.EOSID())
		if err != nil {
			return nil, err
		}
		ids := make([]int, len(out))
		for i, t := range out {
			ids[i] = int(t)
		}
		hits[k] = Normalize(dec.Decode(ids)) == Normalize(e.Example.Gold)
	}
	return hits, nil
}

// JudgeAccuracy reads the judge's verdict from the next-token logits of the two letters at the
// answer position (as the reference recommends) and counts agreements with the ground truth.
func JudgeAccuracy(m *model.Model, tok ChatEncoder, es []*Encoded, videoOf func(*Example) []float32) (float64, error) {
	if len(es) == 0 {
		return 0, nil
	}
	letterID := func(e *Encoded, letter string) (int32, error) {
		conv := append([]schemas.Turn(nil), e.Example.Conv...)
		conv[len(conv)-1].Value = letter
		alt := *e.Example
		alt.Conv = conv
		enc, err := Encode(tok, &alt, m.Config.VideoTokens())
		if err != nil {
			return 0, err
		}
		return enc.Tokens[answerStart(&enc)], nil
	}
	hits := 0
	for _, e := range es {
		a, err := letterID(e, "A")
		if err != nil {
			return 0, err
		}
		b, err := letterID(e, "B")
		if err != nil {
			return 0, err
		}
		s := answerStart(e)
		batch := &model.Batch{B: 1, T: s, Tokens: e.Tokens[:s], Targets: make([]int32, s), VideoAt: []int{e.VideoAt}, Patches: videoOf(e.Example)}
		for i := range batch.Targets {
			batch.Targets[i] = model.IgnoreIndex
		}
		if _, err := m.Forward(batch); err != nil {
			return 0, err
		}
		logits := m.Logits(s - 1)
		verdict := "A"
		if logits[b] > logits[a] {
			verdict = "B"
		}
		if verdict == e.Example.Gold {
			hits++
		}
	}
	return float64(hits) / float64(len(es)), nil
}

// likelihoodJudgeHits judges each pair the other way the model can: by scoring. For the user turn
// promptOf gives (the question alone, or with a narrative as the likelihood judge asks it), it
// compares the mean per-token log-probability of " response</s>" for A and for B and picks the
// likelier; it says for each pair whether that agrees with the ground truth.
func likelihoodJudgeHits(m *model.Model, tok ChatEncoder, es []*Encoded, videoOf func(*Example) []float32, promptOf func(*Example) string) ([]bool, error) {
	hits := make([]bool, len(es))
	for n, e := range es {
		var score [2]float64
		for i, resp := range e.Example.Responses {
			ex := *e.Example
			ex.Conv = []schemas.Turn{{From: "human", Value: promptOf(e.Example)}, {From: "gpt", Value: resp}}
			enc, err := Encode(tok, &ex, m.Config.VideoTokens())
			if err != nil {
				return nil, err
			}
			s := answerStart(&enc)
			lp, err := m.Score(model.Prompt{Tokens: enc.Tokens[:s], VideoAt: enc.VideoAt, Patches: videoOf(e.Example)}, enc.Tokens[s:])
			if err != nil {
				return nil, err
			}
			for _, v := range lp {
				score[i] += float64(v)
			}
			score[i] /= float64(len(lp))
		}
		verdict := "A"
		if score[1] > score[0] {
			verdict = "B"
		}
		hits[n] = verdict == e.Example.Gold
	}
	return hits, nil
}

// questionPrompt asks a judging pair's question about the video, as the policy is asked.
func questionPrompt(ex *Example) string { return "<video>\n" + ex.Question }
