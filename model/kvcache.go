package model

import (
	"fmt"
	"math"
)

// kvCache holds every layer's keys and values for B sequences: [layer][B][maxSeq·NKV·hs].
type kvCache struct {
	k, v   [][][]float32
	length []int // positions filled per sequence
}

func newKVCache(c Config, B int) *kvCache {
	kv := &kvCache{length: make([]int, B)}
	n := c.MaxPositionEmbeddings * c.NumKeyValueHeads * c.HeadDim()
	for l := 0; l < c.NumHiddenLayers; l++ {
		ks, vs := make([][]float32, B), make([][]float32, B)
		for b := range ks {
			ks[b], vs[b] = make([]float32, n), make([]float32, n)
		}
		kv.k, kv.v = append(kv.k, ks), append(kv.v, vs)
	}
	return kv
}

// inferTokens runs the decoder on rows x (one per token; token i belongs to sequence seq[i] at
// position pos[i]), writing each token's keys and values into the cache before attending, so a
// prefill of several tokens of one sequence is causal among them and over what was cached before.
// It returns the logits of every row [len(seq), V].
func (m *Model) inferTokens(kv *kvCache, x []float32, seq []int, pos []int32) []float32 {
	c := m.Config
	N, C, H := len(seq), c.HiddenSize, c.IntermediateSize
	hs, NH, NKV := c.HeadDim(), c.NumAttentionHeads, c.NumKeyValueHeads
	group, scale := NH/NKV, float32(1/math.Sqrt(float64(hs)))
	xn, rstd := make([]float32, N*C), make([]float32, N)
	q, k, v := make([]float32, N*NH*hs), make([]float32, N*NKV*hs), make([]float32, N*NKV*hs)
	att, o := make([]float32, N*NH*hs), make([]float32, N*C)
	gate, up, mlp := make([]float32, N*H), make([]float32, N*H), make([]float32, N*H)
	scores := make([]float32, c.MaxPositionEmbeddings)
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		RMSNormForward(xn, rstd, x, m.w(p+"input_layernorm.weight"), N, C, c.RMSNormEps)
		m.linear(p+"self_attn.q_proj", q, xn, N, C, NH*hs)
		m.linear(p+"self_attn.k_proj", k, xn, N, C, NKV*hs)
		m.linear(p+"self_attn.v_proj", v, xn, N, C, NKV*hs)
		RopeForward(q, pos, m.cos, m.sin, N, NH, hs)
		RopeForward(k, pos, m.cos, m.sin, N, NKV, hs)
		for i := 0; i < N; i++ {
			row := NKV * hs
			copy(kv.k[l][seq[i]][int(pos[i])*row:], k[i*row:(i+1)*row])
			copy(kv.v[l][seq[i]][int(pos[i])*row:], v[i*row:(i+1)*row])
		}
		for i := 0; i < N; i++ {
			ks, vs, P := kv.k[l][seq[i]], kv.v[l][seq[i]], int(pos[i])+1
			for h := 0; h < NH; h++ {
				kvh := h / group
				qh := q[(i*NH+h)*hs : (i*NH+h+1)*hs]
				s := scores[:P]
				for t := 0; t < P; t++ {
					kt := ks[(t*NKV+kvh)*hs : (t*NKV+kvh+1)*hs]
					var d float32
					for j := range qh {
						d += qh[j] * kt[j]
					}
					s[t] = d * scale
				}
				softmaxCausal(s, P-1)
				oh := att[(i*NH+h)*hs : (i*NH+h+1)*hs]
				clear(oh)
				for t := 0; t < P; t++ {
					vt := vs[(t*NKV+kvh)*hs : (t*NKV+kvh+1)*hs]
					for j := range oh {
						oh[j] += s[t] * vt[j]
					}
				}
			}
		}
		m.linear(p+"self_attn.o_proj", o, att, N, NH*hs, C)
		ResidualForward(x, x, o)
		RMSNormForward(xn, rstd, x, m.w(p+"post_attention_layernorm.weight"), N, C, c.RMSNormEps)
		m.linear(p+"mlp.gate_proj", gate, xn, N, C, H)
		m.linear(p+"mlp.up_proj", up, xn, N, C, H)
		SwiGLUForward(mlp, nil, gate, up)
		m.linear(p+"mlp.down_proj", o, mlp, N, H, C)
		ResidualForward(x, x, o)
	}
	RMSNormForward(xn, rstd, x, m.w("model.norm.weight"), N, C, c.RMSNormEps)
	logits := make([]float32, N*c.VocabSize)
	MatmulForward(logits, xn, m.w("lm_head.weight"), nil, N, C, c.VocabSize)
	return logits
}

// Score returns log p(continuation[i] | prompt, continuation[:i]) for each token of continuation,
// teacher-forced in one forward pass (a judge reading "A" vs "B", or PPO re-scoring a rollout).
func (m *Model) Score(pr Prompt, continuation []int32) ([]float32, error) {
	T := len(pr.Tokens) + len(continuation)
	b := &Batch{B: 1, T: T, Tokens: append(append([]int32(nil), pr.Tokens...), continuation...),
		Targets: make([]int32, T), VideoAt: []int{pr.VideoAt}, Patches: pr.Patches}
	if pr.VideoAt < 0 {
		v := m.Config.Vision
		b.Patches = make([]float32, v.NumFrames*v.Patches()*v.PatchDim())
	}
	for i := range b.Targets {
		b.Targets[i] = IgnoreIndex
	}
	for i, t := range continuation {
		b.Targets[len(pr.Tokens)-1+i] = t
	}
	if _, err := m.Forward(b); err != nil {
		return nil, err
	}
	out := make([]float32, len(continuation))
	for i := range continuation {
		out[i] = -m.acts.losses[len(pr.Tokens)-1+i]
	}
	return out, nil
}

// NextLogProbs returns log p(v | prompt) for every token v of the vocabulary, from one forward
// pass (a judge reading "A" against "B" needs nothing more). log-softmax in float64 over the
// float32 logits.
func (m *Model) NextLogProbs(pr Prompt) ([]float32, error) {
	T := len(pr.Tokens)
	b := &Batch{B: 1, T: T, Tokens: pr.Tokens, Targets: make([]int32, T), VideoAt: []int{pr.VideoAt}, Patches: pr.Patches}
	if pr.VideoAt < 0 {
		v := m.Config.Vision
		b.Patches = make([]float32, v.NumFrames*v.Patches()*v.PatchDim())
	}
	for i := range b.Targets {
		b.Targets[i] = IgnoreIndex
	}
	if _, err := m.Forward(b); err != nil {
		return nil, err
	}
	logits := m.Logits(T - 1)
	mx := logits[0]
	for _, v := range logits {
		mx = max(mx, v)
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v - mx))
	}
	lse := float64(mx) + math.Log(sum)
	out := make([]float32, len(logits))
	for i, v := range logits {
		out[i] = float32(float64(v) - lse)
	}
	return out, nil
}
