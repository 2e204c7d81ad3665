package gpu

import (
	"fmt"
	"math"
)

// The model's operations (Ops) on a KernelDevice. Each uploads its inputs, and for backward the
// gradients it accumulates into, runs the kernels of gpu/kernels and copies the outputs back.

var _ Ops = (*KernelDevice)(nil)

// need panics unless x holds at least n elements (gonum style: a programmer error).
func need[T any](op, name string, x []T, n int) {
	if len(x) < n {
		panic(fmt.Sprintf("gpu: %s: %s has %d elements, want %d", op, name, len(x), n))
	}
}

// embeddingRows is how many rows of the table tok reaches (the largest id + 1).
func embeddingRows(tok []int32) int {
	V := 0
	for _, t := range tok {
		V = max(V, int(t)+1)
	}
	return V
}

func (d *KernelDevice) EmbeddingForward(out []float32, tok []int32, wte []float32, N, C int) error {
	need("EmbeddingForward", "out", out, N*C)
	need("EmbeddingForward", "tok", tok, N)
	V := embeddingRows(tok[:N])
	need("EmbeddingForward", "wte", wte, V*C)
	if N*C == 0 || V == 0 { // no tokens: every row stays as it is
		return nil
	}
	return d.do(func(c *call) {
		po, pt, pw := c.f32(out[:N*C]), c.i32(tok[:N]), c.f32(wte[:V*C])
		(&Queue{c}).EmbeddingForward(po, pt, pw, N, C)
		c.f32back(out[:N*C], po)
	})
}

func (d *KernelDevice) EmbeddingBackward(dwte, dout []float32, tok []int32, N, C int) error {
	need("EmbeddingBackward", "dout", dout, N*C)
	need("EmbeddingBackward", "tok", tok, N)
	V := embeddingRows(tok[:N])
	need("EmbeddingBackward", "dwte", dwte, V*C)
	if N*C == 0 || V == 0 {
		return nil
	}
	return d.do(func(c *call) {
		pw, pd := c.f32(dwte[:V*C]), c.f32(dout[:N*C])
		(&Queue{c}).EmbeddingBackward(pw, pd, tok, N, C)
		c.f32back(dwte[:V*C], pw)
	})
}

func (d *KernelDevice) RMSNormForward(out, rstd, x, w []float32, N, C int, eps float32) error {
	need("RMSNormForward", "out", out, N*C)
	need("RMSNormForward", "x", x, N*C)
	need("RMSNormForward", "rstd", rstd, N)
	need("RMSNormForward", "w", w, C)
	if N*C == 0 {
		return nil
	}
	return d.do(func(c *call) {
		po, pr, px, pw := c.alloc(int64(4*N*C)), c.alloc(int64(4*N)), c.f32(x[:N*C]), c.f32(w[:C])
		(&Queue{c}).RMSNormForward(po, pr, px, pw, N, C, eps)
		c.f32back(out[:N*C], po)
		c.f32back(rstd[:N], pr)
	})
}

func (d *KernelDevice) RMSNormBackward(dx, dw, dout, x, w, rstd []float32, N, C int) error {
	for _, s := range []struct {
		name string
		x    []float32
		n    int
	}{{"dx", dx, N * C}, {"dout", dout, N * C}, {"x", x, N * C}, {"dw", dw, C}, {"w", w, C}, {"rstd", rstd, N}} {
		need("RMSNormBackward", s.name, s.x, s.n)
	}
	if N*C == 0 {
		return nil
	}
	return d.do(func(c *call) {
		pdx, pdw := c.f32(dx[:N*C]), c.f32(dw[:C])
		pd, px, pw, pr := c.f32(dout[:N*C]), c.f32(x[:N*C]), c.f32(w[:C]), c.f32(rstd[:N])
		(&Queue{c}).RMSNormBackward(pdx, pdw, pd, px, pw, pr, N, C)
		c.f32back(dx[:N*C], pdx)
		c.f32back(dw[:C], pdw)
	})
}

// gemm: C = alpha·op(A)·op(B) + beta·C (row-major, as model's gemm), on the product the device
// is set to (SetGemm): the sgemm kernel by default.
func (c *call) gemm(transA, transB bool, m, n, k int, alpha float32, a Ptr, lda int, b Ptr, ldb int, beta float32, cc Ptr, ldc int) {
	if c.err != nil || m*n == 0 {
		return
	}
	if c.d.gemmMode == bf16Mode && k > 0 { // operands converted to bf16 (gemm_bf16.go)
		ra, ca, rb, cb := m, k, k, n
		if transA {
			ra, ca = k, m
		}
		if transB {
			rb, cb = n, k
		}
		a16, b16 := c.bf16Copy(a, ra, ca, lda), c.bf16Copy(b, rb, cb, ldb)
		defer c.release(a16)
		defer c.release(b16)
		a, b = a16, b16
	}
	c.timed(gemmName(c.d.gemmMode, transA, transB, m, n, k), func() {
		if c.d.gemmMode != "" {
			if err := c.d.be.(GemmBackend).Gemm(c.d.gemmMode, transA, transB, m, n, k, alpha, uint64(a), lda, uint64(b), ldb, beta, uint64(cc), ldc); err != nil {
				c.fail(c.d.gemmMode+" product", err)
			}
			return
		}
		const tile = 64 // BM = BN in kernels/matmul.cu
		c.launch("sgemm", ((m+tile-1)/tile)*((n+tile-1)/tile), flag(transA), flag(transB), int32(m), int32(n), int32(k), alpha, a, int32(lda), b, int32(ldb), beta, cc, int32(ldc))
	})
}

func (d *KernelDevice) MatmulForward(out, inp, w, bias []float32, N, C, OC int) error {
	need("MatmulForward", "out", out, N*OC)
	need("MatmulForward", "inp", inp, N*C)
	need("MatmulForward", "w", w, OC*C)
	if bias != nil {
		need("MatmulForward", "bias", bias, OC)
	}
	if N*OC == 0 {
		return nil
	}
	return d.do(func(c *call) {
		po, pi, pw := c.alloc(int64(4*N*OC)), c.f32(inp[:N*C]), c.f32(w[:OC*C])
		c.gemm(false, true, N, OC, C, 1, pi, C, pw, C, 0, po, OC)
		if bias != nil {
			(&Queue{c}).AddBias(po, c.f32(bias[:OC]), N, OC)
		}
		c.f32back(out[:N*OC], po)
	})
}

func (d *KernelDevice) MatmulBackward(dinp, dw, dbias, dout, inp, w []float32, N, C, OC int) error {
	need("MatmulBackward", "dout", dout, N*OC)
	need("MatmulBackward", "inp", inp, N*C)
	need("MatmulBackward", "w", w, OC*C)
	if N*OC == 0 {
		return nil
	}
	return d.do(func(c *call) {
		pd := c.f32(dout[:N*OC])
		if dinp != nil {
			need("MatmulBackward", "dinp", dinp, N*C)
			p := c.f32(dinp[:N*C])
			c.gemm(false, false, N, C, OC, 1, pd, OC, c.f32(w[:OC*C]), C, 1, p, C)
			c.f32back(dinp[:N*C], p)
		}
		if dw != nil {
			need("MatmulBackward", "dw", dw, OC*C)
			p := c.f32(dw[:OC*C])
			c.gemm(true, false, OC, C, N, 1, pd, OC, c.f32(inp[:N*C]), C, 1, p, C)
			c.f32back(dw[:OC*C], p)
		}
		if dbias != nil {
			need("MatmulBackward", "dbias", dbias, OC)
			p := c.f32(dbias[:OC])
			(&Queue{c}).BiasGrad(p, pd, N, OC)
			c.f32back(dbias[:OC], p)
		}
	})
}

func (d *KernelDevice) rope(op string, x []float32, pos []int32, cos, sin []float32, N, H, hs int, sign float32) error {
	need(op, "x", x, N*H*hs)
	need(op, "pos", pos, N)
	half := hs / 2
	maxPos := 0
	for _, p := range pos[:N] {
		maxPos = max(maxPos, int(p)+1)
	}
	need(op, "cos", cos, maxPos*half)
	need(op, "sin", sin, maxPos*half)
	if N*H*half == 0 {
		return nil
	}
	return d.do(func(c *call) {
		px := c.f32(x[:N*H*hs])
		(&Queue{c}).Rope(px, c.i32(pos[:N]), c.f32(cos[:maxPos*half]), c.f32(sin[:maxPos*half]), N, H, hs, sign)
		c.f32back(x[:N*H*hs], px)
	})
}

func (d *KernelDevice) RopeForward(x []float32, pos []int32, cos, sin []float32, N, H, hs int) error {
	return d.rope("RopeForward", x, pos, cos, sin, N, H, hs, 1)
}

func (d *KernelDevice) RopeBackward(dx []float32, pos []int32, cos, sin []float32, N, H, hs int) error {
	return d.rope("RopeBackward", dx, pos, cos, sin, N, H, hs, -1)
}

func checkAttention(op string, B, T, NH, NKV, hs int) {
	if NKV <= 0 || NH%NKV != 0 {
		panic(fmt.Sprintf("gpu: %s: NH = %d is not a multiple of NKV = %d", op, NH, NKV))
	}
}

func (d *KernelDevice) AttentionForward(out, att, q, k, v []float32, B, T, NH, NKV, hs int) error {
	checkAttention("AttentionForward", B, T, NH, NKV, hs)
	nq, nk, na := B*T*NH*hs, B*T*NKV*hs, B*NH*T*T
	need("AttentionForward", "out", out, nq)
	need("AttentionForward", "q", q, nq)
	need("AttentionForward", "k", k, nk)
	need("AttentionForward", "v", v, nk)
	need("AttentionForward", "att", att, na)
	if nq == 0 {
		return nil
	}
	return d.do(func(c *call) {
		po, pa := c.alloc(int64(4*nq)), c.alloc(int64(4*na))
		(&Queue{c}).AttentionForward(po, pa, c.f32(q[:nq]), c.f32(k[:nk]), c.f32(v[:nk]), B, T, NH, NKV, hs)
		c.f32back(out[:nq], po)
		c.f32back(att[:na], pa)
	})
}

func (d *KernelDevice) AttentionBackward(dq, dk, dv, dout, q, k, v, att []float32, B, T, NH, NKV, hs int) error {
	checkAttention("AttentionBackward", B, T, NH, NKV, hs)
	nq, nk, na := B*T*NH*hs, B*T*NKV*hs, B*NH*T*T
	for _, s := range []struct {
		name string
		x    []float32
		n    int
	}{{"dq", dq, nq}, {"dout", dout, nq}, {"q", q, nq}, {"dk", dk, nk}, {"dv", dv, nk}, {"k", k, nk}, {"v", v, nk}, {"att", att, na}} {
		need("AttentionBackward", s.name, s.x, s.n)
	}
	if nq == 0 {
		return nil
	}
	return d.do(func(c *call) {
		pdq, pdk, pdv := c.f32(dq[:nq]), c.f32(dk[:nk]), c.f32(dv[:nk])
		pdo, pq, pk, pv, pa := c.f32(dout[:nq]), c.f32(q[:nq]), c.f32(k[:nk]), c.f32(v[:nk]), c.f32(att[:na])
		(&Queue{c}).AttentionBackward(pdq, pdk, pdv, c.alloc(int64(4*na)), pdo, pq, pk, pv, pa, B, T, NH, NKV, hs)
		c.f32back(dq[:nq], pdq)
		c.f32back(dk[:nk], pdk)
		c.f32back(dv[:nk], pdv)
	})
}

func (d *KernelDevice) SwiGLUForward(out, sig, gate, up []float32) error {
	n := len(gate)
	need("SwiGLUForward", "out", out, n)
	need("SwiGLUForward", "up", up, n)
	if sig != nil {
		need("SwiGLUForward", "sig", sig, n)
	}
	if n == 0 {
		return nil
	}
	return d.do(func(c *call) {
		po, ps := c.alloc(int64(4*n)), c.alloc(int64(4*n))
		c.launch("swiglu_fwd", blocks(n), po, ps, c.f32(gate), c.f32(up[:n]), flag(sig != nil), int32(n))
		c.f32back(out[:n], po)
		if sig != nil {
			c.f32back(sig[:n], ps)
		}
	})
}

func (d *KernelDevice) SwiGLUBackward(dgate, dup, dout, gate, up, sig []float32) error {
	n := len(gate)
	need("SwiGLUBackward", "dgate", dgate, n)
	need("SwiGLUBackward", "dup", dup, n)
	need("SwiGLUBackward", "dout", dout, n)
	need("SwiGLUBackward", "up", up, n)
	if n == 0 {
		return nil
	}
	return d.do(func(c *call) {
		pg, pu := c.f32(dgate[:n]), c.f32(dup[:n])
		has, ps := int32(0), c.alloc(4)
		if sig != nil {
			need("SwiGLUBackward", "sig", sig, n)
			has, ps = 1, c.f32(sig[:n])
		}
		c.launch("swiglu_bwd", blocks(n), pg, pu, c.f32(dout[:n]), c.f32(gate), c.f32(up[:n]), ps, has, int32(n))
		c.f32back(dgate[:n], pg)
		c.f32back(dup[:n], pu)
	})
}

// IgnoreIndex marks a target that contributes no loss (the seed's −100; model.IgnoreIndex and
// IGNORE in crossentropy.cu).
const IgnoreIndex = -100

// WeightedMeanLoss is Σ w_n·losses[n] / Σ w_n over the rows whose target is not IgnoreIndex, in
// float64, and that normaliser Σ w_n (w_n = weights[n], or 1 when weights is nil); 0, 0 when no
// row counts.
func WeightedMeanLoss(losses []float32, targets []int32, weights []float32, N int) (mean, norm float32) {
	var sum, wsum float64
	for n := 0; n < N; n++ {
		if targets[n] != IgnoreIndex {
			w := 1.0
			if weights != nil {
				w = float64(weights[n])
			}
			sum += w * float64(losses[n])
			wsum += w
		}
	}
	if wsum == 0 {
		return 0, 0
	}
	return float32(sum / wsum), float32(wsum)
}

func (d *KernelDevice) CrossEntropyForward(losses, probs, logits []float32, targets []int32, weights []float32, N, V int) (float32, float32, error) {
	need("CrossEntropyForward", "losses", losses, N)
	need("CrossEntropyForward", "probs", probs, N*V)
	need("CrossEntropyForward", "logits", logits, N*V)
	need("CrossEntropyForward", "targets", targets, N)
	if weights != nil {
		need("CrossEntropyForward", "weights", weights, N)
	}
	if N*V == 0 {
		return 0, 0, nil
	}
	err := d.do(func(c *call) {
		pl, pp := c.alloc(int64(4*N)), c.alloc(int64(4*N*V))
		(&Queue{c}).CrossEntropyForward(pl, pp, c.f32(logits[:N*V]), c.i32(targets[:N]), N, V)
		c.f32back(losses[:N], pl)
		c.f32back(probs[:N*V], pp)
	})
	if err != nil {
		return 0, 0, err
	}
	mean, norm := WeightedMeanLoss(losses, targets, weights, N)
	return mean, norm, nil
}

func (d *KernelDevice) CrossEntropyBackward(dlogits, probs []float32, targets []int32, weights []float32, N, V int, norm float32) error {
	need("CrossEntropyBackward", "dlogits", dlogits, N*V)
	need("CrossEntropyBackward", "probs", probs, N*V)
	need("CrossEntropyBackward", "targets", targets, N)
	if norm == 0 || N*V == 0 {
		return nil
	}
	return d.do(func(c *call) {
		pd := c.f32(dlogits[:N*V])
		has, pw := int32(0), c.alloc(4)
		if weights != nil {
			need("CrossEntropyBackward", "weights", weights, N)
			has, pw = 1, c.f32(weights[:N])
		}
		c.launch("crossentropy_bwd", blocks(N*V), pd, c.f32(probs[:N*V]), c.i32(targets[:N]), pw, has, norm, int32(N), int32(V))
		c.f32back(dlogits[:N*V], pd)
	})
}

func (d *KernelDevice) Entropy(ent, probs []float32, N, V int) error {
	need("Entropy", "ent", ent, N)
	need("Entropy", "probs", probs, N*V)
	if N*V == 0 {
		return nil
	}
	return d.do(func(c *call) {
		pe := c.alloc(int64(4 * N))
		(&Queue{c}).Entropy(pe, c.f32(probs[:N*V]), N, V)
		c.f32back(ent[:N], pe)
	})
}

func (d *KernelDevice) AdamW(w, g, m, v []float32, lr, beta1, beta2, eps, wd, bc1, bc2 float32) error {
	n := len(w)
	need("AdamW", "g", g, n)
	need("AdamW", "m", m, n)
	need("AdamW", "v", v, n)
	if n == 0 {
		return nil
	}
	return d.do(func(c *call) {
		pw, pm, pv := c.f32(w), c.f32(m[:n]), c.f32(v[:n])
		(&Queue{c}).AdamW(pw, c.f32(g[:n]), pm, pv, n, lr, beta1, beta2, eps, wd, bc1, bc2)
		c.f32back(w, pw)
		c.f32back(m[:n], pm)
		c.f32back(v[:n], pv)
	})
}

func (d *KernelDevice) ClipGradNorm(g []float32, maxNorm float32) (float32, error) {
	n := len(g)
	if n == 0 {
		return 0, nil
	}
	var norm float32
	err := d.do(func(c *call) {
		q, pg := &Queue{c}, c.f32(g)
		ss := q.SumSquares(Span{pg, n})[0]
		if c.err != nil {
			return
		}
		norm = float32(math.Sqrt(ss))
		if maxNorm > 0 && norm > maxNorm {
			q.Scale(pg, maxNorm/(norm+1e-6), n)
			c.f32back(g, pg)
		}
	})
	return norm, err
}
