package train

import (
	"fmt"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/schemas"
)

// ChatEncoder is what SFT needs from a tokenizer: the chat template with the seed's loss mask.
type ChatEncoder interface {
	EncodeChat(conv []schemas.Turn) (ids, labels []int)
	VideoID() int
	PadID() int
}

// Encoded is an example as model input: the video placeholder expanded to the model's video
// positions (token −1), and per-position labels (model.IgnoreIndex where no loss is taken).
type Encoded struct {
	Example *Example
	Tokens  []int32
	Labels  []int32
	VideoAt int
	Answer  int // number of trained label tokens (the curriculum's notion of length)
}

// Encode applies the chat template and expands the video placeholder into videoTokens positions.
func Encode(tok ChatEncoder, ex *Example, videoTokens int) (Encoded, error) {
	ids, labels := tok.EncodeChat(ex.Conv)
	e := Encoded{Example: ex, VideoAt: -1}
	for i, id := range ids {
		if id == tok.VideoID() {
			if e.VideoAt >= 0 {
				return e, fmt.Errorf("train: example of %s has two videos", ex.ClipID)
			}
			e.VideoAt = len(e.Tokens)
			for j := 0; j < videoTokens; j++ {
				e.Tokens = append(e.Tokens, -1)
				e.Labels = append(e.Labels, model.IgnoreIndex)
			}
			continue
		}
		e.Tokens = append(e.Tokens, int32(id))
		l := int32(labels[i])
		if labels[i] < 0 {
			l = model.IgnoreIndex
		} else {
			e.Answer++
		}
		e.Labels = append(e.Labels, l)
	}
	return e, nil
}

// MakeBatch pads encoded examples to the longest one rounded up to a multiple of 64 (right
// padding with pad, no loss there; few distinct shapes let the model reuse its buffers), capped at
// maxT, and shifts labels into next-token targets. videos gives each example's patches. weighted
// makes every example count the same in the loss (each token weighs 1/answer length) instead of
// every token: a one-letter verdict then matters as much as a hundred-token description.
func MakeBatch(es []*Encoded, pad int, videos func(*Example) []float32, patchLen, maxT int, weighted bool) *model.Batch {
	T := 0
	for _, e := range es {
		T = max(T, len(e.Tokens))
	}
	T = min(maxT, (T+63)/64*64)
	b := &model.Batch{B: len(es), T: T, Tokens: make([]int32, len(es)*T), Targets: make([]int32, len(es)*T),
		VideoAt: make([]int, len(es)), Patches: make([]float32, len(es)*patchLen)}
	if weighted {
		b.Weights = make([]float32, len(es)*T)
	}
	for r, e := range es {
		row, tg := b.Tokens[r*T:(r+1)*T], b.Targets[r*T:(r+1)*T]
		for t := range row {
			row[t], tg[t] = int32(pad), model.IgnoreIndex
		}
		copy(row, e.Tokens)
		for t := 0; t+1 < len(e.Labels); t++ {
			tg[t] = e.Labels[t+1]
		}
		b.VideoAt[r] = e.VideoAt
		if weighted && e.Answer > 0 {
			for t := range tg {
				b.Weights[r*T+t] = 1 / float32(e.Answer)
			}
		}
		if e.VideoAt >= 0 {
			copy(b.Patches[r*patchLen:(r+1)*patchLen], videos(e.Example))
		}
	}
	return b
}
