package model

import (
	"fmt"
	"math"
)

// Backward accumulates into G the gradient of the mean loss of the last Forward on b.
// Call ZeroGrad first unless gradients are meant to accumulate over several batches.
func (m *Model) Backward(b *Batch) { m.BackwardHeads(b, 1, nil) }

// HeadOutputs returns head(fn[n]) = fn[n]·w + bias for every position of the last Forward, where
// fn is the final normed hidden state and head is "value_head" or "reward_head". [B·T]
func (m *Model) HeadOutputs(head string) []float32 {
	a, C := m.acts, m.Config.HiddenSize
	w, bias := m.w(head+".weight"), m.w(head + ".bias")[0]
	out := make([]float32, a.B*a.T)
	for n := range out {
		var s float32
		for i, v := range a.fn[n*C : (n+1)*C] {
			s += v * w[i]
		}
		out[n] = s + bias
	}
	return out
}

// BackwardHeads accumulates the gradient of lmWeight·(mean cross-entropy) + Σ_h Σ_n
// dheads[h][n]·head_h(fn[n]): dheads gives, per head name, the loss's derivative with respect to
// each position's head output (zero where unused). lmWeight 0 skips the language-model loss.
func (m *Model) BackwardHeads(b *Batch, lmWeight float32, dheads map[string][]float32) {
	c := m.Config
	a := m.acts
	N, C, T, V := b.B*b.T, c.HiddenSize, b.T, c.VocabSize
	hs, NH, NKV, H := c.HeadDim(), c.NumAttentionHeads, c.NumKeyValueHeads, c.IntermediateSize
	qd, kvd := NH*hs, NKV*hs
	width := qd + 2*kvd // of the fused q/k/v activation (see Forward)
	if lmWeight != 0 {
		crossEntropyBackward(a.dlogits, a.probs, b.Targets, b.Weights, N, V, a.lossNorm, lmWeight, true)
		matmulBackward(a.dfn, 0, m.g("lm_head.weight"), nil, a.dlogits, V, a.fn, m.w("lm_head.weight"), N, C, V)
	} else {
		clear(a.dfn)
	}
	for head, d := range dheads {
		w, gw, gb := m.w(head+".weight"), m.g(head+".weight"), m.g(head+".bias")
		for n := 0; n < N; n++ {
			if d[n] == 0 {
				continue
			}
			fn, dfn := a.fn[n*C:(n+1)*C], a.dfn[n*C:(n+1)*C]
			for i := range fn {
				gw[i] += d[n] * fn[i]
				dfn[i] += d[n] * w[i]
			}
			gb[0] += d[n]
		}
	}
	// dx is the gradient of the residual stream, flowing down through the layers: each layer adds
	// its blocks' input gradients to it in place (the residual adds pass it through unchanged).
	dx := a.dx
	clear(dx)
	L := c.NumHiddenLayers
	RMSNormBackward(dx, m.g("model.norm.weight"), a.dfn, a.x[L], m.w("model.norm.weight"), a.frstd, N, C)
	for l := L - 1; l >= 0; l-- {
		p := fmt.Sprintf("model.layers.%d.", l)
		// x[l+1] = x2 + down(swiglu(gate(xn2), up(xn2))), xn2 = norm(x2)
		m.linearBackward(p+"mlp.down_proj", a.dmlp, 0, dx, C, a.mlp[l], N, H, C)
		swigluBackwardRows(a.dgu, a.dmlp, a.gu[l], a.sig[l], N, H)
		if m.LoRA == nil {
			m.fusedBackward(p+"mlp.gate_proj.weight", a.dxn, 0, a.dgu, a.xn2[l], N, C, 2*H)
		} else {
			m.linearBackward(p+"mlp.gate_proj", a.dxn, 0, a.dgu, 2*H, a.xn2[l], N, C, H)
			m.linearBackward(p+"mlp.up_proj", a.dxn, 1, a.dgu[H:], 2*H, a.xn2[l], N, C, H)
		}
		RMSNormBackward(dx, m.g(p+"post_attention_layernorm.weight"), a.dxn, a.x2[l], m.w(p+"post_attention_layernorm.weight"), a.rstd2[l], N, C)
		// dx is now x2's gradient. x2 = x + o(attn(rope(q(xn)), rope(k(xn)), v(xn))), xn = norm(x)
		m.linearBackward(p+"self_attn.o_proj", a.da, 0, dx, C, a.a[l], N, qd, C)
		dqkv, qkv := a.dqkv, a.qkv[l]
		clear(dqkv)
		attentionBackward(dqkv, dqkv[qd:], dqkv[qd+kvd:], a.da, qkv, qkv[qd:], qkv[qd+kvd:], a.att[l], a.scratch, b.B, T, NH, NKV, hs, attnStrides{width, width, qd})
		rope(dqkv, width, a.pos, m.cos, m.sin, N, NH+NKV, hs, -1)
		if m.LoRA == nil {
			m.fusedBackward(p+"self_attn.q_proj.weight", a.dxn, 0, dqkv, a.xn[l], N, C, width)
		} else {
			m.linearBackward(p+"self_attn.q_proj", a.dxn, 0, dqkv, width, a.xn[l], N, C, qd)
			m.linearBackward(p+"self_attn.k_proj", a.dxn, 1, dqkv[qd:], width, a.xn[l], N, C, kvd)
			m.linearBackward(p+"self_attn.v_proj", a.dxn, 1, dqkv[qd+kvd:], width, a.xn[l], N, C, kvd)
		}
		RMSNormBackward(dx, m.g(p+"input_layernorm.weight"), a.dxn, a.x[l], m.w(p+"input_layernorm.weight"), a.rstd1[l], N, C)
	}
	EmbeddingBackward(m.g("model.embed_tokens.weight"), dx, b.Tokens, N, C)
	if m.FreezeVision {
		return
	}
	vt := c.VideoTokens()
	clear(a.dvtok)
	for r, at := range b.VideoAt {
		if at >= 0 {
			copy(a.dvtok[r*vt*C:(r+1)*vt*C], dx[(r*T+at)*C:(r*T+at+vt)*C])
		}
	}
	m.visionBackward(a, b)
}

func (m *Model) visionBackward(a *acts, b *Batch) {
	c, v := m.Config, m.Config.Vision
	F, P, D, Hv, C := v.NumFrames, v.Patches(), v.HiddenSize, v.IntermediateSize, c.HiddenSize
	Nv, vt := b.B*F*P, c.VideoTokens()
	parallelRows(b.B, F*P*C, func(lo, hi int) {
		clear(a.dfeats[lo*F*P*C : hi*F*P*C])
		for r := lo; r < hi; r++ {
			dt := a.dvtok[r*vt*C : (r+1)*vt*C]
			VideoPoolBackward(a.dfeats[r*F*P*C:(r+1)*F*P*C], dt[:F*C], dt[F*C:], F, P, C)
		}
	})
	matmulBackward(a.dp1g, 0, m.g("model.mm_projector.2.weight"), m.g("model.mm_projector.2.bias"), a.dfeats, C, a.p1g, m.w("model.mm_projector.2.weight"), Nv, C, C)
	clear(a.dp1)
	GELUBackward(a.dp1, a.dp1g, a.p1)
	matmulBackward(a.dvpost, 0, m.g("model.mm_projector.0.weight"), m.g("model.mm_projector.0.bias"), a.dp1, C, a.vpost, m.w("model.mm_projector.0.weight"), Nv, D, C)
	dx := a.dvx
	clear(dx)
	RMSNormBackward(dx, m.g("vision_tower.post_norm.weight"), a.dvpost, a.vout, m.w("vision_tower.post_norm.weight"), a.vprstd, Nv, D)
	for l := v.NumHiddenLayers - 1; l >= 0; l-- {
		p := fmt.Sprintf("vision_tower.layers.%d.", l)
		// next = vx + fc2(gelu(fc1(norm(vx)))): dx flows to vx directly and through the block.
		matmulBackward(a.dvg, 0, m.g(p+"fc2.weight"), m.g(p+"fc2.bias"), dx, D, a.vg[l], m.w(p+"fc2.weight"), Nv, Hv, D)
		clear(a.dvh)
		GELUBackward(a.dvh, a.dvg, a.vh[l])
		matmulBackward(a.dvn, 0, m.g(p+"fc1.weight"), m.g(p+"fc1.bias"), a.dvh, Hv, a.vn[l], m.w(p+"fc1.weight"), Nv, D, Hv)
		RMSNormBackward(dx, m.g(p+"norm.weight"), a.dvn, a.vx[l], m.w(p+"norm.weight"), a.vrstd[l], Nv, D)
	}
	dpe := m.g("vision_tower.pos_embed")
	for r := 0; r < Nv; r++ {
		row, pr := dx[r*D:(r+1)*D], dpe[(r%P)*D:(r%P+1)*D]
		for i := range row {
			pr[i] += row[i]
		}
	}
	MatmulBackward(nil, m.g("vision_tower.patch_embed.weight"), m.g("vision_tower.patch_embed.bias"), dx, b.Patches, m.w("vision_tower.patch_embed.weight"), Nv, v.PatchDim(), D)
}

// TokenLogProbs returns log p(targets[n]) for every position of the last Forward (0 where the
// target is IgnoreIndex). [B·T]
func (m *Model) TokenLogProbs() []float32 {
	out := make([]float32, len(m.acts.losses))
	for i, l := range m.acts.losses {
		out[i] = -l
	}
	return out
}

// Entropy returns the entropy (nats) of position n's next-token distribution from the last Forward.
func (m *Model) Entropy(n int) float32 {
	var h float64
	for _, p := range m.Probs(n) {
		if p > 0 {
			h -= float64(p) * math.Log(float64(p))
		}
	}
	return float32(h)
}

// BackwardLogProbs accumulates the gradient of Σ_n dlogp[n]·log p(targets[n]) + Σ_h Σ_n
// dheads[h][n]·head_h(fn[n]) for the last Forward on b (positions whose target is IgnoreIndex
// contribute nothing): PPO's policy loss arrives as its derivative with respect to each token's
// log-probability. Since ∂log p(y)/∂logit_v = [v = y] − p_v, this is the weighted cross-entropy
// backward with weights −dlogp and normaliser 1.
func (m *Model) BackwardLogProbs(b *Batch, dlogp []float32, dheads map[string][]float32) {
	w := make([]float32, len(dlogp))
	for i, d := range dlogp {
		w[i] = -d
	}
	saved, norm := b.Weights, m.acts.lossNorm
	b.Weights, m.acts.lossNorm = w, 1
	m.BackwardHeads(b, 1, dheads)
	b.Weights, m.acts.lossNorm = saved, norm
}
