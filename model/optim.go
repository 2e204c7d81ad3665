package model

import (
	"math"

	"github.com/vrlaif/vrlaif/internal/vecmath"
)

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), over a model's flat buffers:
//
//	m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
//	w −= lr·( m/(1−β1ᵗ) / (sqrt(v/(1−β2ᵗ)) + ε) + λ·w )
//
// Weight decay applies to matrices only (not to norms, biases or the position embedding).
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float32
	m, v                           []float32
	params                         []Param
	decay                          []bool // per parameter
	step                           int
}

// NewAdamW makes an optimizer for model's parameters (Step(model.W, model.G, lr)).
func NewAdamW(model *Model, weightDecay float32) *AdamW {
	return NewAdamWFor(model.Params, len(model.W), weightDecay)
}

// NewAdamWFor makes an optimizer for any flat buffer laid out by params (for example a LoRA's).
func NewAdamWFor(params []Param, size int, weightDecay float32) *AdamW {
	o := &AdamW{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: weightDecay,
		m: make([]float32, size), v: make([]float32, size), params: params}
	for _, p := range params {
		o.decay = append(o.decay, Decays(p))
	}
	return o
}

// Decays says whether AdamW's weight decay applies to p: matrices do; norms, biases and the
// position embedding do not.
func Decays(p Param) bool { return len(p.Shape) == 2 && p.Name != "vision_tower.pos_embed" }

// Step applies one update with learning rate lr to weights W given gradients G.
func (o *AdamW) Step(W, G []float32, lr float32) {
	o.step++
	bc1 := 1 - float32(math.Pow(float64(o.Beta1), float64(o.step)))
	bc2 := 1 - float32(math.Pow(float64(o.Beta2), float64(o.step)))
	// One split of the whole buffer over the cores (not one per parameter: dozens of small
	// parameters would each pay for starting goroutines); each chunk updates the parameters'
	// spans that fall in it with their own weight decay.
	parallel(len(W), func(lo, hi int) {
		for pi, p := range o.params {
			a, b := max(lo, p.Offset), min(hi, p.Offset+p.Size)
			if a >= b {
				continue
			}
			wd := float32(0)
			if o.decay[pi] {
				wd = o.WeightDecay
			}
			vecmath.AdamW(W[a:b], G[a:b], o.m[a:b], o.v[a:b], lr, o.Beta1, o.Beta2, o.Eps, wd, bc1, bc2)
		}
	})
}

// AdamWUpdate is AdamW's update of one span: m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
// w −= lr·(m/bc1 / (sqrt(v/bc2) + eps) + wd·w), with bias corrections bc1 = 1−β1ᵗ, bc2 = 1−β2ᵗ.
// w, g, m, v [N].
func AdamWUpdate(w, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32) {
	parallel(len(w), func(lo, hi int) {
		vecmath.AdamW(w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], lr, beta1, beta2, eps, wd, bc1, bc2)
	})
}

// State returns the optimizer's moments and step, for checkpoints.
func (o *AdamW) State() (m, v []float32, step int) { return o.m, o.v, o.step }

// SetState restores what State returned.
func (o *AdamW) SetState(m, v []float32, step int) {
	copy(o.m, m)
	copy(o.v, v)
	o.step = step
}

// ClipGradNorm scales the gradients so that their global L2 norm is at most maxNorm and returns
// the norm before clipping.
func ClipGradNorm(g []float32, maxNorm float32) float32 {
	// One core: the sum reads memory faster than two cores share it (measured on 6 MB).
	norm := float32(math.Sqrt(vecmath.SumSquares(g)))
	if maxNorm > 0 && norm > maxNorm {
		vecmath.Scale(g, maxNorm/(norm+1e-6))
	}
	return norm
}

// Schedule is a learning rate as a function of the step (0-based).
type Schedule func(step int) float32

// Cosine warms up linearly over warmup steps to peak, then decays along a cosine to minLR at total.
func Cosine(peak, minLR float32, warmup, total int) Schedule {
	return func(step int) float32 {
		if step < warmup {
			return peak * float32(step+1) / float32(warmup)
		}
		if step >= total {
			return minLR
		}
		f := float64(step-warmup) / float64(max(1, total-warmup))
		return minLR + (peak-minLR)*float32(0.5*(1+math.Cos(math.Pi*f)))
	}
}

// ConstantWithWarmup warms up linearly to peak over warmup steps and stays there.
func ConstantWithWarmup(peak float32, warmup int) Schedule {
	return func(step int) float32 {
		if step < warmup {
			return peak * float32(step+1) / float32(warmup)
		}
		return peak
	}
}
