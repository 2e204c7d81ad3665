package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Finite-difference checks. Every operation runs in float32, so a central difference with
// step eps = 1e-2, extrapolated with one at 2·eps (see checkGrad), has truncation error O(eps⁴)
// and float32 rounding error of about 6e-8·|L|/eps ≈ 1e-4 for the O(10) losses used here; the tolerance |num − ana| ≤ 2e-3 + 2e-2·|ana|
// sits an order of magnitude above both, and far below any real error (a wrong sign or a missing
// term is off by O(|ana|)).
const (
	fdEps  = 1e-2
	fdAtol = 2e-3
	fdRtol = 2e-2
)

func randn(rng *rand.Rand, n int, std float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64() * std)
	}
	return out
}

// dotLoss is Σ r·out in float64: its gradient with respect to out is r.
func dotLoss(r, out []float32) float64 {
	var s float64
	for i := range r {
		s += float64(r[i]) * float64(out[i])
	}
	return s
}

// checkGrad compares ana (the analytic gradient of loss with respect to x) with central
// differences at up to 24 positions of x.
func checkGrad(t *testing.T, name string, x, ana []float32, loss func() float64) {
	t.Helper()
	idx := []int{0, len(x) - 1}
	rng := rand.New(rand.NewPCG(uint64(len(x)), 3))
	for len(idx) < min(24, len(x)) {
		idx = append(idx, rng.IntN(len(x)))
	}
	bad := 0
	for _, i := range idx {
		orig := x[i]
		diff := func(h float32) float64 { // the central difference with step h
			x[i] = orig + h
			up := loss()
			x[i] = orig - h
			down := loss()
			x[i] = orig
			return (up - down) / float64(2*h)
		}
		// Richardson extrapolation: the central difference's error is c·h² + O(h⁴), so
		// (4·D(h) − D(2h))/3 cancels the h² term. With the weights the model tests use (std
		// 0.3), one difference at h = 1e-2 was off by up to 16 % where the loss curves sharply
		// (a projector bias: D(2e-2) −0.0212, D(1e-2) −0.0488, extrapolated −0.0581 against
		// the analytic −0.0580). A smaller h instead drowns in float32 rounding: at 5e-3 a
		// vision norm weight's difference read −0.0053 for the analytic −0.0030 (D(1e-2)
		// −0.00303).
		num := (4*diff(fdEps) - diff(2*fdEps)) / 3
		if d := math.Abs(num - float64(ana[i])); d > fdAtol+fdRtol*math.Abs(float64(ana[i])) {
			if bad < 5 {
				t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", name, i, ana[i], num)
			}
			bad++
		}
	}
}

func TestRMSNormGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	N, C := 3, 8
	x, w, r := randn(rng, N*C, 1), randn(rng, C, 1), randn(rng, N*C, 1)
	out, rstd := make([]float32, N*C), make([]float32, N)
	loss := func() float64 { RMSNormForward(out, rstd, x, w, N, C, 1e-5); return dotLoss(r, out) }
	loss()
	dx, dw := make([]float32, N*C), make([]float32, C)
	RMSNormBackward(dx, dw, r, x, w, rstd, N, C)
	checkGrad(t, "x", x, dx, loss)
	checkGrad(t, "w", w, dw, loss)
}

func TestMatmulGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 1))
	N, C, OC := 5, 7, 3
	x, w, b, r := randn(rng, N*C, 1), randn(rng, OC*C, 1), randn(rng, OC, 1), randn(rng, N*OC, 1)
	out := make([]float32, N*OC)
	loss := func() float64 { MatmulForward(out, x, w, b, N, C, OC); return dotLoss(r, out) }
	loss()
	dx, dw, db := make([]float32, N*C), make([]float32, OC*C), make([]float32, OC)
	MatmulBackward(dx, dw, db, r, x, w, N, C, OC)
	checkGrad(t, "x", x, dx, loss)
	checkGrad(t, "w", w, dw, loss)
	checkGrad(t, "b", b, db, loss)
}

func TestRopeGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	N, H, hs := 6, 2, 8
	x, r := randn(rng, N*H*hs, 1), randn(rng, N*H*hs, 1)
	pos := []int32{0, 1, 2, 5, 9, 3}
	cos, sin := RopeTables(16, hs, 10000)
	y := make([]float32, len(x))
	loss := func() float64 { copy(y, x); RopeForward(y, pos, cos, sin, N, H, hs); return dotLoss(r, y) }
	loss()
	dx := append([]float32(nil), r...)
	RopeBackward(dx, pos, cos, sin, N, H, hs)
	checkGrad(t, "x", x, dx, loss)
	// Position 0 is the identity.
	copy(y, x)
	RopeForward(y, pos, cos, sin, N, H, hs)
	for i := 0; i < H*hs; i++ {
		if y[i] != x[i] {
			t.Fatalf("rope at position 0 changed element %d", i)
		}
	}
}

func TestAttentionGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	B, T, NH, NKV, hs := 2, 5, 4, 2, 4
	q, k, v := randn(rng, B*T*NH*hs, 1), randn(rng, B*T*NKV*hs, 1), randn(rng, B*T*NKV*hs, 1)
	r := randn(rng, B*T*NH*hs, 1)
	out, att := make([]float32, len(q)), make([]float32, B*NH*T*T)
	loss := func() float64 { AttentionForward(out, att, q, k, v, B, T, NH, NKV, hs); return dotLoss(r, out) }
	loss()
	dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
	AttentionBackward(dq, dk, dv, r, q, k, v, att, make([]float32, T*T), B, T, NH, NKV, hs)
	checkGrad(t, "q", q, dq, loss)
	checkGrad(t, "k", k, dk, loss)
	checkGrad(t, "v", v, dv, loss)
	// Causality: the first position's output depends on the first key and value only.
	k2 := append([]float32(nil), k...)
	for i := NKV * hs; i < T*NKV*hs; i++ {
		k2[i] += 5
	}
	out2 := make([]float32, len(q))
	AttentionForward(out2, att, q, k2, v, B, T, NH, NKV, hs)
	for i := 0; i < NH*hs; i++ {
		if out2[i] != out[i] {
			t.Fatal("position 0 attends to later keys")
		}
	}
}

func TestActivationGrads(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 1))
	n := 20
	g, u, r := randn(rng, n, 2), randn(rng, n, 2), randn(rng, n, 1)
	out := make([]float32, n)
	sig := make([]float32, n)
	swi := func() float64 { SwiGLUForward(out, sig, g, u); return dotLoss(r, out) }
	swi()
	dg, du := make([]float32, n), make([]float32, n)
	SwiGLUBackward(dg, du, r, g, u, sig)
	checkGrad(t, "swiglu gate", g, dg, swi)
	checkGrad(t, "swiglu up", u, du, swi)
	gel := func() float64 { GELUForward(out, g); return dotLoss(r, out) }
	gel()
	dx := make([]float32, n)
	GELUBackward(dx, r, g)
	checkGrad(t, "gelu", g, dx, gel)
}

func TestCrossEntropyGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	N, V := 4, 9
	logits := randn(rng, N*V, 2)
	targets := []int32{3, IgnoreIndex, 0, 8}
	probs, losses := make([]float32, N*V), make([]float32, N)
	loss := func() float64 {
		l, _ := CrossEntropyForward(losses, probs, logits, targets, nil, N, V)
		return float64(l)
	}
	l := loss()
	if losses[1] != 0 {
		t.Error("ignored position has a loss")
	}
	var want float64
	for n, tg := range targets {
		if tg != IgnoreIndex {
			want += -math.Log(float64(probs[n*V+int(tg)]))
		}
	}
	if math.Abs(l-want/3) > 1e-5 {
		t.Errorf("mean loss %g, want %g", l, want/3)
	}
	d := make([]float32, N*V)
	CrossEntropyBackward(d, probs, targets, nil, N, V, 3)
	checkGrad(t, "logits", logits, d, loss)
	// Weighted: Σ w·l / Σ w.
	w := []float32{2, 5, 0.5, 1}
	wloss := func() float64 {
		l, _ := CrossEntropyForward(losses, probs, logits, targets, w, N, V)
		return float64(l)
	}
	_, norm := CrossEntropyForward(losses, probs, logits, targets, w, N, V)
	if norm != 3.5 {
		t.Errorf("weight normaliser %g, want 3.5 (the ignored position's weight does not count)", norm)
	}
	dw := make([]float32, N*V)
	CrossEntropyBackward(dw, probs, targets, w, N, V, norm)
	checkGrad(t, "weighted logits", logits, dw, wloss)
}

func TestVideoPoolGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	F, P, D := 3, 4, 5
	feats, rt, rs := randn(rng, F*P*D, 1), randn(rng, F*D, 1), randn(rng, P*D, 1)
	tp, sp := make([]float32, F*D), make([]float32, P*D)
	loss := func() float64 { VideoPoolForward(tp, sp, feats, F, P, D); return dotLoss(rt, tp) + dotLoss(rs, sp) }
	loss()
	d := make([]float32, F*P*D)
	VideoPoolBackward(d, rt, rs, F, P, D)
	checkGrad(t, "feats", feats, d, loss)
}

// tinyBatch makes a batch for cfg with a video in every row at position 1.
func tinyBatch(c Config, rng *rand.Rand, B, T int) *Batch {
	v := c.Vision
	b := &Batch{B: B, T: T, Tokens: make([]int32, B*T), Targets: make([]int32, B*T), VideoAt: make([]int, B),
		Patches: randn(rng, B*v.NumFrames*v.Patches()*v.PatchDim(), 1)}
	for r := 0; r < B; r++ {
		b.VideoAt[r] = 1
		for t := 0; t < T; t++ {
			n := r*T + t
			b.Tokens[n] = int32(4 + rng.IntN(c.VocabSize-4))
			if t >= 1 && t < 1+c.VideoTokens() {
				b.Tokens[n] = -1
			}
			b.Targets[n] = int32(4 + rng.IntN(c.VocabSize-4))
			if t < 1+c.VideoTokens() {
				b.Targets[n] = IgnoreIndex
			}
		}
	}
	return b
}

func TestWholeModelGrad(t *testing.T) {
	c := Tiny(24)
	m, err := New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Larger weights than the training init, so every path carries a gradient well above the
	// finite-difference noise floor.
	rng := rand.New(rand.NewPCG(8, 1))
	for i := range m.W {
		m.W[i] += float32(rng.NormFloat64() * 0.3)
	}
	b := tinyBatch(c, rng, 2, c.VideoTokens()+6)
	loss := func() float64 {
		l, err := m.Forward(b)
		if err != nil {
			t.Fatal(err)
		}
		return float64(l)
	}
	loss()
	m.ZeroGrad()
	m.Backward(b)
	ana := append([]float32(nil), m.G...)
	for _, p := range m.Params {
		checkGrad(t, p.Name, m.W[p.Offset:p.Offset+p.Size], ana[p.Offset:p.Offset+p.Size], loss)
	}
}

// BackwardLogProbs: the gradient of Σ_n c_n·log p(target_n) + Σ_n d_n·value(n) with arbitrary
// signed coefficients (PPO's policy and value losses) against finite differences, same tolerance.
func TestBackwardLogProbsGrad(t *testing.T) {
	c := Tiny(24)
	c.ValueHead = true
	m, err := New(c, 2)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 1))
	for i := range m.W {
		m.W[i] += float32(rng.NormFloat64() * 0.3)
	}
	b := tinyBatch(c, rng, 2, c.VideoTokens()+6)
	coef := randn(rng, b.B*b.T, 1)
	dv := randn(rng, b.B*b.T, 1)
	loss := func() float64 {
		if _, err := m.Forward(b); err != nil {
			t.Fatal(err)
		}
		var s float64
		v := m.HeadOutputs("value_head")
		for n, lp := range m.TokenLogProbs() {
			s += float64(coef[n])*float64(lp) + float64(dv[n])*float64(v[n])
		}
		return s
	}
	loss()
	m.ZeroGrad()
	m.BackwardLogProbs(b, coef, map[string][]float32{"value_head": dv})
	ana := append([]float32(nil), m.G...)
	for _, p := range m.Params {
		checkGrad(t, p.Name, m.W[p.Offset:p.Offset+p.Size], ana[p.Offset:p.Offset+p.Size], loss)
	}
}

// attentionRef is causal grouped-query attention and its gradient in float64, unblocked: the
// reference for the blocked products of AttentionForward/Backward.
func attentionRef(q, k, v, dout []float32, B, T, NH, NKV, hs int) (out, dq, dk, dv []float64) {
	out, dq = make([]float64, len(q)), make([]float64, len(q))
	dk, dv = make([]float64, len(k)), make([]float64, len(k))
	scale := 1 / math.Sqrt(float64(hs))
	qi := func(b, t, h, i int) int { return ((b*T+t)*NH+h)*hs + i }
	ki := func(b, t, h, i int) int { return ((b*T+t)*NKV+h)*hs + i }
	for b := 0; b < B; b++ {
		for h := 0; h < NH; h++ {
			kv := h / (NH / NKV)
			for t := 0; t < T; t++ {
				p := make([]float64, t+1)
				mx := math.Inf(-1)
				for s := 0; s <= t; s++ {
					for i := 0; i < hs; i++ {
						p[s] += float64(q[qi(b, t, h, i)]) * float64(k[ki(b, s, kv, i)]) * scale
					}
					mx = math.Max(mx, p[s])
				}
				var sum float64
				for s := range p {
					p[s] = math.Exp(p[s] - mx)
					sum += p[s]
				}
				dp := make([]float64, t+1)
				var dot float64
				for s := range p {
					p[s] /= sum
					for i := 0; i < hs; i++ {
						out[qi(b, t, h, i)] += p[s] * float64(v[ki(b, s, kv, i)])
						dv[ki(b, s, kv, i)] += p[s] * float64(dout[qi(b, t, h, i)])
						dp[s] += float64(dout[qi(b, t, h, i)]) * float64(v[ki(b, s, kv, i)])
					}
					dot += p[s] * dp[s]
				}
				for s := range p {
					ds := p[s] * (dp[s] - dot) * scale
					for i := 0; i < hs; i++ {
						dq[qi(b, t, h, i)] += ds * float64(k[ki(b, s, kv, i)])
						dk[ki(b, s, kv, i)] += ds * float64(q[qi(b, t, h, i)])
					}
				}
			}
		}
	}
	return out, dq, dk, dv
}

// The blocked products (three blocks of query rows at T = 150, the last one partial) give the
// same attention and gradients as the unblocked float64 reference. Tolerance 1e-4 + 1e-4·|ref|:
// float32 sums of at most 150 terms of size about 1 carry errors near 150·6e-8 ≈ 1e-5.
func TestAttentionBlocksMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 3))
	B, T, NH, NKV, hs := 2, 2*attnBlock+22, 4, 2, 8
	q, k, v := randn(rng, B*T*NH*hs, 1), randn(rng, B*T*NKV*hs, 1), randn(rng, B*T*NKV*hs, 1)
	dout := randn(rng, B*T*NH*hs, 1)
	wantOut, wantDq, wantDk, wantDv := attentionRef(q, k, v, dout, B, T, NH, NKV, hs)
	out, att := make([]float32, len(q)), make([]float32, B*NH*T*T)
	for i := range att {
		att[i] = float32(math.NaN()) // every entry must be written, the masked ones as 0
	}
	AttentionForward(out, att, q, k, v, B, T, NH, NKV, hs)
	// Gradients accumulate: start from a known value and subtract it after.
	dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
	for _, g := range [][]float32{dq, dk, dv} {
		for i := range g {
			g[i] = 0.5
		}
	}
	AttentionBackward(dq, dk, dv, dout, q, k, v, att, make([]float32, T*T), B, T, NH, NKV, hs)
	for i, a := range att {
		bh, rest := i/(T*T), i%(T*T)
		if t0, s := rest/T, rest%T; s > t0 && a != 0 || math.IsNaN(float64(a)) {
			t.Fatalf("att[%d] (head %d, row %d, col %d) = %g", i, bh, t0, s, a)
		}
	}
	cmp := func(name string, got []float32, want []float64, offset float64) {
		for i := range got {
			if d := math.Abs(float64(got[i]) - offset - want[i]); d > 1e-4+1e-4*math.Abs(want[i]) {
				t.Fatalf("%s[%d] = %g, reference %g", name, i, float64(got[i])-offset, want[i])
			}
		}
	}
	cmp("out", out, wantOut, 0)
	cmp("dq", dq, wantDq, 0.5)
	cmp("dk", dk, wantDk, 0.5)
	cmp("dv", dv, wantDv, 0.5)
}
