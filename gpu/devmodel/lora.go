package devmodel

import (
	"fmt"
	"strings"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/model"
)

// adapters are LoRA adapters on the device (model.LoRA's layout and math): for a target module
// with weight W [out,in], out = inp·Wᵀ + s·(inp·Aᵀ)·Bᵀ, s = alpha/r.
type adapters struct {
	*weights
	rank    int
	scale   float32
	modules []string // adapted modules ("model.layers.0.self_attn.q_proj"), in layout order
}

const (
	loraPrefix = "base_model.model."
	loraA      = ".lora_A.weight"
	loraB      = ".lora_B.weight"
)

// AttachLoRA copies l's adapters to the device. From then on the base weights are frozen:
// Backward computes the adapters' gradients only (AdapterGrads) and Update steps the adapters
// (a fresh AdamW state). Attach before the first Forward.
func (d *Decoder) AttachLoRA(l *model.LoRA) error {
	if d.lora != nil {
		return fmt.Errorf("devmodel: adapters are already attached")
	}
	if len(d.acts) > 0 {
		return fmt.Errorf("devmodel: attach adapters before the first Forward")
	}
	ws, err := newWeights(d.dev, l.Params, l.W)
	if err != nil {
		return err
	}
	ad := &adapters{weights: ws, rank: l.Config.Rank, scale: l.Config.Alpha / float32(l.Config.Rank)}
	for _, p := range l.Params {
		if module, ok := strings.CutSuffix(p.Name, loraA); ok {
			ad.modules = append(ad.modules, strings.TrimPrefix(module, loraPrefix))
		}
	}
	d.lora, d.steps = ad, 0
	return nil
}

// AdapterWeights and AdapterGrads copy the adapters' weights and gradients (model.LoRA's W and G
// layout) to dst.
func (d *Decoder) AdapterWeights(dst []float32) error {
	if d.lora == nil {
		return fmt.Errorf("devmodel: no adapters attached")
	}
	return d.download(dst, d.lora.w, d.lora.n)
}

func (d *Decoder) AdapterGrads(dst []float32) error {
	if d.lora == nil {
		return fmt.Errorf("devmodel: no adapters attached")
	}
	return d.download(dst, d.lora.g, d.lora.n)
}

// adapter returns module's A and B and their gradients, or ok false without an adapter.
func (d *Decoder) adapter(module string) (a, b, ga, gb gpu.Ptr, ok bool) {
	if d.lora == nil {
		return 0, 0, 0, 0, false
	}
	pa, ok := d.lora.byName[loraPrefix+module+loraA]
	if !ok {
		return 0, 0, 0, 0, false
	}
	pb := d.lora.param(loraPrefix + module + loraB)
	ws := d.lora.weights
	return ws.w.Floats(pa.Offset), ws.w.Floats(pb.Offset), ws.g.Floats(pa.Offset), ws.g.Floats(pb.Offset), true
}

// linear: out = beta·out + inp·Wᵀ (+ s·(inp·Aᵀ)·Bᵀ with an adapter, inp·Aᵀ kept in a.tmp).
// out [N,OC], inp [N,C].
func (d *Decoder) linear(q *gpu.Queue, a *acts, module string, out, inp gpu.Ptr, N, C, OC int, beta float32) {
	q.Gemm(false, true, N, OC, C, 1, inp, C, d.W(module+".weight"), C, beta, out, OC)
	if A, B, _, _, ok := d.adapter(module); ok {
		r, tmp := d.lora.rank, a.tmp[module]
		q.Gemm(false, true, N, r, C, 1, inp, C, A, C, 0, tmp, r)
		q.Gemm(false, true, N, OC, r, d.lora.scale, tmp, r, B, r, 1, out, OC)
	}
}

// linearBackward: dinp = beta·dinp + dout·W, and the trained weights' gradients: dW += doutᵀ·inp
// without adapters; with them W is frozen and, for an adapted module (model.linearBackward),
// dB += s·doutᵀ·tmp, dtmp = s·dout·B, dA += dtmpᵀ·inp, dinp += dtmp·A.
func (d *Decoder) linearBackward(q *gpu.Queue, a *acts, module string, dinp gpu.Ptr, beta float32, dout, inp gpu.Ptr, N, C, OC int) {
	q.Gemm(false, false, N, C, OC, 1, dout, OC, d.W(module+".weight"), C, beta, dinp, C)
	if d.lora == nil {
		q.Gemm(true, false, OC, C, N, 1, dout, OC, inp, C, 1, d.G(module+".weight"), C)
		return
	}
	A, B, gA, gB, ok := d.adapter(module)
	if !ok {
		return
	}
	r, s := d.lora.rank, d.lora.scale
	q.Gemm(true, false, OC, r, N, s, dout, OC, a.tmp[module], r, 1, gB, r)
	q.Gemm(false, false, N, r, OC, s, dout, OC, B, r, 0, a.dtmp, r)
	q.Gemm(true, false, r, C, N, 1, a.dtmp, r, inp, C, 1, gA, C)
	q.Gemm(false, false, N, C, r, 1, a.dtmp, r, A, C, 1, dinp, C)
}
