package devmodel

import (
	"fmt"

	"github.com/vrlaif/vrlaif/gpu"
)

// Outputs of the last Forward beyond its loss, as package model gives them: what the PPO learner
// reads (log-probabilities, values, entropies).

// TokenLogProbs returns log p(targets[n]) for every position of the last Forward (0 where the
// target is ignored): model.TokenLogProbs. [B·T]
func (d *Decoder) TokenLogProbs() ([]float32, error) {
	if d.last == nil || !d.last.lm {
		return nil, fmt.Errorf("devmodel: no Forward yet (ForwardHeads computes no log-probabilities)")
	}
	out := make([]float32, len(d.last.hostLosses))
	for i, l := range d.last.hostLosses {
		out[i] = -l
	}
	return out, nil
}

// HeadOutputs returns head(fn[n]) = fn[n]·w + bias for every position of the last Forward
// (model.HeadOutputs), head being "value_head" or "reward_head". [B·T]
func (d *Decoder) HeadOutputs(head string) ([]float32, error) {
	a := d.last
	if a == nil {
		return nil, fmt.Errorf("devmodel: no Forward yet")
	}
	if _, ok := d.base.byName[head+".weight"]; !ok {
		return nil, fmt.Errorf("devmodel: the model has no %s", head)
	}
	N, C := a.B*a.T, d.cfg.HiddenSize
	out := make([]float32, N)
	err := d.dev.Run(func(q *gpu.Queue) {
		h := q.Scratch(N)
		q.Gemm(false, true, N, 1, C, 1, a.fn, C, d.W(head+".weight"), C, 0, h, 1)
		q.AddBias(h, d.W(head+".bias"), N, 1)
		q.Download(out, h)
	})
	return out, err
}

// Entropies returns the entropy (nats) of every position's next-token distribution from the last
// Forward (model.Entropy for each n). [B·T]
func (d *Decoder) Entropies() ([]float32, error) {
	a := d.last
	if a == nil || !a.lm {
		return nil, fmt.Errorf("devmodel: no Forward yet (ForwardHeads computes no distributions)")
	}
	N := a.B * a.T
	out := make([]float32, N)
	err := d.dev.Run(func(q *gpu.Queue) {
		e := q.Scratch(N)
		q.Entropy(e, a.probs, N, d.cfg.VocabSize)
		q.Download(out, e)
	})
	return out, err
}
