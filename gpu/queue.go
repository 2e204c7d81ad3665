package gpu

import (
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// Device-resident work: buffers that stay in device memory between calls, and a Queue of kernel
// launches on them, for callers that keep a whole model on the device (gpu/devmodel) instead of
// copying every operand in and out as the Ops methods do. The Queue's methods are the one place
// each kernel's launch (grid, argument order) is written; the Ops methods go through them too.

// Alloc returns a device buffer of bytes bytes (zeroed) that lives until Close.
func (d *KernelDevice) Alloc(bytes int64) (Ptr, error) {
	var p Ptr
	err := d.do(func(c *call) {
		var err error
		var raw uint64
		if raw, err = d.be.Alloc(max(bytes, 1)); err != nil {
			c.fail(fmt.Sprintf("allocating %d bytes", bytes), err)
			return
		}
		d.all = append(d.all, raw)
		d.kept[raw] = true
		p = Ptr(raw)
		if err := d.be.Zero(raw, max(bytes, 1)); err != nil {
			c.fail("zeroing a new buffer", err)
		}
	})
	return p, err
}

// Free returns a buffer from Alloc to the device before Close.
func (d *KernelDevice) Free(p Ptr) error {
	return d.do(func(c *call) {
		if !d.kept[uint64(p)] {
			c.fail("free", fmt.Errorf("%#x is not a buffer from Alloc", uint64(p)))
			return
		}
		delete(d.kept, uint64(p))
		d.all = slices.DeleteFunc(d.all, func(q uint64) bool { return q == uint64(p) })
		if err := d.be.Free(uint64(p)); err != nil {
			c.fail("free", err)
		}
	})
}

// Run runs f on the device's goroutine: the launches f queues run in order, and Run returns once
// the device has finished them, with the first error. A Queue is valid only inside its f.
func (d *KernelDevice) Run(f func(q *Queue)) error {
	return d.do(func(c *call) { f(&Queue{c: c}) })
}

// Queue queues work on the device (see Run). After an error every method does nothing, and Err
// reports it. Sizes are in elements (float32 or int32: 4 bytes each).
type Queue struct{ c *call }

// Err is the first error of the work so far.
func (q *Queue) Err() error { return q.c.err }

// Scratch returns a device buffer of n float32 that goes back to the device's pool when Run ends.
func (q *Queue) Scratch(n int) Ptr { return q.c.alloc(int64(4 * n)) }

// Upload copies src to dst (host to device; it returns once the copy is done).
func (q *Queue) Upload(dst Ptr, src []float32) {
	q.copyIn(dst, unsafe.Pointer(unsafe.SliceData(src)), len(src))
}

// UploadInt32 copies src to dst.
func (q *Queue) UploadInt32(dst Ptr, src []int32) {
	q.copyIn(dst, unsafe.Pointer(unsafe.SliceData(src)), len(src))
}

func (q *Queue) copyIn(dst Ptr, src unsafe.Pointer, n int) {
	if q.c.err != nil || n == 0 {
		return
	}
	if err := q.c.d.be.CopyIn(uint64(dst), src, int64(4*n)); err != nil {
		q.c.fail("copy to device", err)
	}
}

// Download copies len(dst) float32 from src to dst (device to host, after the queued work).
func (q *Queue) Download(dst []float32, src Ptr) { q.c.f32back(dst, src) }

// Zero sets n elements at p to 0.
func (q *Queue) Zero(p Ptr, n int) {
	if q.c.err == nil && n > 0 {
		if err := q.c.d.be.Zero(uint64(p), int64(4*n)); err != nil {
			q.c.fail("zero", err)
		}
	}
}

// Copy copies n elements from src to dst on the device.
func (q *Queue) Copy(dst, src Ptr, n int) {
	if q.c.err == nil && n > 0 {
		if err := q.c.d.be.Copy(uint64(dst), uint64(src), int64(4*n)); err != nil {
			q.c.fail("device copy", err)
		}
	}
}

// Gemm: C = alpha·op(A)·op(B) + beta·C, row-major with leading dimensions (model's gemm), C
// [m,n], op(A) [m,k], op(B) [k,n]. It runs on the backend's own product when it has one
// (GemmBackend: cuBLAS), else on the sgemm kernel.
func (q *Queue) Gemm(transA, transB bool, m, n, k int, alpha float32, a Ptr, lda int, b Ptr, ldb int, beta float32, c Ptr, ldc int) {
	q.c.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// EmbeddingForward: out[n,:] = wte[tok[n],:] for tok[n] ≥ 0.
func (q *Queue) EmbeddingForward(out, tok, wte Ptr, N, C int) {
	q.c.launch("embedding_fwd", blocks(N*C), out, tok, wte, int32(N), int32(C))
}

// EmbeddingBackward: dwte[tok[n],:] += dout[n,:] for tok[n] ≥ 0, rows in order. tok is on the
// host (the batch's tokens): the rows are grouped by token here, so that the kernel runs a thread
// per (token, column) without atomics.
func (q *Queue) EmbeddingBackward(dwte, dout Ptr, tok []int32, N, C int) {
	groups, U := groupRows(tok[:N])
	if U == 0 || q.c.err != nil {
		return
	}
	p := q.Scratch(len(groups))
	q.UploadInt32(p, groups)
	q.c.launch("embedding_bwd", blocks(U*C), dwte, dout, p, p.Floats(U), p.Floats(2*U+1), int32(U), int32(C))
}

// groupRows groups the rows that have a token (tok[n] ≥ 0) by token, for embedding_bwd. It
// returns U, the number of distinct tokens, and in one slice uniq [U] (the tokens, ascending),
// start [U+1] and rows [R]: rows[start[u]:start[u+1]] are the rows of uniq[u], ascending.
func groupRows(tok []int32) ([]int32, int) {
	top := int32(-1)
	for _, t := range tok {
		top = max(top, t)
	}
	count := make([]int32, top+1) // a counting sort: tokens are below the vocabulary's size
	U, R := 0, 0
	for _, t := range tok {
		if t >= 0 {
			if count[t] == 0 {
				U++
			}
			count[t]++
			R++
		}
	}
	out := make([]int32, 2*U+1+R)
	uniq, start, rows := out[:U], out[U:2*U+1], out[2*U+1:]
	u := 0
	for t, c := range count { // count[t] becomes where token t's next row goes
		if c > 0 {
			uniq[u], start[u+1] = int32(t), start[u]+c
			count[t] = start[u]
			u++
		}
	}
	for n, t := range tok {
		if t >= 0 {
			rows[count[t]] = int32(n)
			count[t]++
		}
	}
	return out, U
}

// RMSNormForward: out = x·rstd·w, rstd [N] kept.
func (q *Queue) RMSNormForward(out, rstd, x, w Ptr, N, C int, eps float32) {
	q.c.launch("rmsnorm_fwd", blocks(warp*N), out, rstd, x, w, int32(N), int32(C), eps)
}

// RMSNormBackward: dx += …, dw += … (Ops.RMSNormBackward); dw 0: no weight gradient (frozen).
func (q *Queue) RMSNormBackward(dx, dw, dout, x, w, rstd Ptr, N, C int) {
	q.c.launch("rmsnorm_bwd_dx", blocks(warp*N), dx, dout, x, w, rstd, int32(N), int32(C))
	if dw != 0 {
		q.colSum(dw, dout, x, rstd, N, C)
	}
}

// colSum: out[c] += Σ_n a[n,c]·b[n,c]·r[n], or Σ_n a[n,c] when b is 0 (colsum.cu).
func (q *Queue) colSum(out, a, b, r Ptr, N, C int) {
	if N == 0 || C == 0 {
		return
	}
	chunks := (N + colsumRows - 1) / colsumRows
	part := q.Scratch(chunks * C)
	q.c.launch("colsum_part", blocks(chunks*C), part, a, b, r, int32(N), int32(C))
	q.c.launch("colsum_add", blocks(C), out, part, int32(chunks), int32(C))
}

// colsumRows is COLSUM_ROWS in kernels/colsum.cu.
const colsumRows = 64

// Rope rotates x [N,H,hs] in place by pos's angles (sign 1 forward, −1 backward).
func (q *Queue) Rope(x, pos, cos, sin Ptr, N, H, hs int, sign float32) {
	q.c.launch("rope", blocks(N*H*(hs/2)), x, pos, cos, sin, int32(N), int32(H), int32(hs), sign)
}

// AttentionForward: causal grouped-query attention (Ops.AttentionForward), q/out [N,NH·hs], k, v
// [N,NKV·hs], att [B,NH,T,T].
func (q *Queue) AttentionForward(out, att, qq, k, v Ptr, B, T, NH, NKV, hs int) {
	q.c.launch("attention_fwd", blocks(warp*B*NH*T), out, att, qq, k, v, int32(B), int32(T), int32(NH), int32(NKV), int32(hs), attentionScale(hs))
}

// AttentionBackward: dq, dk, dv += …; ds [B,NH,T,T] is scratch.
func (q *Queue) AttentionBackward(dq, dk, dv, ds, dout, qq, k, v, att Ptr, B, T, NH, NKV, hs int) {
	dims := []any{int32(B), int32(T), int32(NH), int32(NKV), int32(hs)}
	q.c.launch("attention_bwd_ds", blocks(warp*B*NH*T), append([]any{ds, dout, v, att}, dims...)...)
	q.c.launch("attention_bwd_dq", blocks(warp*B*NH*T), append(append([]any{dq, ds, k}, dims...), attentionScale(hs))...)
	q.c.launch("attention_bwd_dkv", blocks(warp*B*NKV*T), append(append([]any{dk, dv, ds, att, qq, dout}, dims...), attentionScale(hs))...)
}

// warp is the threads per row of the attention kernels (VRLAIF_WARP in kernels/warp.cuh).
const warp = 32

func attentionScale(hs int) float32 { return float32(1 / math.Sqrt(float64(hs))) }

// SwiGLUForward: out = silu(gate)·up over n elements, σ(gate) kept in sig.
func (q *Queue) SwiGLUForward(out, sig, gate, up Ptr, n int) {
	q.c.launch("swiglu_fwd", blocks(n), out, sig, gate, up, int32(1), int32(n))
}

// SwiGLUBackward: dgate += …, dup += … with the kept σ.
func (q *Queue) SwiGLUBackward(dgate, dup, dout, gate, up, sig Ptr, n int) {
	q.c.launch("swiglu_bwd", blocks(n), dgate, dup, dout, gate, up, sig, int32(1), int32(n))
}

// CrossEntropyForward: probs = softmax(logits) [N,V], losses[n] = −log probs[n,targets[n]].
func (q *Queue) CrossEntropyForward(losses, probs, logits, targets Ptr, N, V int) {
	q.c.launch("crossentropy_fwd", N, losses, probs, logits, targets, int32(N), int32(V))
}

// CrossEntropyBackward: dlogits += w·(probs − onehot)/norm; weights 0 means every weight is 1.
func (q *Queue) CrossEntropyBackward(dlogits, probs, targets, weights Ptr, N, V int, norm float32) {
	has := flag(weights != 0)
	if weights == 0 {
		weights = q.c.alloc(4)
	}
	q.c.launch("crossentropy_bwd", blocks(N*V), dlogits, probs, targets, weights, has, norm, int32(N), int32(V))
}

// AdamW updates n weights at w (Ops.AdamW's math) with gradients g and moments m, v.
func (q *Queue) AdamW(w, g, m, v Ptr, n int, lr, beta1, beta2, eps, wd, bc1, bc2 float32) {
	q.c.launch("adamw", blocks(n), w, g, m, v, lr, beta1, beta2, eps, wd, bc1, bc2, int32(n))
}

// Span is N elements at P.
type Span struct {
	P Ptr
	N int
}

// SumSquares returns Σ g² over each span's elements, summed in double; it waits for the device
// once, for all of them. Each sum is spread over up to 256 blocks (sum_squares_part) and their
// partial sums added in order (sum_doubles): deterministic.
func (q *Queue) SumSquares(spans ...Span) []float64 {
	out := q.c.alloc(int64(8 * len(spans)))
	for i, s := range spans {
		grid := min(256, max(1, (s.N+8*block-1)/(8*block))) // at least 8 elements a thread
		part := q.c.alloc(int64(8 * grid))
		q.c.launch("sum_squares_part", grid, part, s.P, int32(s.N))
		q.c.launch("sum_doubles", 1, out+Ptr(8*i), part, int32(grid))
	}
	ss := make([]float64, len(spans))
	q.c.f64back(ss, out)
	return ss
}

// Scale multiplies n elements at g by s.
func (q *Queue) Scale(g Ptr, s float32, n int) {
	q.c.launch("scale", blocks(n), g, s, int32(n))
}

// AddBias: out[n,o] += bias[o], out [N,OC].
func (q *Queue) AddBias(out, bias Ptr, N, OC int) {
	q.c.launch("add_bias", blocks(N*OC), out, bias, int32(N), int32(OC))
}

// BiasGrad: dbias[o] += Σ_n dout[n,o].
func (q *Queue) BiasGrad(dbias, dout Ptr, N, OC int) {
	q.colSum(dbias, dout, 0, 0, N, OC)
}

// Entropy: ent[n] = −Σ_v probs[n,v]·log probs[n,v], probs [N,V].
func (q *Queue) Entropy(ent, probs Ptr, N, V int) {
	q.c.launch("entropy", N, ent, probs, int32(N), int32(V))
}
