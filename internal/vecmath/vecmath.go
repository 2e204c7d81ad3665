// Package vecmath holds the model's transcendental element-wise kernels on float32 slices —
// softmax rows, causal softmax, SwiGLU, GELU — in C that the compiler vectorizes (AVX-512 or
// AVX2, chosen when the program loads), bit-identical to the scalar Go reference here (Expf,
// Tanhf): the same operations in the same order, without fused multiply-adds. Go does not
// vectorize, and these loops were a third of the small model's training step.
package vecmath

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#cgo noescape vm_softmax_rows
#cgo nocallback vm_softmax_rows
#cgo noescape vm_softmax_causal
#cgo nocallback vm_softmax_causal
#cgo noescape vm_swiglu
#cgo noescape vm_sum_squares
#cgo nocallback vm_sum_squares
#cgo noescape vm_scale
#cgo nocallback vm_scale
#cgo noescape vm_softmax_causal_backward
#cgo nocallback vm_softmax_causal_backward
#cgo noescape vm_rmsnorm
#cgo nocallback vm_rmsnorm
#cgo noescape vm_rmsnorm_backward
#cgo nocallback vm_rmsnorm_backward
#cgo nocallback vm_swiglu
#cgo noescape vm_gelu
#cgo nocallback vm_gelu
#cgo noescape vm_gelu_backward
#cgo nocallback vm_gelu_backward
#include "vecmath.h"
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// Expf is e^x in float32 with about 2 ulp of error over the range that matters (|x| < 87), at a
// fraction of math.Exp's cost: x·log2(e) = n + f with |f| ≤ ½, 2^f by a degree-6 polynomial
// (Taylor coefficients of 2^f, truncation error < 2e-8 relative on |f| ≤ ½), 2^n by building the
// float's exponent bits. Results under the float32 range flush to 0; above it, +Inf.
func Expf(x float32) float32 {
	switch {
	case x > 88.7:
		return float32(math.Inf(1))
	case x < -87.3:
		return 0
	}
	t := float64(x) * 1.4426950408889634 // log2(e); in float64 so that large |x| keep f exact
	n := float64(int64(t+256.5) - 256)   // round to nearest: t+256.5 > 0, so truncation is floor
	f := float32(t - n)
	// 2^f = e^(f·ln2)
	p := float32(1.5403530393381606e-04)
	p = p*f + 1.3333558146428443e-03
	p = p*f + 9.618129107628477e-03
	p = p*f + 5.550410866482158e-02
	p = p*f + 2.4022650695910072e-01
	p = p*f + 6.931471805599453e-01
	p = p*f + 1
	if n > 127 { // 2^128 is not a float32; the product is (x ≤ 88.7 keeps it finite)
		p *= 2
		n--
	}
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// Sigmoidf is 1/(1+e^−x) through Expf.
func Sigmoidf(x float32) float32 { return 1 / (1 + Expf(-x)) }

// Tanhf is tanh through Expf: 1 − 2/(e^(2x)+1), saturated beyond |x| > 9 where it is ±1 in float32.
func Tanhf(x float32) float32 {
	if x > 9 {
		return 1
	}
	if x < -9 {
		return -1
	}
	return 1 - 2/(Expf(2*x)+1)
}

func ptr(s []float32) *C.float { return (*C.float)(unsafe.Pointer(unsafe.SliceData(s))) }

func need(what string, s []float32, n int) {
	if len(s) < n {
		panic(fmt.Sprintf("vecmath: %s has %d elements, needs %d", what, len(s), n))
	}
}

// optional is ptr for a slice that may be nil (then NULL), checked by need otherwise.
func optional(what string, s []float32, n int) *C.float {
	if s == nil {
		return nil
	}
	need(what, s, n)
	return ptr(s)
}

// SoftmaxRows: out[r,:] = e^(x[r,:] − max_i x[r,i]) / Σ_i e^(x[r,i] − max), the sum in float64
// (in 8 interleaved lanes added in order, as the test's reference), for rows rows of width n.
// out and x [rows, n] (distinct or the same slice).
func SoftmaxRows(out, x []float32, rows, n int) {
	if rows <= 0 || n <= 0 {
		return
	}
	need("out", out, rows*n)
	need("x", x, rows*n)
	C.vm_softmax_rows(ptr(out), ptr(x), C.int(rows), C.int(n))
}

// SoftmaxCausalRows turns each row t = first..first+rows−1 of a T×T matrix into the softmax of
// its entries 0..t and zeroes entries t+1.., in place; a holds those rows (a[0] is row first's
// first entry). The sum is in float32 (unlike SoftmaxRows), as the model's attention always summed,
// in 8 interleaved lanes added in order.
func SoftmaxCausalRows(a []float32, first, rows, T int) {
	if rows <= 0 {
		return
	}
	need("a", a, rows*T)
	if first < 0 || first+rows > T {
		panic(fmt.Sprintf("vecmath: rows %d..%d outside a %d×%d matrix", first, first+rows-1, T, T))
	}
	C.vm_softmax_causal(ptr(a), C.int(first), C.int(rows), C.int(T))
}

// SoftmaxCausalBackwardRows is the softmax's backward for SoftmaxCausalRows's rows, in place:
// for each row t = first..first+rows−1 (a and ds hold those rows, T apart), with
// dot = Σ_{s≤t} a[t,s]·ds[t,s] (float32, summed in 8 interleaved lanes added in order),
// ds[t,s] = a[t,s]·(ds[t,s] − dot) for s ≤ t and ds[t,s] = 0 for t < s < width (width ≤ T: the
// columns the caller's products read).
func SoftmaxCausalBackwardRows(ds, a []float32, first, rows, T, width int) {
	if rows <= 0 {
		return
	}
	need("a", a, (rows-1)*T+first+rows)
	need("ds", ds, (rows-1)*T+width)
	if first < 0 || first+rows > T || width > T || width < first+rows {
		panic(fmt.Sprintf("vecmath: rows %d..%d, width %d outside a %d×%d matrix", first, first+rows-1, width, T, T))
	}
	C.vm_softmax_causal_backward(ptr(ds), ptr(a), C.int(first), C.int(rows), C.int(T), C.int(width))
}

// SoftmaxCausalRow is one row of SoftmaxCausalRows: row[0..t] becomes its softmax and row[t+1..] is
// zeroed (the attention of one new position over a key/value cache).
func SoftmaxCausalRow(row []float32, t int) {
	need("row", row, t+1)
	C.vm_softmax_causal(ptr(row), C.int(t), 1, C.int(len(row)))
}

// SwiGLU: out[i] = gate[i]·σ(gate[i])·up[i], and sig[i] = σ(gate[i]) unless sig is nil.
func SwiGLU(out, sig, gate, up []float32) {
	n := len(gate)
	if n == 0 {
		return
	}
	need("out", out, n)
	need("up", up, n)
	C.vm_swiglu(ptr(out), optional("sig", sig, n), ptr(gate), ptr(up), C.long(n))
}

// GELU (tanh approximation): out[i] = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func GELU(out, x []float32) {
	if len(x) == 0 {
		return
	}
	need("out", out, len(x))
	C.vm_gelu(ptr(out), ptr(x), C.long(len(x)))
}

// GELUBackward: dx[i] += dout[i]·(½(1+tanh u) + ½x·sech²(u)·√(2/π)·(1 + 3·0.044715·x²)).
func GELUBackward(dx, dout, x []float32) {
	if len(x) == 0 {
		return
	}
	need("dx", dx, len(x))
	need("dout", dout, len(x))
	C.vm_gelu_backward(ptr(dx), ptr(dout), ptr(x), C.long(len(x)))
}

// SwiGLUBackward: with s = sig[i] (σ(gate[i]) recomputed when sig is nil),
// dup[i] += dout[i]·g·s and dgate[i] += dout[i]·up[i]·s·(1 + g·(1 − s)), g = gate[i].
func SwiGLUBackward(dgate, dup, dout, gate, up, sig []float32) {
	n := len(gate)
	if n == 0 {
		return
	}
	need("dgate", dgate, n)
	need("dup", dup, n)
	need("dout", dout, n)
	need("up", up, n)
	C.vm_swiglu_backward(ptr(dgate), ptr(dup), ptr(dout), ptr(gate), ptr(up), optional("sig", sig, n), C.long(n))
}

// SwiGLURows is SwiGLU over rows whose gate and up halves sit side by side (one product's output
// for the fused gate and up projections): for row r < rows and i < H, with g = gu[r,i] and
// u = gu[r,H+i], out[r,i] = g·σ(g)·u and sig[r,i] = σ(g) unless sig is nil.
// out, sig [rows, H]; gu [rows, 2H].
func SwiGLURows(out, sig, gu []float32, rows, H int) {
	if rows == 0 || H == 0 {
		return
	}
	need("out", out, rows*H)
	need("gu", gu, rows*2*H)
	C.vm_swiglu_rows(ptr(out), optional("sig", sig, rows*H), ptr(gu), C.long(rows), C.long(H))
}

// SwiGLUBackwardRows writes (=, not +=) SwiGLUBackward's gradients for SwiGLURows's layout: with
// g = gu[r,i], u = gu[r,H+i] and s = sig[r,i] (σ(g) recomputed when sig is nil),
// dgu[r,i] = dout[r,i]·u·s·(1 + g·(1 − s)) and dgu[r,H+i] = dout[r,i]·g·s.
// dgu, gu [rows, 2H]; dout, sig [rows, H].
func SwiGLUBackwardRows(dgu, dout, gu, sig []float32, rows, H int) {
	if rows == 0 || H == 0 {
		return
	}
	need("dgu", dgu, rows*2*H)
	need("dout", dout, rows*H)
	need("gu", gu, rows*2*H)
	C.vm_swiglu_backward_rows(ptr(dgu), ptr(dout), ptr(gu), optional("sig", sig, rows*H), C.long(rows), C.long(H))
}

// RMSNormLanes is the number of interleaved partial sums RMSNorm and RMSNormBackward accumulate a
// row's sum in (double precision; lane j takes the elements i ≡ j mod RMSNormLanes, and the lanes
// are added in order at the end), so the C compiler can vectorize the sum while its order stays
// fixed.
const RMSNormLanes = 8

// RMSNorm: for each row n < rows, ss = Σ_i x[n,i]² (by lanes, in float64),
// rstd[n] = float32(1/sqrt(ss/cols + eps)) and out[n,i] = x[n,i]·rstd[n]·w[i].
// out, x [rows, cols]; rstd [rows]; w [cols].
func RMSNorm(out, rstd, x, w []float32, rows, cols int, eps float32) {
	if rows == 0 || cols == 0 {
		return
	}
	need("out", out, rows*cols)
	need("rstd", rstd, rows)
	need("x", x, rows*cols)
	need("w", w, cols)
	C.vm_rmsnorm(ptr(out), ptr(rstd), ptr(x), ptr(w), C.long(rows), C.long(cols), C.float(eps))
}

// RMSNormBackward: for each row n with r = rstd[n], dot = Σ_i (dout[n,i]·w[i])·x[n,i] (by lanes,
// in float64) and coef = float32(dot/cols)·r³: dw[i] += dout[n,i]·x[n,i]·r and
// dx[n,i] += r·dout[n,i]·w[i] − coef·x[n,i]. dx, dout, x [rows, cols]; dw, w [cols]; rstd [rows].
func RMSNormBackward(dx, dw, dout, x, w, rstd []float32, rows, cols int) {
	if rows == 0 || cols == 0 {
		return
	}
	need("dx", dx, rows*cols)
	need("dw", dw, cols)
	need("dout", dout, rows*cols)
	need("x", x, rows*cols)
	need("w", w, cols)
	need("rstd", rstd, rows)
	C.vm_rmsnorm_backward(ptr(dx), ptr(dw), ptr(dout), ptr(x), ptr(w), ptr(rstd), C.long(rows), C.long(cols))
}

// SumSquares is Σ x[i]² in float64, summed in RMSNormLanes interleaved lanes added in order.
func SumSquares(x []float32) float64 {
	if len(x) == 0 {
		return 0
	}
	return float64(C.vm_sum_squares(ptr(x), C.long(len(x))))
}

// Scale: x[i] *= s.
func Scale(x []float32, s float32) {
	if len(x) == 0 {
		return
	}
	C.vm_scale(ptr(x), C.long(len(x)), C.float(s))
}

// AdamW is one AdamW update of a span: m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
// w −= lr·(m/bc1 / (sqrt(v/bc2) + eps) + wd·w). w, g, m, v [len(w)].
func AdamW(w, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32) {
	n := len(w)
	if n == 0 {
		return
	}
	need("g", g, n)
	need("m", m, n)
	need("v", v, n)
	C.vm_adamw(ptr(w), ptr(g), ptr(m), ptr(v), C.long(n), C.float(lr), C.float(beta1), C.float(beta2),
		C.float(eps), C.float(wd), C.float(bc1), C.float(bc2))
}
