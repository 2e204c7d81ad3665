package model

import (
	"math"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/internal/vecmath"
)

// SwiGLUForward: out[i] = silu(gate[i])·up[i], silu(x) = x·σ(x). out, gate, up [N·H]. If sig is
// not nil, σ(gate[i]) is kept there for SwiGLUBackward.
func SwiGLUForward(out, sig, gate, up []float32) {
	parallel(len(gate), func(lo, hi int) {
		var s []float32
		if sig != nil {
			s = sig[lo:hi]
		}
		vecmath.SwiGLU(out[lo:hi], s, gate[lo:hi], up[lo:hi])
	})
}

// SwiGLUBackward: dup[i] += dout[i]·silu(g); dgate[i] += dout[i]·up[i]·σ(g)·(1 + g·(1 − σ(g))).
// sig holds σ(gate) from SwiGLUForward, or is nil to recompute it.
func SwiGLUBackward(dgate, dup, dout, gate, up, sig []float32) {
	parallel(len(gate), func(lo, hi int) {
		var s []float32
		if sig != nil {
			s = sig[lo:hi]
		}
		vecmath.SwiGLUBackward(dgate[lo:hi], dup[lo:hi], dout[lo:hi], gate[lo:hi], up[lo:hi], s)
	})
}

// swigluRows is SwiGLUForward on the fused gate/up activation: for row n and i < H, with
// g = gu[n,i] and u = gu[n,H+i], out[n,i] = g·σ(g)·u and sig[n,i] = σ(g). out, sig [N,H]; gu [N,2H].
func swigluRows(out, sig, gu []float32, N, H int) {
	parallelRows(N, H, func(lo, hi int) {
		vecmath.SwiGLURows(out[lo*H:hi*H], sig[lo*H:hi*H], gu[lo*2*H:hi*2*H], hi-lo, H)
	})
}

// swigluBackwardRows writes (=) SwiGLUBackward's gradients in swigluRows's layout: dgu[n,i] is
// the gate's, dgu[n,H+i] the up projection's. dgu, gu [N,2H]; dout, sig [N,H].
func swigluBackwardRows(dgu, dout, gu, sig []float32, N, H int) {
	parallelRows(N, H, func(lo, hi int) {
		vecmath.SwiGLUBackwardRows(dgu[lo*2*H:hi*2*H], dout[lo*H:hi*H], gu[lo*2*H:hi*2*H], sig[lo*H:hi*H], hi-lo, H)
	})
}

// GELUForward (tanh approximation): out[i] = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). out, x [N].
func GELUForward(out, x []float32) {
	parallel(len(x), func(lo, hi int) { vecmath.GELU(out[lo:hi], x[lo:hi]) })
}

// GELUBackward: dx[i] += dout[i]·(½(1+tanh u) + ½x·sech²(u)·√(2/π)·(1 + 3·0.044715·x²)).
func GELUBackward(dx, dout, x []float32) {
	parallel(len(x), func(lo, hi int) { vecmath.GELUBackward(dx[lo:hi], dout[lo:hi], x[lo:hi]) })
}

// ResidualForward: out[i] = a[i] + b[i].
func ResidualForward(out, a, b []float32) {
	for i := range out {
		out[i] = a[i] + b[i]
	}
}

// IgnoreIndex marks a position that contributes no loss (the seed's −100).
const IgnoreIndex = gpu.IgnoreIndex

// CrossEntropyForward: probs[n,:] = softmax(logits[n,:]); losses[n] = −log probs[n,targets[n]]
// (0 where targets[n] = IgnoreIndex). Returns the weighted mean Σ w_n·losses[n] / Σ w_n over the
// counted positions (w_n = weights[n], or 1 when weights is nil) and that normaliser Σ w_n.
// logits, probs [N,V]; targets, losses, weights [N].
func CrossEntropyForward(losses, probs, logits []float32, targets []int32, weights []float32, N, V int) (mean, norm float32) {
	parallelRows(N, V, func(lo, hi int) {
		vecmath.SoftmaxRows(probs[lo*V:hi*V], logits[lo*V:hi*V], hi-lo, V)
		for n := lo; n < hi; n++ {
			p := probs[n*V : (n+1)*V]
			losses[n] = 0
			if targets[n] != IgnoreIndex {
				losses[n] = -float32(math.Log(math.Max(float64(p[targets[n]]), 1e-30)))
			}
		}
	})
	return gpu.WeightedMeanLoss(losses, targets, weights, N)
}

// CrossEntropyBackward for the weighted mean loss: dlogits[n,v] += w_n·(probs[n,v] − [v =
// targets[n]])/norm for counted positions. dlogits, probs [N,V]; targets, weights [N] (nil: 1).
func CrossEntropyBackward(dlogits, probs []float32, targets []int32, weights []float32, N, V int, norm float32) {
	crossEntropyBackward(dlogits, probs, targets, weights, N, V, norm, 1, false)
}

// crossEntropyBackward is CrossEntropyBackward's gradient times scale, added to dlogits or, with
// overwrite, written over it (rows not counted are then zeroed), which saves clearing [N,V] first.
func crossEntropyBackward(dlogits, probs []float32, targets []int32, weights []float32, N, V int, norm, scale float32, overwrite bool) {
	if norm == 0 {
		if overwrite {
			clear(dlogits[:N*V])
		}
		return
	}
	parallelRows(N, V, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			d, p := dlogits[n*V:(n+1)*V], probs[n*V:(n+1)*V]
			t := targets[n]
			if t == IgnoreIndex {
				if overwrite {
					clear(d)
				}
				continue
			}
			inv := 1 / norm
			if weights != nil {
				inv *= weights[n]
			}
			inv *= scale
			if overwrite {
				for v := range d {
					d[v] = p[v] * inv
				}
			} else {
				for v := range d {
					d[v] += p[v] * inv
				}
			}
			d[t] -= inv
		}
	})
}

// softmax writes the softmax of x into out (float64 accumulation).
func softmax(out, x []float32) { vecmath.SoftmaxRows(out, x, 1, len(x)) }

// VideoPoolForward: temporal[f,:] = mean_p feats[f,p,:]; spatial[p,:] = mean_f feats[f,p,:]
// (Video-ChatGPT pooling). feats [F,P,D], temporal [F,D], spatial [P,D].
func VideoPoolForward(temporal, spatial, feats []float32, F, P, D int) {
	clear(temporal[:F*D])
	clear(spatial[:P*D])
	for f := 0; f < F; f++ {
		for p := 0; p < P; p++ {
			row := feats[(f*P+p)*D : (f*P+p+1)*D]
			t, s := temporal[f*D:(f+1)*D], spatial[p*D:(p+1)*D]
			for i, v := range row {
				t[i] += v / float32(P)
				s[i] += v / float32(F)
			}
		}
	}
}

// VideoPoolBackward: dfeats[f,p,:] += dtemporal[f,:]/P + dspatial[p,:]/F.
func VideoPoolBackward(dfeats, dtemporal, dspatial []float32, F, P, D int) {
	for f := 0; f < F; f++ {
		for p := 0; p < P; p++ {
			row := dfeats[(f*P+p)*D : (f*P+p+1)*D]
			t, s := dtemporal[f*D:(f+1)*D], dspatial[p*D:(p+1)*D]
			for i := range row {
				row[i] += t[i]/float32(P) + s[i]/float32(F)
			}
		}
	}
}
