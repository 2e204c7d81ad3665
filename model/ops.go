package model

import (
	"math"
	"runtime"

	"github.com/vrlaif/vrlaif/internal/vecmath"
)

// The operations of the model, forward and backward, on flat row-major float32 slices. Each doc
// comment states the exact math (output first, shapes last), llm.c style. Backward functions
// accumulate (+=) into gradient slices, so gradients of shared inputs add up; callers zero them.

// EmbeddingForward: out[n,:] = wte[tok[n],:] for tok[n] ≥ 0; rows with tok[n] < 0 (video slots)
// are left untouched. out [N,C], wte [V,C], tok [N].
func EmbeddingForward(out []float32, tok []int32, wte []float32, N, C int) {
	for n := 0; n < N; n++ {
		if t := tok[n]; t >= 0 {
			copy(out[n*C:(n+1)*C], wte[int(t)*C:(int(t)+1)*C])
		}
	}
}

// EmbeddingBackward: dwte[tok[n],:] += dout[n,:] for tok[n] ≥ 0. dwte [V,C], dout [N,C], tok [N].
func EmbeddingBackward(dwte, dout []float32, tok []int32, N, C int) {
	for n := 0; n < N; n++ {
		if t := tok[n]; t >= 0 {
			row := dwte[int(t)*C : (int(t)+1)*C]
			for i, g := range dout[n*C : (n+1)*C] {
				row[i] += g
			}
		}
	}
}

// RMSNormForward: rstd[n] = 1/sqrt(mean_i(x[n,i]²) + eps); out[n,i] = x[n,i]·rstd[n]·w[i]
// (the sum of squares in float64: vecmath.RMSNorm). out, x [N,C], rstd [N], w [C].
func RMSNormForward(out, rstd, x, w []float32, N, C int, eps float32) {
	parallelRows(N, C, func(lo, hi int) {
		vecmath.RMSNorm(out[lo*C:hi*C], rstd[lo:hi], x[lo*C:hi*C], w, hi-lo, C, eps)
	})
}

// RMSNormBackward: with g = dout·w, dx[n,i] += rstd·g_i − rstd³·x_i·Σ_j(g_j·x_j)/C and
// dw[i] += Σ_n dout[n,i]·x[n,i]·rstd[n]. dx, dout, x [N,C], dw, w [C], rstd [N].
func RMSNormBackward(dx, dw, dout, x, w, rstd []float32, N, C int) {
	// Rows are independent for dx; dw sums over rows (deterministically: parallelSum).
	parallelSum(dw[:C], N, C, func(part []float32, lo, hi int) {
		vecmath.RMSNormBackward(dx[lo*C:hi*C], part, dout[lo*C:hi*C], x[lo*C:hi*C], w, rstd[lo:hi], hi-lo, C)
	})
}

// MatmulForward: out[n,o] = Σ_c inp[n,c]·w[o,c] (+ bias[o] when bias is non-nil).
// out [N,OC], inp [N,C], w [OC,C] (PyTorch's Linear layout), bias [OC] or nil.
func MatmulForward(out, inp, w, bias []float32, N, C, OC int) {
	gemm(false, true, N, OC, C, 1, inp, C, w, C, 0, out, OC)
	if bias != nil {
		parallelRows(N, OC, func(lo, hi int) {
			for n := lo; n < hi; n++ {
				row := out[n*OC : (n+1)*OC]
				for o := range row {
					row[o] += bias[o]
				}
			}
		})
	}
}

// MatmulBackward: dinp += dout·w; dw += doutᵀ·inp; dbias[o] += Σ_n dout[n,o].
// dinp, inp [N,C], dout [N,OC], dw, w [OC,C], dbias [OC] or nil. dinp may be nil (inputs that
// need no gradient, such as pixels).
func MatmulBackward(dinp, dw, dbias, dout, inp, w []float32, N, C, OC int) {
	matmulBackward(dinp, 1, dw, dbias, dout, OC, inp, w, N, C, OC)
}

// matmulBackward is MatmulBackward with dinp = beta·dinp + dout·w (beta 0 overwrites, so the
// caller need not clear dinp first: one pass over memory less) and dout's rows ldd ≥ OC apart (a
// column block of a wider activation, such as k's part of the fused q/k/v gradient).
func matmulBackward(dinp []float32, beta float32, dw, dbias, dout []float32, ldd int, inp, w []float32, N, C, OC int) {
	input := func(workers int) { gemmOn(workers, false, false, N, C, OC, 1, dout, ldd, w, C, beta, dinp, C) }
	weight := func(workers int) { gemmOn(workers, true, false, OC, C, N, 1, dout, ldd, inp, C, 1, dw, C) }
	switch {
	case dinp != nil && dw != nil && N*C*OC >= 1<<20:
		gemmPair(input, weight)
	case dinp != nil && dw != nil:
		input(1)
		weight(1)
	case dinp != nil:
		input(runtime.GOMAXPROCS(0))
	case dw != nil:
		weight(runtime.GOMAXPROCS(0))
	}
	if dbias != nil {
		parallelSum(dbias[:OC], N, OC, func(part []float32, lo, hi int) {
			for n := lo; n < hi; n++ {
				for o, g := range dout[n*ldd : n*ldd+OC] {
					part[o] += g
				}
			}
		})
	}
}

// RopeTables: cos[p,i] = cos(p·θ^(−2i/hs)), sin likewise, for positions p < maxSeq and
// i < hs/2 (the Hugging Face LLaMA frequencies). cos, sin [maxSeq, hs/2].
func RopeTables(maxSeq, hs int, theta float64) (cos, sin []float32) {
	half := hs / 2
	cos, sin = make([]float32, maxSeq*half), make([]float32, maxSeq*half)
	for p := 0; p < maxSeq; p++ {
		for i := 0; i < half; i++ {
			a := float64(p) * math.Pow(theta, -2*float64(i)/float64(hs))
			cos[p*half+i], sin[p*half+i] = float32(math.Cos(a)), float32(math.Sin(a))
		}
	}
	return cos, sin
}

// RopeForward rotates x in place, Hugging Face "rotate_half" style: for each head and
// i < hs/2, with a = x[i], b = x[i+hs/2] and position p = pos[n]:
// x[i] = a·cos[p,i] − b·sin[p,i]; x[i+hs/2] = b·cos[p,i] + a·sin[p,i].
// x [N, H, hs], pos [N], cos, sin [maxSeq, hs/2].
func RopeForward(x []float32, pos []int32, cos, sin []float32, N, H, hs int) {
	rope(x, H*hs, pos, cos, sin, N, H, hs, 1)
}

// RopeBackward applies the inverse rotation to the gradient in place (the rotation is
// orthogonal): dx[i] = d[i]·cos + d[i+hs/2]·sin; dx[i+hs/2] = d[i+hs/2]·cos − d[i]·sin.
func RopeBackward(dx []float32, pos []int32, cos, sin []float32, N, H, hs int) {
	rope(dx, H*hs, pos, cos, sin, N, H, hs, -1)
}

// rope rotates the first H heads of each row of x, rows ld apart (ld > H·hs when x is the fused
// q/k/v activation, whose q and k heads sit side by side at the start of each row); sign −1 is
// the backward (inverse) rotation.
func rope(x []float32, ld int, pos []int32, cos, sin []float32, N, H, hs int, sign float32) {
	half := hs / 2
	parallelRows(N, H*hs, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			c, s := cos[int(pos[n])*half:], sin[int(pos[n])*half:]
			for h := 0; h < H; h++ {
				v := x[n*ld+h*hs : n*ld+(h+1)*hs]
				for i := 0; i < half; i++ {
					a, b := v[i], v[i+half]
					si := sign * s[i]
					v[i] = a*c[i] - b*si
					v[i+half] = b*c[i] + a*si
				}
			}
		}
	})
}
