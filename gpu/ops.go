package gpu

// Ops are the model's operations, forward and backward, on a device: the list a decoder-only
// video LM and its trainer need. The math and shapes are package model's, stated in its doc
// comments (model/ops.go, attention.go, activations.go, optim.go); model.CPUOps is the reference
// implementation (it calls those functions) and KernelDevice the CUDA one. Backward methods
// accumulate (+=) into gradients, like model's. A slice shorter than its shape is a programmer
// error and panics.
type Ops interface {
	// EmbeddingForward: out[n,:] = wte[tok[n],:] for tok[n] ≥ 0 (other rows untouched).
	EmbeddingForward(out []float32, tok []int32, wte []float32, N, C int) error
	// EmbeddingBackward: dwte[tok[n],:] += dout[n,:] for tok[n] ≥ 0.
	EmbeddingBackward(dwte, dout []float32, tok []int32, N, C int) error
	// RMSNormForward: rstd[n] = 1/sqrt(mean_i x[n,i]² + eps); out = x·rstd·w.
	RMSNormForward(out, rstd, x, w []float32, N, C int, eps float32) error
	// RMSNormBackward: dx += rstd·g − rstd³·x·Σ(g·x)/C with g = dout·w; dw += Σ_n dout·x·rstd.
	RMSNormBackward(dx, dw, dout, x, w, rstd []float32, N, C int) error
	// MatmulForward: out[n,o] = Σ_c inp[n,c]·w[o,c] (+ bias[o]); bias may be nil.
	MatmulForward(out, inp, w, bias []float32, N, C, OC int) error
	// MatmulBackward: dinp += dout·w; dw += doutᵀ·inp; dbias += Σ_n dout; any of the three may be nil.
	MatmulBackward(dinp, dw, dbias, dout, inp, w []float32, N, C, OC int) error
	// RopeForward rotates x [N,H,hs] in place (rotate_half) by pos's angles from cos, sin [maxSeq, hs/2].
	RopeForward(x []float32, pos []int32, cos, sin []float32, N, H, hs int) error
	// RopeBackward applies the inverse rotation to dx in place.
	RopeBackward(dx []float32, pos []int32, cos, sin []float32, N, H, hs int) error
	// AttentionForward: causal grouped-query attention; att [B,NH,T,T] keeps the probabilities.
	AttentionForward(out, att, q, k, v []float32, B, T, NH, NKV, hs int) error
	// AttentionBackward: dq, dk, dv += the gradients through softmax(q·kᵀ/√hs)·v.
	AttentionBackward(dq, dk, dv, dout, q, k, v, att []float32, B, T, NH, NKV, hs int) error
	// SwiGLUForward: out = silu(gate)·up; sig, if not nil, keeps σ(gate).
	SwiGLUForward(out, sig, gate, up []float32) error
	// SwiGLUBackward: dup += dout·silu(g); dgate += dout·up·σ(g)·(1 + g·(1 − σ(g))).
	SwiGLUBackward(dgate, dup, dout, gate, up, sig []float32) error
	// CrossEntropyForward: probs = softmax(logits), losses[n] = −log probs[n,targets[n]] (0 for
	// model.IgnoreIndex, −100); returns Σ w·loss / Σ w over counted rows and Σ w (weights nil: 1).
	CrossEntropyForward(losses, probs, logits []float32, targets []int32, weights []float32, N, V int) (mean, norm float32, err error)
	// CrossEntropyBackward: dlogits[n,v] += w_n·(probs[n,v] − [v = targets[n]])/norm.
	CrossEntropyBackward(dlogits, probs []float32, targets []int32, weights []float32, N, V int, norm float32) error
	// Entropy: ent[n] = −Σ_v probs[n,v]·log probs[n,v] (terms with p = 0 are 0), in nats.
	Entropy(ent, probs []float32, N, V int) error
	// AdamW updates one span of weights with decoupled weight decay wd (model.AdamW's math):
	// m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; w −= lr·(m/bc1 / (sqrt(v/bc2) + eps) + wd·w).
	AdamW(w, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32) error
	// ClipGradNorm scales g so that its L2 norm is at most maxNorm (when maxNorm > 0) and returns
	// the norm before clipping (model.ClipGradNorm).
	ClipGradNorm(g []float32, maxNorm float32) (float32, error)
}
