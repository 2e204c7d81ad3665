package devmodel

import (
	"fmt"
	"maps"
	"slices"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/model"
)

// acts are one batch shape's device buffers: inputs, the activations Forward keeps for Backward,
// and Backward's scratch, carved out of one allocation.
type acts struct {
	B, T                              int
	base                              gpu.Ptr // the one allocation the rest are carved from
	tok, tgt, pos, wts                gpu.Ptr
	x                                 []gpu.Ptr // residual stream: each layer's input, and the last output
	xn, rstd1, q, k, v, att, a, x2    []gpu.Ptr
	xn2, rstd2, gate, up, mlp, sig    []gpu.Ptr
	fn, frstd, logits, probs, losses  gpu.Ptr
	dx, dxn, dq, dk, dv, ds, da, dmlp gpu.Ptr
	dgate, dup, dlogits, dfn          gpu.Ptr
	tmp                               map[string]gpu.Ptr // per adapted module: inp·Aᵀ [N,r]
	dtmp                              gpu.Ptr
	hostLosses, hostWeights           []float32
	hostTokens, hostTargets           []int32
	hasWeights                        bool
	lm                                bool // the last forward computed the logits (Forward, not ForwardHeads)
	videoAt                           []int
	lossNorm                          float32
}

// maxShapes bounds the batch shapes whose buffers are kept.
const maxShapes = 4

func (d *Decoder) actsFor(B, T int) (*acts, error) {
	if a, ok := d.acts[[2]int{B, T}]; ok {
		return a, nil
	}
	if len(d.acts) >= maxShapes { // drop them all: shapes repeat within a step, rarely across
		for key, old := range d.acts {
			if err := d.dev.Free(old.base); err != nil {
				return nil, err
			}
			delete(d.acts, key)
		}
		d.last = nil
	}
	c := d.cfg
	N, C, H, V, L := B*T, c.HiddenSize, c.IntermediateSize, c.VocabSize, c.NumHiddenLayers
	hs := c.HeadDim()
	qd, kvd, at := c.NumAttentionHeads*hs, c.NumKeyValueHeads*hs, B*c.NumAttentionHeads*T*T
	// carve hands out consecutive spans of base; the first pass, with base 0, only counts.
	var base gpu.Ptr
	off := 0
	carve := func(n int) gpu.Ptr { p := base.Floats(off); off += n; return p }
	per := func(n int) []gpu.Ptr {
		out := make([]gpu.Ptr, L)
		for l := range out {
			out[l] = carve(n)
		}
		return out
	}
	a := &acts{B: B, T: T}
	layout := func() {
		off = 0
		a.tok, a.tgt, a.pos, a.wts = carve(N), carve(N), carve(N), carve(N)
		a.x = append(per(N*C), carve(N*C))
		a.xn, a.rstd1, a.q, a.k, a.v = per(N*C), per(N), per(N*qd), per(N*kvd), per(N*kvd)
		a.att, a.a, a.x2, a.xn2, a.rstd2 = per(at), per(N*qd), per(N*C), per(N*C), per(N)
		a.gate, a.up, a.mlp, a.sig = per(N*H), per(N*H), per(N*H), per(N*H)
		a.fn, a.frstd, a.logits, a.probs, a.losses = carve(N*C), carve(N), carve(N*V), carve(N*V), carve(N)
		a.dx, a.dxn, a.dq, a.dk, a.dv = carve(N*C), carve(N*C), carve(N*qd), carve(N*kvd), carve(N*kvd)
		a.ds, a.da, a.dmlp, a.dgate, a.dup = carve(at), carve(N*qd), carve(N*H), carve(N*H), carve(N*H)
		a.dlogits, a.dfn = carve(N*V), carve(N*C)
		if d.lora != nil {
			a.tmp = map[string]gpu.Ptr{}
			for _, m := range d.lora.modules {
				a.tmp[m] = carve(N * d.lora.rank)
			}
			a.dtmp = carve(N * d.lora.rank)
		}
	}
	layout()
	var err error
	if base, err = d.dev.Alloc(int64(4 * off)); err != nil {
		return nil, fmt.Errorf("devmodel: activations for a %d×%d batch (%d MB): %w", B, T, 4*off>>20, err)
	}
	layout()
	a.base = base
	pos := make([]int32, N)
	for n := range pos {
		pos[n] = int32(n % T)
	}
	if err := d.dev.Run(func(q *gpu.Queue) { q.UploadInt32(a.pos, pos) }); err != nil {
		return nil, err
	}
	a.hostLosses = make([]float32, N)
	d.acts[[2]int{B, T}] = a
	return a, nil
}

// Forward runs the decoder on b and returns the mean cross-entropy, weighted as model.Forward
// weighs it. Rows with video need adapters attached: the vision tower, frozen then, runs on the
// CPU (model.VideoTokens) and its tokens are copied in at each row's VideoAt.
func (d *Decoder) Forward(b *model.Batch) (float32, error) { return d.forward(b, true) }

// ForwardHeads runs the decoder on b up to the final norm, without the LM head and its
// cross-entropy: what HeadOutputs and BackwardHeads with lmWeight 0 need (a value model's
// forward pass), for a V×C product and a softmax over V less. TokenLogProbs, Entropies and a
// backward pass with the LM loss refuse until the next Forward.
func (d *Decoder) ForwardHeads(b *model.Batch) error {
	_, err := d.forward(b, false)
	return err
}

// forward is Forward (lm) or ForwardHeads (not lm).
func (d *Decoder) forward(b *model.Batch, lm bool) (float32, error) {
	if err := d.validate(b); err != nil {
		return 0, err
	}
	a, err := d.actsFor(b.B, b.T)
	if err != nil {
		return 0, err
	}
	c := d.cfg
	N, C, H, V, B, T := b.B*b.T, c.HiddenSize, c.IntermediateSize, c.VocabSize, b.B, b.T
	hs, NH, NKV, eps := c.HeadDim(), c.NumAttentionHeads, c.NumKeyValueHeads, c.RMSNormEps
	qd, kvd := NH*hs, NKV*hs
	a.hostTokens, a.hostTargets, a.hostWeights, a.hasWeights, a.videoAt = b.Tokens, b.Targets, b.Weights, b.Weights != nil, b.VideoAt
	var video []float32 // [B, VideoTokens, C] from the CPU's vision tower (frozen: see validate)
	if slices.ContainsFunc(b.VideoAt, func(at int) bool { return at >= 0 }) {
		if video, err = d.host.VideoTokens(b); err != nil {
			return 0, err
		}
	}
	var loss float32
	err = d.dev.Run(func(q *gpu.Queue) {
		q.UploadInt32(a.tok, b.Tokens)
		q.UploadInt32(a.tgt, b.Targets)
		if a.hasWeights {
			q.Upload(a.wts, b.Weights)
		}
		q.Zero(a.x[0], N*C) // rows whose token is < 0 (video positions) get no embedding
		q.EmbeddingForward(a.x[0], a.tok, d.W("model.embed_tokens.weight"), N, C)
		if video != nil {
			vt := c.VideoTokens()
			tokens := q.Scratch(len(video))
			q.Upload(tokens, video)
			for r, at := range b.VideoAt {
				if at >= 0 {
					q.Copy(a.x[0].Floats((r*T+at)*C), tokens.Floats(r*vt*C), vt*C)
				}
			}
		}
		for l := 0; l < c.NumHiddenLayers; l++ {
			p := fmt.Sprintf("model.layers.%d.", l)
			q.RMSNormForward(a.xn[l], a.rstd1[l], a.x[l], d.W(p+"input_layernorm.weight"), N, C, eps)
			d.linear(q, a, p+"self_attn.q_proj", a.q[l], a.xn[l], N, C, qd, 0)
			d.linear(q, a, p+"self_attn.k_proj", a.k[l], a.xn[l], N, C, kvd, 0)
			d.linear(q, a, p+"self_attn.v_proj", a.v[l], a.xn[l], N, C, kvd, 0)
			q.Rope(a.q[l], a.pos, d.cos, d.sin, N, NH, hs, 1)
			q.Rope(a.k[l], a.pos, d.cos, d.sin, N, NKV, hs, 1)
			q.AttentionForward(a.a[l], a.att[l], a.q[l], a.k[l], a.v[l], B, T, NH, NKV, hs)
			// x2 = x + o(a): the product adds onto a copy of the residual (beta 1).
			q.Copy(a.x2[l], a.x[l], N*C)
			d.linear(q, a, p+"self_attn.o_proj", a.x2[l], a.a[l], N, qd, C, 1)
			q.RMSNormForward(a.xn2[l], a.rstd2[l], a.x2[l], d.W(p+"post_attention_layernorm.weight"), N, C, eps)
			d.linear(q, a, p+"mlp.gate_proj", a.gate[l], a.xn2[l], N, C, H, 0)
			d.linear(q, a, p+"mlp.up_proj", a.up[l], a.xn2[l], N, C, H, 0)
			q.SwiGLUForward(a.mlp[l], a.sig[l], a.gate[l], a.up[l], N*H)
			q.Copy(a.x[l+1], a.x2[l], N*C)
			d.linear(q, a, p+"mlp.down_proj", a.x[l+1], a.mlp[l], N, H, C, 1)
		}
		q.RMSNormForward(a.fn, a.frstd, a.x[c.NumHiddenLayers], d.W("model.norm.weight"), N, C, eps)
		if lm {
			q.Gemm(false, true, N, V, C, 1, a.fn, C, d.W("lm_head.weight"), C, 0, a.logits, V)
			q.CrossEntropyForward(a.losses, a.probs, a.logits, a.tgt, N, V)
			q.Download(a.hostLosses, a.losses)
		}
	})
	d.last = nil
	if err != nil {
		return 0, err
	}
	a.lm = lm
	if lm {
		loss, a.lossNorm = gpu.WeightedMeanLoss(a.hostLosses, a.hostTargets, a.hostWeights, N)
	}
	d.last = a
	return loss, nil
}

// Backward writes into the trained weights' gradients (overwriting them) the gradient of the last
// Forward's loss (model.Backward's): every weight's, or with adapters attached, the adapters'.
func (d *Decoder) Backward() error {
	if err := d.ZeroGrad(); err != nil {
		return err
	}
	return d.BackwardHeads(1, nil)
}

// BackwardHeads accumulates into the trained gradients the gradient of lmWeight·(the last
// Forward's loss) + Σ_h Σ_n dheads[h][n]·head_h(n) (model.BackwardHeads): dheads gives, per head,
// the loss's derivative with respect to each position's head output [B·T].
func (d *Decoder) BackwardHeads(lmWeight float32, dheads map[string][]float32) error {
	return d.backward(lmWeight, nil, dheads)
}

// BackwardLogProbs accumulates the gradient of Σ_n dlogp[n]·log p(targets[n]) + the heads' terms
// (model.BackwardLogProbs): the cross-entropy backward with weights −dlogp and normaliser 1.
func (d *Decoder) BackwardLogProbs(dlogp []float32, dheads map[string][]float32) error {
	w := make([]float32, len(dlogp))
	for i, g := range dlogp {
		w[i] = -g
	}
	return d.backward(1, w, dheads)
}

// backward: lmWeight·(cross-entropy weighted by the batch's weights and normalised as Forward,
// or, when lmWeights is set, by those weights with normaliser 1) + the heads' terms.
func (d *Decoder) backward(lmWeight float32, lmWeights []float32, dheads map[string][]float32) error {
	a := d.last
	if a == nil {
		return fmt.Errorf("devmodel: Backward before Forward")
	}
	c := d.cfg
	N, C, H, V, B, T, L := a.B*a.T, c.HiddenSize, c.IntermediateSize, c.VocabSize, a.B, a.T, c.NumHiddenLayers
	hs, NH, NKV := c.HeadDim(), c.NumAttentionHeads, c.NumKeyValueHeads
	qd, kvd := NH*hs, NKV*hs
	if !a.lm && (lmWeight != 0 || lmWeights != nil) {
		return fmt.Errorf("devmodel: the LM loss's gradient after ForwardHeads (no logits: run Forward)")
	}
	if d.lora == nil && slices.ContainsFunc(a.videoAt, func(at int) bool { return at >= 0 }) {
		return fmt.Errorf("devmodel: the batch has video: the vision tower does not train on the device (attach LoRA adapters: it is frozen then)")
	}
	if lmWeights != nil && len(lmWeights) != N {
		return fmt.Errorf("devmodel: %d log-probability gradients for %d positions", len(lmWeights), N)
	}
	heads := slices.Sorted(maps.Keys(dheads))
	for _, h := range heads {
		if _, ok := d.base.byName[h+".weight"]; !ok || len(dheads[h]) != N {
			return fmt.Errorf("devmodel: head %q: no such head, or %d gradients for %d positions", h, len(dheads[h]), N)
		}
	}
	return d.dev.Run(func(q *gpu.Queue) {
		frozen := d.lora != nil // only the adapters (and heads) train: no other base gradients
		wts, norm := a.wts, a.lossNorm
		if !a.hasWeights {
			wts = 0
		}
		if lmWeights != nil {
			wts, norm = q.Scratch(N), 1
			q.Upload(wts, lmWeights)
		}
		if lmWeight != 0 && norm != 0 {
			// w·(p − onehot)/(norm/lmWeight) = lmWeight·w·(p − onehot)/norm
			q.Zero(a.dlogits, N*V)
			q.CrossEntropyBackward(a.dlogits, a.probs, a.tgt, wts, N, V, norm/lmWeight)
			q.Gemm(false, false, N, C, V, 1, a.dlogits, V, d.W("lm_head.weight"), C, 0, a.dfn, C)
			if !frozen {
				q.Gemm(true, false, V, C, N, 1, a.dlogits, V, a.fn, C, 1, d.G("lm_head.weight"), C)
			}
		} else {
			q.Zero(a.dfn, N*C)
		}
		// head(n) = fn[n]·w + bias: dfn += dh·w, dw += dhᵀ·fn, dbias += Σ dh.
		for _, h := range heads {
			dh := q.Scratch(N)
			q.Upload(dh, dheads[h])
			q.Gemm(false, false, N, C, 1, 1, dh, 1, d.W(h+".weight"), C, 1, a.dfn, C)
			q.Gemm(true, false, 1, C, N, 1, dh, 1, a.fn, C, 1, d.G(h+".weight"), C)
			q.BiasGrad(d.G(h+".bias"), dh, N, 1)
		}
		// dx, the residual stream's gradient, flows down; each block's backward adds to it. The
		// norms' weight gradients are skipped when frozen (normGrad gives 0).
		normGrad := func(name string) gpu.Ptr {
			if frozen {
				return 0
			}
			return d.G(name)
		}
		q.Zero(a.dx, N*C)
		q.RMSNormBackward(a.dx, normGrad("model.norm.weight"), a.dfn, a.x[L], d.W("model.norm.weight"), a.frstd, N, C)
		for l := L - 1; l >= 0; l-- {
			p := fmt.Sprintf("model.layers.%d.", l)
			d.linearBackward(q, a, p+"mlp.down_proj", a.dmlp, 0, a.dx, a.mlp[l], N, H, C)
			q.Zero(a.dgate, N*H)
			q.Zero(a.dup, N*H)
			q.SwiGLUBackward(a.dgate, a.dup, a.dmlp, a.gate[l], a.up[l], a.sig[l], N*H)
			d.linearBackward(q, a, p+"mlp.gate_proj", a.dxn, 0, a.dgate, a.xn2[l], N, C, H)
			d.linearBackward(q, a, p+"mlp.up_proj", a.dxn, 1, a.dup, a.xn2[l], N, C, H)
			post := p + "post_attention_layernorm.weight"
			q.RMSNormBackward(a.dx, normGrad(post), a.dxn, a.x2[l], d.W(post), a.rstd2[l], N, C)
			d.linearBackward(q, a, p+"self_attn.o_proj", a.da, 0, a.dx, a.a[l], N, qd, C)
			q.Zero(a.dq, N*qd)
			q.Zero(a.dk, N*kvd)
			q.Zero(a.dv, N*kvd)
			q.AttentionBackward(a.dq, a.dk, a.dv, a.ds, a.da, a.q[l], a.k[l], a.v[l], a.att[l], B, T, NH, NKV, hs)
			q.Rope(a.dq, a.pos, d.cos, d.sin, N, NH, hs, -1)
			q.Rope(a.dk, a.pos, d.cos, d.sin, N, NKV, hs, -1)
			d.linearBackward(q, a, p+"self_attn.q_proj", a.dxn, 0, a.dq, a.xn[l], N, C, qd)
			d.linearBackward(q, a, p+"self_attn.k_proj", a.dxn, 1, a.dk, a.xn[l], N, C, kvd)
			d.linearBackward(q, a, p+"self_attn.v_proj", a.dxn, 1, a.dv, a.xn[l], N, C, kvd)
			in := p + "input_layernorm.weight"
			q.RMSNormBackward(a.dx, normGrad(in), a.dxn, a.x[l], d.W(in), a.rstd1[l], N, C)
		}
		if !frozen {
			q.EmbeddingBackward(d.G("model.embed_tokens.weight"), a.dx, a.hostTokens, N, C)
		}
	})
}
