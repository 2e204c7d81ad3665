package model

import (
	"fmt"
	"slices"
)

// acts holds the activations of one forward pass, kept for backward, and backward's scratch.
type acts struct {
	B, T int
	// vision tower, Nv = B·F·P rows
	vx, vn, vh, vg [][]float32 // per vision layer: residual input, normed, fc1 output, GELU output
	vrstd          [][]float32
	vout           []float32 // residual stream after the last block
	vpost, vprstd  []float32 // post-norm
	p1, p1g, feats []float32 // projector: fc0 output, GELU, fc2 output [Nv,C]
	vtok           []float32 // pooled video tokens [B, F+P, C]
	// decoder, N = B·T rows
	pos                                     []int32
	x                                       [][]float32 // residual input of each layer, and the final one
	xn, rstd1, att, a, x2, xn2              [][]float32
	qkv                                     [][]float32 // fused q, k, v [N, (NH+2·NKV)·hs] (see fused.go)
	gu                                      [][]float32 // fused gate, up [N, 2H]
	rstd2, mlp, sig                         [][]float32
	fn, frstd, logits, probs, losses        []float32
	lossNorm                                float32 // the loss normaliser (Σ weights), for backward
	dx, dxn, dqkv, da, dmlp, dgu            []float32
	dlogits, dfn, scratch                   []float32
	dvtok, dfeats, dp1, dp1g, dvx, dvn, dvh []float32
	dvg, dvpost                             []float32
}

// ensureActs returns the activation buffers for a B×T batch. Buffers are kept per shape (a few
// shapes at most: SFT rounds lengths up, see train.MakeBatch), since allocating hundreds of
// megabytes of zeroed memory per step would cost more than the step.
func (m *Model) ensureActs(B, T int) *acts {
	key := [2]int{B, T}
	if a, ok := m.actsByShape[key]; ok {
		m.acts = a
		return a
	}
	if m.actsByShape == nil || len(m.actsByShape) >= maxCachedShapes {
		m.actsByShape = map[[2]int]*acts{}
	}
	c := m.Config
	v := c.Vision
	N, C, H, V := B*T, c.HiddenSize, c.IntermediateSize, c.VocabSize
	Nv := B * v.NumFrames * v.Patches()
	qd, kvd := c.NumAttentionHeads*c.HeadDim(), c.NumKeyValueHeads*c.HeadDim()
	f := func(n int) []float32 { return make([]float32, n) }
	per := func(L, n int) [][]float32 {
		out := make([][]float32, L)
		for i := range out {
			out[i] = f(n)
		}
		return out
	}
	L, VL := c.NumHiddenLayers, v.NumHiddenLayers
	a := &acts{B: B, T: T,
		vx: per(VL, Nv*v.HiddenSize), vn: per(VL, Nv*v.HiddenSize), vh: per(VL, Nv*v.IntermediateSize),
		vg: per(VL, Nv*v.IntermediateSize), vrstd: per(VL, Nv), vout: f(Nv * v.HiddenSize),
		vpost: f(Nv * v.HiddenSize), vprstd: f(Nv), p1: f(Nv * C), p1g: f(Nv * C), feats: f(Nv * C),
		vtok: f(B * c.VideoTokens() * C), pos: make([]int32, N),
		x: per(L+1, N*C), xn: per(L, N*C), rstd1: per(L, N), qkv: per(L, N*(qd+2*kvd)),
		att: per(L, B*c.NumAttentionHeads*T*T), a: per(L, N*qd), x2: per(L, N*C), xn2: per(L, N*C),
		rstd2: per(L, N), gu: per(L, N*2*H), mlp: per(L, N*H), sig: per(L, N*H),
		fn: f(N * C), frstd: f(N), logits: f(N * V), probs: f(N * V), losses: f(N),
		dx: f(N * C), dxn: f(N * C), dqkv: f(N * (qd + 2*kvd)), da: f(N * qd),
		dmlp: f(N * H), dgu: f(N * 2 * H), dlogits: f(N * V), dfn: f(N * C), scratch: f(T * T),
		dvtok: f(B * c.VideoTokens() * C), dfeats: f(Nv * C), dp1: f(Nv * C), dp1g: f(Nv * C),
		dvx: f(Nv * v.HiddenSize), dvn: f(Nv * v.HiddenSize), dvh: f(Nv * v.IntermediateSize),
		dvg: f(Nv * v.IntermediateSize), dvpost: f(Nv * v.HiddenSize),
	}
	for n := range a.pos {
		a.pos[n] = int32(n % T)
	}
	m.acts = a
	m.actsByShape[key] = a
	return a
}

// maxCachedShapes bounds the activation buffers kept (each can be hundreds of megabytes).
const maxCachedShapes = 6

// Forward runs the model on a batch and returns the mean cross-entropy over the positions whose
// target is not IgnoreIndex (0 when there are none). Logits stay available through Logits.
func (m *Model) Forward(b *Batch) (float32, error) {
	if err := m.ValidateBatch(b); err != nil {
		return 0, err
	}
	c := m.Config
	a := m.ensureActs(b.B, b.T)
	m.visionForward(a, b)
	N, C, T := b.B*b.T, c.HiddenSize, b.T
	x := a.x[0]
	clear(x)
	EmbeddingForward(x, b.Tokens, m.w("model.embed_tokens.weight"), N, C)
	vt := c.VideoTokens()
	for r, at := range b.VideoAt {
		if at >= 0 {
			copy(x[(r*T+at)*C:(r*T+at+vt)*C], a.vtok[r*vt*C:(r+1)*vt*C])
		}
	}
	hs, NH, NKV, H := c.HeadDim(), c.NumAttentionHeads, c.NumKeyValueHeads, c.IntermediateSize
	qd, kvd := NH*hs, NKV*hs
	width := qd + 2*kvd // of the fused q/k/v activation: q's columns, then k's, then v's
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		RMSNormForward(a.xn[l], a.rstd1[l], a.x[l], m.w(p+"input_layernorm.weight"), N, C, c.RMSNormEps)
		qkv := a.qkv[l]
		if m.LoRA == nil {
			m.fusedForward(p+"self_attn.q_proj.weight", qkv, a.xn[l], N, C, width)
		} else {
			m.linearTo(p+"self_attn.q_proj", qkv, width, a.xn[l], N, C, qd)
			m.linearTo(p+"self_attn.k_proj", qkv[qd:], width, a.xn[l], N, C, kvd)
			m.linearTo(p+"self_attn.v_proj", qkv[qd+kvd:], width, a.xn[l], N, C, kvd)
		}
		rope(qkv, width, a.pos, m.cos, m.sin, N, NH+NKV, hs, 1) // q's heads and k's, side by side
		attentionForward(a.a[l], a.att[l], qkv, qkv[qd:], qkv[qd+kvd:], b.B, T, NH, NKV, hs, attnStrides{width, width, qd})
		m.linear(p+"self_attn.o_proj", a.x2[l], a.a[l], N, qd, C)
		ResidualForward(a.x2[l], a.x2[l], a.x[l])
		RMSNormForward(a.xn2[l], a.rstd2[l], a.x2[l], m.w(p+"post_attention_layernorm.weight"), N, C, c.RMSNormEps)
		gu := a.gu[l]
		if m.LoRA == nil {
			m.fusedForward(p+"mlp.gate_proj.weight", gu, a.xn2[l], N, C, 2*H)
		} else {
			m.linearTo(p+"mlp.gate_proj", gu, 2*H, a.xn2[l], N, C, H)
			m.linearTo(p+"mlp.up_proj", gu[H:], 2*H, a.xn2[l], N, C, H)
		}
		swigluRows(a.mlp[l], a.sig[l], gu, N, H)
		m.linear(p+"mlp.down_proj", a.x[l+1], a.mlp[l], N, H, C)
		ResidualForward(a.x[l+1], a.x[l+1], a.x2[l])
	}
	RMSNormForward(a.fn, a.frstd, a.x[c.NumHiddenLayers], m.w("model.norm.weight"), N, C, c.RMSNormEps)
	MatmulForward(a.logits, a.fn, m.w("lm_head.weight"), nil, N, C, c.VocabSize)
	loss, norm := CrossEntropyForward(a.losses, a.probs, a.logits, b.Targets, b.Weights, N, c.VocabSize)
	a.lossNorm = norm
	return loss, nil
}

// VideoTokens runs the vision tower and the projector on b's frames and returns every row's video
// tokens [B, VideoTokens, C]: what Forward places at each row's VideoAt (gpu/devmodel, which runs
// the decoder on a GPU, takes them from here).
func (m *Model) VideoTokens(b *Batch) ([]float32, error) {
	if err := m.ValidateBatch(b); err != nil {
		return nil, err
	}
	a := m.ensureActs(b.B, b.T)
	m.visionForward(a, b)
	return slices.Clone(a.vtok), nil
}

// Logits returns row n's logits from the last Forward (valid until the next one).
func (m *Model) Logits(n int) []float32 {
	V := m.Config.VocabSize
	return m.acts.logits[n*V : (n+1)*V]
}

// Probs returns row n's softmax from the last Forward.
func (m *Model) Probs(n int) []float32 {
	V := m.Config.VocabSize
	return m.acts.probs[n*V : (n+1)*V]
}

func (m *Model) visionForward(a *acts, b *Batch) {
	c, v := m.Config, m.Config.Vision
	F, P, D, Hv, C := v.NumFrames, v.Patches(), v.HiddenSize, v.IntermediateSize, c.HiddenSize
	Nv := b.B * F * P
	x := a.vout
	if v.NumHiddenLayers > 0 {
		x = a.vx[0]
	}
	MatmulForward(x, b.Patches, m.w("vision_tower.patch_embed.weight"), m.w("vision_tower.patch_embed.bias"), Nv, v.PatchDim(), D)
	pe := m.w("vision_tower.pos_embed")
	for r := 0; r < Nv; r++ {
		row, pr := x[r*D:(r+1)*D], pe[(r%P)*D:(r%P+1)*D]
		for i := range row {
			row[i] += pr[i]
		}
	}
	for l := 0; l < v.NumHiddenLayers; l++ {
		p := fmt.Sprintf("vision_tower.layers.%d.", l)
		next := a.vout
		if l+1 < v.NumHiddenLayers {
			next = a.vx[l+1]
		}
		RMSNormForward(a.vn[l], a.vrstd[l], a.vx[l], m.w(p+"norm.weight"), Nv, D, c.RMSNormEps)
		MatmulForward(a.vh[l], a.vn[l], m.w(p+"fc1.weight"), m.w(p+"fc1.bias"), Nv, D, Hv)
		GELUForward(a.vg[l], a.vh[l])
		MatmulForward(next, a.vg[l], m.w(p+"fc2.weight"), m.w(p+"fc2.bias"), Nv, Hv, D)
		ResidualForward(next, next, a.vx[l])
	}
	RMSNormForward(a.vpost, a.vprstd, a.vout, m.w("vision_tower.post_norm.weight"), Nv, D, c.RMSNormEps)
	MatmulForward(a.p1, a.vpost, m.w("model.mm_projector.0.weight"), m.w("model.mm_projector.0.bias"), Nv, D, C)
	GELUForward(a.p1g, a.p1)
	MatmulForward(a.feats, a.p1g, m.w("model.mm_projector.2.weight"), m.w("model.mm_projector.2.bias"), Nv, C, C)
	vt := c.VideoTokens()
	parallelRows(b.B, F*P*C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			tok := a.vtok[r*vt*C : (r+1)*vt*C]
			VideoPoolForward(tok[:F*C], tok[F*C:], a.feats[r*F*P*C:(r+1)*F*P*C], F, P, C)
		}
	})
}
