package devmodel_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/devmodel"
	"github.com/vrlaif/vrlaif/model"
)

// What the PPO learner does with a model, on the emulated device against the CPU: a LoRA model
// with a value head, rows with video (the frozen vision tower on the CPU), token log-probs,
// values and entropies; BackwardLogProbs with a head's gradient, then (second step) BackwardHeads
// with lmWeight 0 accumulated with BackwardLogProbs; one clipped AdamW step over adapters and head.
func TestPPOPathMatchesCPUOnEmulatedCUDA(t *testing.T) {
	dev := emulated(t)
	CheckPPOPath(t, dev, model.Tiny(61), 2, 16)
}

// VideoBatch is TextBatch with video in row 0 (at position 1) and random pixels; video positions
// have token −1 and no target.
func VideoBatch(c model.Config, B, T int, seed uint64) *model.Batch {
	b := TextBatch(c, B, T, seed)
	rng := rand.New(rand.NewPCG(seed, 8))
	for i := range b.Patches {
		b.Patches[i] = float32(rng.NormFloat64())
	}
	b.VideoAt[0] = 1
	for n := 1; n < 1+c.VideoTokens(); n++ {
		b.Tokens[n], b.Targets[n] = -1, model.IgnoreIndex
	}
	return b
}

// CheckPPOPath: see TestPPOPathMatchesCPUOnEmulatedCUDA; tolerances as CheckDecoder's.
func CheckPPOPath(t *testing.T, dev *gpu.KernelDevice, c model.Config, B, T int) {
	t.Helper()
	const lr, maxNorm = 1e-3, 0.5
	c.ValueHead = true
	cpu, err := model.New(c, 11)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	var head []model.Param
	for _, n := range []string{"value_head.weight", "value_head.bias"} {
		p, _ := cpu.Param(n)
		head = append(head, p)
		for i := p.Offset; i < p.Offset+p.Size; i++ {
			cpu.W[i] = float32(rng.NormFloat64() * 0.1)
		}
	}
	dec, err := devmodel.New(dev, cpu, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := model.LoRAConfig{Rank: 4, Alpha: 8, TargetModules: []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}}
	if err := cpu.AttachLoRA(cfg, 5); err != nil {
		t.Fatal(err)
	}
	for i := range cpu.LoRA.W {
		if cpu.LoRA.W[i] == 0 {
			cpu.LoRA.W[i] = float32(rng.NormFloat64() * 0.05)
		}
	}
	if err := dec.AttachLoRA(cpu.LoRA); err != nil {
		t.Fatal(err)
	}
	optLoRA := model.NewAdamWFor(cpu.LoRA.Params, len(cpu.LoRA.W), 0)
	optHead := model.NewAdamWFor(head, len(cpu.W), 0)
	N := B * T
	for step := 0; step < 2; step++ {
		b := VideoBatch(c, B, T, uint64(step))
		cpu.ZeroGrad()
		clear(cpu.LoRA.G)
		if _, err := cpu.Forward(b); err != nil {
			t.Fatal(err)
		}
		if err := dec.ZeroGrad(); err != nil {
			t.Fatal(err)
		}
		if _, err := dec.Forward(b); err != nil {
			t.Fatal(err)
		}
		logp, err := dec.TokenLogProbs()
		if err != nil {
			t.Fatal(err)
		}
		near(t, step, "log-probabilities", cpu.TokenLogProbs(), logp)
		values, err := dec.HeadOutputs("value_head")
		if err != nil {
			t.Fatal(err)
		}
		near(t, step, "values", cpu.HeadOutputs("value_head"), values)
		ent, err := dec.Entropies()
		if err != nil {
			t.Fatal(err)
		}
		wantEnt := make([]float32, N)
		for n := range wantEnt {
			wantEnt[n] = cpu.Entropy(n)
		}
		near(t, step, "entropies", wantEnt, ent)

		dlogp, dv := make([]float32, N), make([]float32, N)
		for n := range dlogp {
			if b.Targets[n] != model.IgnoreIndex {
				dlogp[n] = float32(rng.NormFloat64())
			}
			dv[n] = float32(rng.NormFloat64())
		}
		heads := map[string][]float32{"value_head": dv}
		if step == 0 {
			cpu.BackwardLogProbs(b, dlogp, heads)
			err = dec.BackwardLogProbs(dlogp, heads)
		} else { // the value model's call (after ForwardHeads, as the learner's), then the policy's, accumulated
			cpu.BackwardHeads(b, 0, heads)
			cpu.BackwardLogProbs(b, dlogp, nil)
			checkForwardHeads(t, dec, b, values)
			if err = dec.BackwardHeads(0, heads); err == nil {
				if _, err = dec.Forward(b); err == nil {
					err = dec.BackwardLogProbs(dlogp, nil)
				}
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		gotLoRA, gotBase := make([]float32, len(cpu.LoRA.W)), make([]float32, len(cpu.W))
		if err := dec.AdapterGrads(gotLoRA); err != nil {
			t.Fatal(err)
		}
		if err := dec.Grads(gotBase); err != nil {
			t.Fatal(err)
		}
		for _, p := range cpu.LoRA.Params {
			near(t, step, p.Name+" gradient", cpu.LoRA.G[p.Offset:p.Offset+p.Size], gotLoRA[p.Offset:p.Offset+p.Size])
		}
		for _, p := range head {
			near(t, step, p.Name+" gradient", cpu.G[p.Offset:p.Offset+p.Size], gotBase[p.Offset:p.Offset+p.Size])
		}
		// The learner's optimize: one norm over adapters and head, then AdamW on each, on the
		// device's gradients (as CheckDecoder's reference optimizer, and for the same reason).
		copy(cpu.LoRA.G, gotLoRA)
		for _, p := range head {
			copy(cpu.G[p.Offset:p.Offset+p.Size], gotBase[p.Offset:p.Offset+p.Size])
		}
		var ss float64
		grads := [][]float32{cpu.LoRA.G}
		for _, p := range head {
			grads = append(grads, cpu.G[p.Offset:p.Offset+p.Size])
		}
		for _, g := range grads {
			for _, v := range g {
				ss += float64(v) * float64(v)
			}
		}
		if norm := math.Sqrt(ss); norm > maxNorm {
			for _, g := range grads {
				for i := range g {
					g[i] *= float32(maxNorm / (norm + 1e-6))
				}
			}
		}
		optLoRA.Step(cpu.LoRA.W, cpu.LoRA.G, lr)
		optHead.Step(cpu.W, cpu.G, lr)
		norm, err := dec.Update(lr, maxNorm)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(float64(norm) - math.Sqrt(ss)); d > 1e-4*math.Sqrt(ss) {
			t.Errorf("step %d: gradient norm %.7g on the device, %.7g on the CPU", step, norm, math.Sqrt(ss))
		}
		if err := dec.AdapterWeights(gotLoRA); err != nil {
			t.Fatal(err)
		}
		if err := dec.Weights(gotBase); err != nil {
			t.Fatal(err)
		}
		// Weights: as CheckDecoder's, within 1e-3·lr; the frozen base must not move at all.
		closeW := func(what string, ref, got []float32) {
			for i := range ref {
				if d := math.Abs(float64(got[i] - ref[i])); d > 1e-3*lr+1e-6*math.Abs(float64(ref[i])) {
					t.Errorf("step %d: %s: weight %d is %.7g on the device, %.7g on the CPU", step, what, i, got[i], ref[i])
					return
				}
			}
		}
		closeW("adapters", cpu.LoRA.W, gotLoRA)
		closeW("base and head", cpu.W, gotBase)
		t.Logf("step %d: gradient norm %.6f (CPU %.6f)", step, norm, math.Sqrt(ss))
	}
}

// near compares a vector with CheckDecoder's tolerance: 1e-4 of its scale + 1e-3 relative.
func near(t *testing.T, step int, what string, ref, got []float32) {
	t.Helper()
	scale := 0.0
	for _, v := range ref {
		scale = max(scale, math.Abs(float64(v)))
	}
	bad, worst := 0, 0.0
	for i := range ref {
		d := math.Abs(float64(got[i] - ref[i]))
		if d > 1e-4*scale+1e-3*math.Abs(float64(ref[i])) {
			bad++
		}
		worst = max(worst, d)
	}
	if bad > 0 {
		t.Errorf("step %d: %s: %d of %d off (max difference %.3g, scale %.3g)", step, what, bad, len(ref), worst, scale)
	}
}

// ppoModelStep is BenchmarkPPOStepCUDA's step (see there), in pipelines/train's order: the
// models' work of one PPO step, with fixed dlogp and dv for the PPO losses' gradients.
func ppoModelStep(ref, pol, val *devmodel.Decoder, b *model.Batch, dlogp, dv []float32) error {
	run := func(fs ...func() error) error {
		for _, f := range fs {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	}
	fwd := func(d *devmodel.Decoder) func() error {
		return func() error { _, err := d.Forward(b); return err }
	}
	values := func() error {
		if err := val.ForwardHeads(b); err != nil {
			return err
		}
		_, err := val.HeadOutputs("value_head")
		return err
	}
	return run(fwd(ref), func() error { _, err := ref.TokenLogProbs(); return err },
		values,
		pol.ZeroGrad, val.ZeroGrad,
		fwd(pol), func() error { _, err := pol.TokenLogProbs(); return err },
		func() error { _, err := pol.Entropies(); return err },
		values,
		func() error { return pol.BackwardLogProbs(dlogp, nil) },
		func() error { return val.BackwardHeads(0, map[string][]float32{"value_head": dv}) },
		func() error {
			ssP, err := pol.GradSumSquares()
			if err != nil {
				return err
			}
			ssV, err := val.GradSumSquares()
			if err != nil {
				return err
			}
			if norm := float32(math.Sqrt(ssP + ssV)); norm > 1 {
				if err := pol.ScaleGrads(1 / (norm + 1e-6)); err != nil {
					return err
				}
				if err := val.ScaleGrads(1 / (norm + 1e-6)); err != nil {
					return err
				}
			}
			if err := pol.ApplyAdamW(1e-4); err != nil {
				return err
			}
			return val.ApplyAdamW(1e-4)
		})
}

// The benchmark's PPO step runs on the emulated device and moves the trained weights, and only
// those: the policy's adapters and the value model's adapters and head; the reference model and
// every base weight stay as they were.
func TestPPOModelStepOnEmulatedCUDA(t *testing.T) {
	dev := emulated(t)
	c := model.Tiny(61)
	lora := model.LoRAConfig{Rank: 4, Alpha: 8, TargetModules: []string{"q_proj", "v_proj", "down_proj"}}
	refM, _ := model.New(c, 3)
	polM, _ := model.New(c, 3)
	vc := c
	vc.ValueHead = true
	valM, _ := model.New(vc, 3)
	for _, m := range []*model.Model{polM, valM} {
		if err := m.AttachLoRA(lora, 5); err != nil {
			t.Fatal(err)
		}
		for i := range m.LoRA.W { // B ≠ 0: the adapters' A gradients are not zero
			m.LoRA.W[i] += 0.01
		}
	}
	var decs [3]*devmodel.Decoder
	for i, m := range []*model.Model{refM, polM, valM} {
		d, err := devmodel.New(dev, m, 0)
		if err != nil {
			t.Fatal(err)
		}
		if m.LoRA != nil {
			if err := d.AttachLoRA(m.LoRA); err != nil {
				t.Fatal(err)
			}
		}
		decs[i] = d
	}
	b := TextBatch(c, 2, 9, 1)
	N := b.B * b.T
	dlogp, dv := make([]float32, N), make([]float32, N)
	for i := range dlogp {
		dlogp[i], dv[i] = float32(i%5-2)/10, float32(i%3)/10 // Σ dv ≠ 0: the head's bias has a gradient
	}
	if err := ppoModelStep(decs[0], decs[1], decs[2], b, dlogp, dv); err != nil {
		t.Fatal(err)
	}
	moved := func(name string, before []float32, get func([]float32) error) int {
		after := make([]float32, len(before))
		if err := get(after); err != nil {
			t.Fatal(err)
		}
		n := 0
		for i := range after {
			if after[i] != before[i] {
				n++
			}
		}
		t.Logf("%s: %d of %d weights moved", name, n, len(after))
		return n
	}
	if moved("reference", refM.W, decs[0].Weights) != 0 || moved("policy base", polM.W, decs[1].Weights) != 0 {
		t.Error("a frozen weight moved")
	}
	if n := moved("policy adapters", polM.LoRA.W, decs[1].AdapterWeights); n < len(polM.LoRA.W)/2 {
		t.Errorf("only %d policy adapter weights moved", n)
	}
	if n := moved("value adapters", valM.LoRA.W, decs[2].AdapterWeights); n < len(valM.LoRA.W)/2 {
		t.Errorf("only %d value adapter weights moved", n)
	}
	valAfter := make([]float32, len(valM.W))
	if err := decs[2].Weights(valAfter); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"value_head.weight", "value_head.bias"} {
		p, _ := valM.Param(h)
		if slices.Equal(valAfter[p.Offset:p.Offset+p.Size], valM.W[p.Offset:p.Offset+p.Size]) {
			t.Errorf("%s did not move", h)
		}
	}
}

// checkForwardHeads runs ForwardHeads on b: the values must be Forward's (values) bit for bit (the
// same kernels on the same inputs), and what needs the logits must refuse.
func checkForwardHeads(t *testing.T, dec *devmodel.Decoder, b *model.Batch, values []float32) {
	t.Helper()
	if err := dec.ForwardHeads(b); err != nil {
		t.Fatal(err)
	}
	got, err := dec.HeadOutputs("value_head")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, values) {
		t.Error("ForwardHeads: the values differ from Forward's")
	}
	if _, err := dec.TokenLogProbs(); err == nil {
		t.Error("TokenLogProbs after ForwardHeads succeeded")
	}
	if _, err := dec.Entropies(); err == nil {
		t.Error("Entropies after ForwardHeads succeeded")
	}
	if err := dec.BackwardLogProbs(make([]float32, len(values)), nil); err == nil {
		t.Error("BackwardLogProbs after ForwardHeads succeeded")
	}
}
