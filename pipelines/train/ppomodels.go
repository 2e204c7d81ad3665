package train

import (
	"fmt"
	"math"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/devmodel"
	"github.com/vrlaif/vrlaif/model"
)

// ppoModel is what a PPO step asks of a model (policy, value or reference): model.Model on the
// CPU (cpuModel), or a gpu/devmodel decoder when the learner's device is a GPU (devModel).
type ppoModel interface {
	Forward(b *model.Batch) (float32, error)
	// ForwardHeads runs the model for its heads' outputs alone (a value model's pass); after it
	// only HeadOutputs and BackwardHeads with lmWeight 0 are sure to work.
	ForwardHeads(b *model.Batch) error
	TokenLogProbs() ([]float32, error)
	HeadOutputs(head string) ([]float32, error)
	// Entropies returns the entropy of the next-token distribution at each of positions.
	Entropies(positions []int) ([]float32, error)
	// ZeroGrad clears the trained gradients (the Backward calls accumulate).
	ZeroGrad() error
	BackwardLogProbs(b *model.Batch, dlogp []float32, dheads map[string][]float32) error
	BackwardHeads(b *model.Batch, lmWeight float32, dheads map[string][]float32) error
}

type cpuModel struct{ m *model.Model }

func (c cpuModel) Forward(b *model.Batch) (float32, error) { return c.m.Forward(b) }

// ForwardHeads: the CPU model's forward computes the logits too.
func (c cpuModel) ForwardHeads(b *model.Batch) error {
	_, err := c.m.Forward(b)
	return err
}
func (c cpuModel) TokenLogProbs() ([]float32, error)       { return c.m.TokenLogProbs(), nil }
func (c cpuModel) HeadOutputs(h string) ([]float32, error) { return c.m.HeadOutputs(h), nil }
func (c cpuModel) Entropies(at []int) ([]float32, error) {
	out := make([]float32, len(at))
	for i, p := range at {
		out[i] = c.m.Entropy(p)
	}
	return out, nil
}
func (c cpuModel) ZeroGrad() error {
	c.m.ZeroGrad()
	if c.m.LoRA != nil {
		clear(c.m.LoRA.G)
	}
	return nil
}
func (c cpuModel) BackwardLogProbs(b *model.Batch, dlogp []float32, dheads map[string][]float32) error {
	c.m.BackwardLogProbs(b, dlogp, dheads)
	return nil
}
func (c cpuModel) BackwardHeads(b *model.Batch, lmWeight float32, dheads map[string][]float32) error {
	c.m.BackwardHeads(b, lmWeight, dheads)
	return nil
}

type devModel struct{ d *devmodel.Decoder }

func (g devModel) Forward(b *model.Batch) (float32, error) { return g.d.Forward(b) }
func (g devModel) ForwardHeads(b *model.Batch) error       { return g.d.ForwardHeads(b) }
func (g devModel) TokenLogProbs() ([]float32, error)       { return g.d.TokenLogProbs() }
func (g devModel) HeadOutputs(h string) ([]float32, error) { return g.d.HeadOutputs(h) }
func (g devModel) Entropies(at []int) ([]float32, error) {
	all, err := g.d.Entropies()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(at))
	for i, p := range at {
		out[i] = all[p]
	}
	return out, nil
}
func (g devModel) ZeroGrad() error { return g.d.ZeroGrad() }
func (g devModel) BackwardLogProbs(_ *model.Batch, dlogp []float32, dheads map[string][]float32) error {
	return g.d.BackwardLogProbs(dlogp, dheads)
}
func (g devModel) BackwardHeads(_ *model.Batch, lmWeight float32, dheads map[string][]float32) error {
	return g.d.BackwardHeads(lmWeight, dheads)
}

// deviceModels are the learner's models on a GPU: the policy and value models' frozen bases with
// their adapters (and the value head), and the reference model, on the same KernelDevice as the
// PPO math. The host models stay the record: each Step uploads the trained state (adapters, the
// value head, AdamW's moments and step) before it and downloads it after, so checkpoints, resumes
// and the policy versions the actors load work as on the CPU.
type deviceModels struct {
	pol, val, ref *devmodel.Decoder
}

// models returns the policy, value and reference models as a PPO step uses them, opening the
// device's decoders on first use when the models run on a GPU.
func (l *Learner) models() (pol, val, ref ppoModel, err error) {
	kd, ok := l.Dev.(*gpu.KernelDevice)
	if !ok || l.Cfg.DeviceMathOnly {
		return cpuModel{l.Policy}, cpuModel{l.Value}, cpuModel{l.Ref}, nil
	}
	if l.dev == nil {
		dm := &deviceModels{}
		for _, m := range []struct {
			dst **devmodel.Decoder
			src *model.Model
		}{{&dm.pol, l.Policy}, {&dm.val, l.Value}, {&dm.ref, l.Ref}} {
			if *m.dst, err = devmodel.New(kd, m.src, 0); err != nil { // the learner's AdamW: no weight decay
				return nil, nil, nil, fmt.Errorf("train: models on %s: %w", kd.Name(), err)
			}
			if m.src.LoRA != nil {
				if err := (*m.dst).AttachLoRA(m.src.LoRA); err != nil {
					return nil, nil, nil, err
				}
			}
		}
		l.dev = dm
	}
	return devModel{l.dev.pol}, devModel{l.dev.val}, devModel{l.dev.ref}, nil
}

// toDevice uploads the trained state of the host models and optimizers to the device's decoders.
func (l *Learner) toDevice() error {
	m, v, step := l.optPol.State()
	if err := l.dev.pol.SetAdapterState(l.Policy.LoRA.W, m, v); err != nil {
		return err
	}
	l.dev.pol.SetSteps(step)
	m, v, step = l.optVal.State()
	if err := l.dev.val.SetAdapterState(l.Value.LoRA.W, m, v); err != nil {
		return err
	}
	l.dev.val.SetSteps(step)
	hm, hv, _ := l.optHead.State()
	return l.dev.val.SetHeadState(l.Value.W, hm, hv)
}

// fromDevice downloads the device's trained state into the host models and optimizers.
func (l *Learner) fromDevice() error {
	m, v, _ := l.optPol.State()
	if err := l.dev.pol.AdapterState(l.Policy.LoRA.W, m, v); err != nil {
		return err
	}
	l.optPol.SetState(m, v, l.dev.pol.Steps())
	m, v, _ = l.optVal.State()
	if err := l.dev.val.AdapterState(l.Value.LoRA.W, m, v); err != nil {
		return err
	}
	l.optVal.SetState(m, v, l.dev.val.Steps())
	hm, hv, _ := l.optHead.State()
	if err := l.dev.val.HeadState(l.Value.W, hm, hv); err != nil {
		return err
	}
	l.optHead.SetState(hm, hv, l.dev.val.Steps())
	return nil
}

// optimizeDevice is optimize on the device: one gradient norm over the policy's and value model's
// trained tensors, clipping, and AdamW on each.
func (l *Learner) optimizeDevice(lr float32) error {
	ssP, err := l.dev.pol.GradSumSquares()
	if err != nil {
		return err
	}
	ssV, err := l.dev.val.GradSumSquares()
	if err != nil {
		return err
	}
	if norm, maxNorm := math.Sqrt(ssP+ssV), l.Cfg.MaxGradNorm; maxNorm > 0 && norm > float64(maxNorm) {
		s := float32(float64(maxNorm) / (norm + 1e-6))
		if err := l.dev.pol.ScaleGrads(s); err != nil {
			return err
		}
		if err := l.dev.val.ScaleGrads(s); err != nil {
			return err
		}
	}
	if err := l.dev.pol.ApplyAdamW(lr); err != nil {
		return err
	}
	return l.dev.val.ApplyAdamW(lr)
}
