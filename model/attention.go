package model

import (
	"math"
	"runtime"
	"sync"

	"github.com/vrlaif/vrlaif/internal/blas"
	"github.com/vrlaif/vrlaif/internal/vecmath"
)

// AttentionForward is causal grouped-query attention. For batch b, head h (key/value head
// kv = h / (NH/NKV)) and positions t ≥ s:
//
//	att[b,h,t,s] = softmax_s( q[b,t,h,:]·k[b,s,kv,:] / sqrt(hs) )   (att = 0 for s > t)
//	out[b,t,h,:] = Σ_s att[b,h,t,s]·v[b,s,kv,:]
//
// out, q [B,T,NH,hs]; k, v [B,T,NKV,hs]; att [B,NH,T,T] (the probabilities, kept for backward).
//
// The products run over blocks of attnBlock query rows, each against the keys up to its last row
// only: the scores above the diagonal, which the mask discards, are never computed (at T = 448
// that is 43 % of the work; the FLOP count of the benchmark still counts the whole T×T).
func AttentionForward(out, att, q, k, v []float32, B, T, NH, NKV, hs int) {
	attentionForward(out, att, q, k, v, B, T, NH, NKV, hs, packedStrides(NH, NKV, hs))
}

// attnStrides are the row strides of attention's operands: q (and dq), k and v (and dk, dv), out
// (and dout). Packed tensors have NH·hs, NKV·hs and NH·hs; the model's fused q/k/v activation
// [N, (NH+2·NKV)·hs] has its width for q, k and v, so it is read in place, without copying apart.
type attnStrides struct{ q, kv, out int }

func packedStrides(NH, NKV, hs int) attnStrides { return attnStrides{NH * hs, NKV * hs, NH * hs} }

func attentionForward(out, att, q, k, v []float32, B, T, NH, NKV, hs int, st attnStrides) {
	scale := float32(1 / math.Sqrt(float64(hs)))
	group := NH / NKV
	qs, ks, os := st.q, st.kv, st.out
	eachHead(B, NH, NKV, func(_, b, h int) {
		kv := h / group
		qh := q[b*T*qs+h*hs:]
		kh := k[b*T*ks+kv*hs:]
		vh := v[b*T*ks+kv*hs:]
		a := att[(b*NH+h)*T*T : (b*NH+h+1)*T*T]
		oh := out[b*T*os+h*hs:]
		for r0 := 0; r0 < T; r0 += attnBlock {
			r1 := min(T, r0+attnBlock) // rows r0..r1−1 see keys 0..r1−1
			blas.Sgemm(false, true, r1-r0, r1, hs, scale, qh[r0*qs:], qs, kh, ks, 0, a[r0*T:], T)
			vecmath.SoftmaxCausalRows(a[r0*T:r1*T], r0, r1-r0, T)
			blas.Sgemm(false, false, r1-r0, hs, r1, 1, a[r0*T:], T, vh, ks, 0, oh[r0*os:], os)
		}
	})
}

// attnBlock is the number of query rows per block of the attention products: small enough to
// skip most of the masked half, large enough for OpenBLAS to run near its speed on each product.
const attnBlock = 64

// eachHead calls fn(worker, b, h) for every row b and head h. The products per head are small
// (T×T×hs), where OpenBLAS's own threading costs far more than it gains (measured: a 128×128×32
// product took 280 µs with two BLAS threads, 11 µs with one), so BLAS runs single-threaded here
// and the heads are spread over goroutines instead. They are grouped by key/value head: the
// heads of one group write the same dk/dv rows in backward, so one goroutine owns each (b, group).
func eachHead(B, NH, NKV int, fn func(worker, b, h int)) {
	initCompute() // BLAS single-threaded: see gemm.go
	group := NH / NKV
	items := B * NKV
	workers := max(1, min(items, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := w; it < items; it += workers {
				b, kv := it/NKV, it%NKV
				for h := kv * group; h < (kv+1)*group; h++ {
					fn(w, b, h)
				}
			}
		}()
	}
	wg.Wait()
}

// softmaxCausal turns row[0..t] into probabilities and zeroes row[t+1..].
func softmaxCausal(row []float32, t int) { vecmath.SoftmaxCausalRow(row, t) }

// AttentionBackward: with P = att, dP = dout·vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)):
// dq += dS·k/sqrt(hs); dk += dSᵀ·q/sqrt(hs); dv += Pᵀ·dout (summed over the heads sharing a
// key/value head). scratch is [T,T] (one more is allocated per extra goroutine). Shapes as in
// AttentionForward; the products skip the masked half by blocks of query rows as it does.
func AttentionBackward(dq, dk, dv, dout, q, k, v, att, scratch []float32, B, T, NH, NKV, hs int) {
	attentionBackward(dq, dk, dv, dout, q, k, v, att, scratch, B, T, NH, NKV, hs, packedStrides(NH, NKV, hs))
}

func attentionBackward(dq, dk, dv, dout, q, k, v, att, scratch []float32, B, T, NH, NKV, hs int, st attnStrides) {
	scale := float32(1 / math.Sqrt(float64(hs)))
	group := NH / NKV
	qs, ks, os := st.q, st.kv, st.out
	scratches := [][]float32{scratch[:T*T]}
	for len(scratches) < runtime.GOMAXPROCS(0) {
		scratches = append(scratches, make([]float32, T*T))
	}
	eachHead(B, NH, NKV, func(w, b, h int) {
		kv := h / group
		qo, ko := b*T*qs+h*hs, b*T*ks+kv*hs
		a := att[(b*NH+h)*T*T : (b*NH+h+1)*T*T]
		ds := scratches[w]
		for r0 := 0; r0 < T; r0 += attnBlock {
			r1 := min(T, r0+attnBlock)
			rows := r1 - r0
			dor, qr := dout[b*T*os+h*hs+r0*os:], q[qo+r0*qs:]
			blas.Sgemm(false, true, rows, r1, hs, 1, dor, os, v[ko:], ks, 0, ds[r0*T:], T)
			blas.Sgemm(true, false, r1, hs, rows, 1, a[r0*T:], T, dor, os, 1, dv[ko:], ks)
			vecmath.SoftmaxCausalBackwardRows(ds[r0*T:], a[r0*T:], r0, rows, T, r1)
			blas.Sgemm(false, false, rows, hs, r1, scale, ds[r0*T:], T, k[ko:], ks, 1, dq[qo+r0*qs:], qs)
			blas.Sgemm(true, false, r1, hs, rows, scale, ds[r0*T:], T, qr, qs, 1, dk[ko:], ks)
		}
	})
}
