// Package devmodel trains the built-in model's language decoder on a GPU: weights, gradients,
// AdamW's moments and every activation stay in device memory (a gpu.KernelDevice), so a training
// step copies in only the batch's tokens and copies out only the per-token losses and the
// gradient norm. The math is package model's (Forward, Backward, ClipGradNorm, AdamW), checked
// against it by the tests. It trains every weight or, with LoRA adapters attached, the adapters
// and the scalar heads (the PPO learner's policy and value models, pipelines/train). The vision
// tower stays on the CPU: frozen under adapters, its video tokens are copied in; full training
// refuses batches with video.
package devmodel

import (
	"fmt"
	"math"
	"strings"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/model"
)

// Decoder is a model.Model's decoder on a device, with AdamW's state (model.AdamW's defaults).
// It trains every weight, or, once LoRA adapters are attached (AttachLoRA), the adapters and heads.
type Decoder struct {
	Beta1, Beta2, Eps, WeightDecay float32

	dev      *gpu.KernelDevice
	cfg      model.Config
	host     *model.Model // the CPU copy, for the (frozen) vision tower's video tokens
	base     *weights
	lora     *adapters // nil: full training
	cos, sin gpu.Ptr
	acts     map[[2]int]*acts
	last     *acts // of the last Forward
	steps    int   // AdamW steps taken (AttachLoRA starts again from 0)
}

// weights are flat parameter buffers on the device, in a model layout (model's or a LoRA's),
// with their gradients and AdamW's moments.
type weights struct {
	params     []model.Param
	byName     map[string]model.Param
	n          int
	w, g, m, v gpu.Ptr
}

func newWeights(dev *gpu.KernelDevice, params []model.Param, host []float32) (*weights, error) {
	ws := &weights{params: params, byName: map[string]model.Param{}, n: len(host)}
	for _, p := range params {
		ws.byName[p.Name] = p
	}
	var err error
	for _, p := range []*gpu.Ptr{&ws.w, &ws.g, &ws.m, &ws.v} {
		if *p, err = dev.Alloc(int64(4 * ws.n)); err != nil {
			return nil, err
		}
	}
	return ws, dev.Run(func(q *gpu.Queue) { q.Upload(ws.w, host) })
}

func (ws *weights) param(name string) model.Param {
	p, ok := ws.byName[name]
	if !ok {
		panic("devmodel: no parameter " + name)
	}
	return p
}

// New copies m's weights to dev (its base weights: adapters attached to m are not copied, see
// AttachLoRA). m is kept to compute video tokens (model.VideoTokens); its vision tower must not
// change.
func New(dev *gpu.KernelDevice, m *model.Model, weightDecay float32) (*Decoder, error) {
	opt := model.NewAdamWFor(nil, 0, weightDecay)
	d := &Decoder{Beta1: opt.Beta1, Beta2: opt.Beta2, Eps: opt.Eps, WeightDecay: weightDecay,
		dev: dev, cfg: m.Config, host: m, acts: map[[2]int]*acts{}}
	c := m.Config
	cos, sin := model.RopeTables(c.MaxPositionEmbeddings, c.HeadDim(), c.RopeTheta)
	var err error
	if d.base, err = newWeights(dev, m.Params, m.W); err != nil {
		return nil, err
	}
	if d.cos, err = dev.Alloc(int64(4 * len(cos))); err != nil {
		return nil, err
	}
	if d.sin, err = dev.Alloc(int64(4 * len(sin))); err != nil {
		return nil, err
	}
	err = dev.Run(func(q *gpu.Queue) {
		q.Upload(d.cos, cos)
		q.Upload(d.sin, sin)
	})
	return d, err
}

// W and G are the device addresses of a base parameter's weights and gradients.
func (d *Decoder) W(name string) gpu.Ptr { return d.base.w.Floats(d.base.param(name).Offset) }
func (d *Decoder) G(name string) gpu.Ptr { return d.base.g.Floats(d.base.param(name).Offset) }

// Weights copies the base weights to dst (len ≥ the model's weights), in model's layout.
func (d *Decoder) Weights(dst []float32) error { return d.download(dst, d.base.w, d.base.n) }

// Grads copies the base gradients of the last Backward (clipped, after Update) to dst. With
// adapters attached the base is frozen and only the heads' gradients are computed (see
// AdapterGrads for the adapters').
func (d *Decoder) Grads(dst []float32) error { return d.download(dst, d.base.g, d.base.n) }

func (d *Decoder) download(dst []float32, p gpu.Ptr, n int) error {
	if len(dst) < n {
		return fmt.Errorf("devmodel: %d floats for %d values", len(dst), n)
	}
	return d.dev.Run(func(q *gpu.Queue) { q.Download(dst[:n], p) })
}

// Step is Forward, Backward and Update: one training step on b with learning rate lr, clipping
// the gradient norm at maxNorm (0: no clipping). It returns the loss and the norm before clipping.
func (d *Decoder) Step(b *model.Batch, lr, maxNorm float32) (loss, gradNorm float32, err error) {
	if loss, err = d.Forward(b); err != nil {
		return 0, 0, err
	}
	if err = d.Backward(); err != nil {
		return 0, 0, err
	}
	gradNorm, err = d.Update(lr, maxNorm)
	return loss, gradNorm, err
}

// validate checks b against the model (model.ValidateBatch), and what the device needs beyond:
// targets inside the vocabulary (a kernel would read past the logits) and the rule for video rows.
func (d *Decoder) validate(b *model.Batch) error {
	if err := d.host.ValidateBatch(b); err != nil {
		return err
	}
	for r, at := range b.VideoAt {
		// The vision tower runs on the CPU's copy, which stays as New found it: right while the
		// device trains adapters only, or trains nothing yet (a reference model's forward passes).
		if at >= 0 && d.lora == nil && d.steps > 0 {
			return fmt.Errorf("devmodel: row %d has video, after full training steps: the vision tower does not train on the device (attach LoRA adapters: it is frozen then)", r)
		}
	}
	V := d.cfg.VocabSize
	for n, tg := range b.Targets {
		if tg != model.IgnoreIndex && (tg < 0 || int(tg) >= V) {
			return fmt.Errorf("devmodel: target %d at %d outside the vocabulary of %d", tg, n, V)
		}
	}
	return nil
}

// span is a run of trained parameters in one of the weight buffers.
type span struct {
	ws     *weights
	off, n int
	decays bool
}

// trained lists what training updates, in runs of the same weight decay: every base weight, or
// with adapters attached, the adapters and the model's scalar heads (the PPO value head).
func (d *Decoder) trained() []span {
	var out []span
	add := func(ws *weights, ps []model.Param) {
		for _, p := range ps {
			if k := len(out) - 1; k >= 0 && out[k].ws == ws && out[k].off+out[k].n == p.Offset && out[k].decays == model.Decays(p) {
				out[k].n += p.Size
				continue
			}
			out = append(out, span{ws, p.Offset, p.Size, model.Decays(p)})
		}
	}
	if d.lora == nil {
		add(d.base, d.base.params)
		return out
	}
	add(d.lora.weights, d.lora.params)
	for _, p := range d.base.params {
		if strings.HasPrefix(p.Name, "value_head.") || strings.HasPrefix(p.Name, "reward_head.") {
			add(d.base, []model.Param{p})
		}
	}
	return out
}

// gradSpans is trained() with neighbouring spans of one buffer joined whatever their weight
// decay: fewer launches for what treats every gradient alike (zeroing, the norm, scaling).
func (d *Decoder) gradSpans() []span {
	var out []span
	for _, s := range d.trained() {
		if k := len(out) - 1; k >= 0 && out[k].ws == s.ws && out[k].off+out[k].n == s.off {
			out[k].n += s.n
			continue
		}
		out = append(out, s)
	}
	return out
}

// ZeroGrad clears the trained gradients (Backward* accumulate into them).
func (d *Decoder) ZeroGrad() error {
	return d.dev.Run(func(q *gpu.Queue) {
		for _, s := range d.gradSpans() {
			q.Zero(s.ws.g.Floats(s.off), s.n)
		}
	})
}

// GradSumSquares is Σ g² over the trained gradients (in float64), for a global norm that spans
// several models (the PPO learner clips policy and value together).
func (d *Decoder) GradSumSquares() (float64, error) {
	var spans []gpu.Span
	for _, s := range d.gradSpans() {
		spans = append(spans, gpu.Span{P: s.ws.g.Floats(s.off), N: s.n})
	}
	var ss float64
	err := d.dev.Run(func(q *gpu.Queue) {
		for _, s := range q.SumSquares(spans...) {
			ss += s
		}
	})
	return ss, err
}

// ScaleGrads multiplies the trained gradients by f.
func (d *Decoder) ScaleGrads(f float32) error {
	return d.dev.Run(func(q *gpu.Queue) {
		for _, s := range d.gradSpans() {
			q.Scale(s.ws.g.Floats(s.off), f, s.n)
		}
	})
}

// ApplyAdamW applies one AdamW step with learning rate lr to the trained weights (model.AdamW.Step,
// weight decay on matrices only).
func (d *Decoder) ApplyAdamW(lr float32) error {
	d.steps++
	bc1 := 1 - float32(math.Pow(float64(d.Beta1), float64(d.steps)))
	bc2 := 1 - float32(math.Pow(float64(d.Beta2), float64(d.steps)))
	return d.dev.Run(func(q *gpu.Queue) {
		for _, s := range d.trained() {
			wd := float32(0)
			if s.decays {
				wd = d.WeightDecay
			}
			ws := s.ws
			q.AdamW(ws.w.Floats(s.off), ws.g.Floats(s.off), ws.m.Floats(s.off), ws.v.Floats(s.off), s.n,
				lr, d.Beta1, d.Beta2, d.Eps, wd, bc1, bc2)
		}
	})
}

// Update clips the trained gradients' global norm at maxNorm (model.ClipGradNorm; 0: no
// clipping) and applies ApplyAdamW. It returns the norm before clipping.
func (d *Decoder) Update(lr, maxNorm float32) (float32, error) {
	ss, err := d.GradSumSquares()
	if err != nil {
		return 0, err
	}
	norm := float32(math.Sqrt(ss))
	if maxNorm > 0 && norm > maxNorm {
		if err := d.ScaleGrads(maxNorm / (norm + 1e-6)); err != nil {
			return 0, err
		}
	}
	return norm, d.ApplyAdamW(lr)
}
