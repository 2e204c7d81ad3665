package devmodel

import (
	"fmt"

	"github.com/vrlaif/vrlaif/gpu"
)

// Moving the trained state between host and device, for a caller that keeps the host copy as the
// record (the PPO learner checkpoints and publishes from it): weights and AdamW's moments, in the
// host layouts of model.LoRA.W and model.AdamW.State (m, v as long as the weights).

// AdapterState copies the adapters' weights and moments to w, m, v (each len ≥ the adapters').
func (d *Decoder) AdapterState(w, m, v []float32) error {
	return d.adapterState(w, m, v, false)
}

// SetAdapterState copies w, m, v to the adapters' weights and moments on the device.
func (d *Decoder) SetAdapterState(w, m, v []float32) error {
	return d.adapterState(w, m, v, true)
}

func (d *Decoder) adapterState(w, m, v []float32, up bool) error {
	if d.lora == nil {
		return fmt.Errorf("devmodel: no adapters attached")
	}
	ws := d.lora.weights
	return d.move([]span{{ws, 0, ws.n, false}}, w, m, v, up)
}

// HeadState copies the scalar heads' weights and moments (value_head, reward_head: the spans the
// adapters train beside them) into w, m, v, which are laid out as the whole model's weights.
func (d *Decoder) HeadState(w, m, v []float32) error { return d.headState(w, m, v, false) }

// SetHeadState copies the heads' spans of w, m, v (the whole model's layout) to the device.
func (d *Decoder) SetHeadState(w, m, v []float32) error { return d.headState(w, m, v, true) }

func (d *Decoder) headState(w, m, v []float32, up bool) error {
	var heads []span
	for _, s := range d.trained() {
		if s.ws == d.base && d.lora != nil {
			heads = append(heads, s)
		}
	}
	return d.move(heads, w, m, v, up)
}

// move copies spans of the weights, their first and their second moments between the device and
// host slices in the same layout (up: host to device).
func (d *Decoder) move(spans []span, w, m, v []float32, up bool) error {
	for _, s := range spans {
		for _, h := range [][]float32{w, m, v} {
			if len(h) < s.off+s.n {
				return fmt.Errorf("devmodel: %d host values for a span ending at %d", len(h), s.off+s.n)
			}
		}
	}
	return d.dev.Run(func(q *gpu.Queue) {
		for _, s := range spans {
			for i, p := range []gpu.Ptr{s.ws.w, s.ws.m, s.ws.v} {
				host := [][]float32{w, m, v}[i][s.off : s.off+s.n]
				if up {
					q.Upload(p.Floats(s.off), host)
				} else {
					q.Download(host, p.Floats(s.off))
				}
			}
		}
	})
}

// Steps is the number of AdamW steps taken (bias corrections count from it); SetSteps sets it,
// for state restored with SetAdapterState / SetHeadState.
func (d *Decoder) Steps() int     { return d.steps }
func (d *Decoder) SetSteps(n int) { d.steps = n }
