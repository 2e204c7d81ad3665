package model

import (
	"math"

	"github.com/vrlaif/vrlaif/gpu"
)

// CPUOps is gpu.Ops on the CPU: this package's own operations, the reference the conformance
// suite (gpu/gputest.Ops) checks other devices against. The zero value is ready; no method fails.
type CPUOps struct{}

var _ gpu.Ops = CPUOps{}

func (CPUOps) EmbeddingForward(out []float32, tok []int32, wte []float32, N, C int) error {
	EmbeddingForward(out, tok, wte, N, C)
	return nil
}

func (CPUOps) EmbeddingBackward(dwte, dout []float32, tok []int32, N, C int) error {
	EmbeddingBackward(dwte, dout, tok, N, C)
	return nil
}

func (CPUOps) RMSNormForward(out, rstd, x, w []float32, N, C int, eps float32) error {
	RMSNormForward(out, rstd, x, w, N, C, eps)
	return nil
}

func (CPUOps) RMSNormBackward(dx, dw, dout, x, w, rstd []float32, N, C int) error {
	RMSNormBackward(dx, dw, dout, x, w, rstd, N, C)
	return nil
}

func (CPUOps) MatmulForward(out, inp, w, bias []float32, N, C, OC int) error {
	MatmulForward(out, inp, w, bias, N, C, OC)
	return nil
}

func (CPUOps) MatmulBackward(dinp, dw, dbias, dout, inp, w []float32, N, C, OC int) error {
	MatmulBackward(dinp, dw, dbias, dout, inp, w, N, C, OC)
	return nil
}

func (CPUOps) RopeForward(x []float32, pos []int32, cos, sin []float32, N, H, hs int) error {
	RopeForward(x, pos, cos, sin, N, H, hs)
	return nil
}

func (CPUOps) RopeBackward(dx []float32, pos []int32, cos, sin []float32, N, H, hs int) error {
	RopeBackward(dx, pos, cos, sin, N, H, hs)
	return nil
}

func (CPUOps) AttentionForward(out, att, q, k, v []float32, B, T, NH, NKV, hs int) error {
	AttentionForward(out, att, q, k, v, B, T, NH, NKV, hs)
	return nil
}

func (CPUOps) AttentionBackward(dq, dk, dv, dout, q, k, v, att []float32, B, T, NH, NKV, hs int) error {
	AttentionBackward(dq, dk, dv, dout, q, k, v, att, make([]float32, T*T), B, T, NH, NKV, hs)
	return nil
}

func (CPUOps) SwiGLUForward(out, sig, gate, up []float32) error {
	SwiGLUForward(out, sig, gate, up)
	return nil
}

func (CPUOps) SwiGLUBackward(dgate, dup, dout, gate, up, sig []float32) error {
	SwiGLUBackward(dgate, dup, dout, gate, up, sig)
	return nil
}

func (CPUOps) CrossEntropyForward(losses, probs, logits []float32, targets []int32, weights []float32, N, V int) (float32, float32, error) {
	mean, norm := CrossEntropyForward(losses, probs, logits, targets, weights, N, V)
	return mean, norm, nil
}

func (CPUOps) CrossEntropyBackward(dlogits, probs []float32, targets []int32, weights []float32, N, V int, norm float32) error {
	CrossEntropyBackward(dlogits, probs, targets, weights, N, V, norm)
	return nil
}

// Entropy: ent[n] = −Σ_v p·log p over probs[n,:] (p > 0), in float64 (Model.Entropy's math).
func (CPUOps) Entropy(ent, probs []float32, N, V int) error {
	for n := 0; n < N; n++ {
		var h float64
		for _, p := range probs[n*V : (n+1)*V] {
			if p > 0 {
				h -= float64(p) * math.Log(float64(p))
			}
		}
		ent[n] = float32(h)
	}
	return nil
}

func (CPUOps) AdamW(w, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32) error {
	AdamWUpdate(w, g, m, v, lr, beta1, beta2, eps, wd, bc1, bc2)
	return nil
}

func (CPUOps) ClipGradNorm(g []float32, maxNorm float32) (float32, error) {
	return ClipGradNorm(g, maxNorm), nil
}
