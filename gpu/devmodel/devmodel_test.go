package devmodel_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/cudaemu"
	"github.com/vrlaif/vrlaif/gpu/devmodel"
	"github.com/vrlaif/vrlaif/model"
)

// emulated is a KernelDevice on gpu/cudaemu (the CUDA kernels on the CPU), closed with the test.
func emulated(t *testing.T) *gpu.KernelDevice {
	dev, err := gpu.NewKernelDevice(func() (gpu.KernelBackend, error) { return cudaemu.New(), nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

// The decoder's training steps on the CUDA kernels, run on the CPU by gpu/cudaemu, match the CPU
// model's: loss, every gradient, the gradient norm and the weights after two AdamW steps.
func TestDecoderMatchesCPUOnEmulatedCUDA(t *testing.T) {
	dev := emulated(t)
	CheckDecoder(t, dev, model.Tiny(61), 2, 13, false)
}

// The same with LoRA adapters: the base frozen, the adapters' gradients and updates match.
func TestDecoderLoRAMatchesCPUOnEmulatedCUDA(t *testing.T) {
	dev := emulated(t)
	CheckDecoder(t, dev, model.Tiny(61), 2, 13, true)
}

// Without adapters the device does not train the vision tower: a batch with video runs forward
// (a reference model's use; its loss is the CPU's) but not backward, and no longer forward once
// the weights have been stepped (the CPU's vision tower, which makes the video tokens, would then
// be stale).
func TestDecoderVideoWithoutAdapters(t *testing.T) {
	dev := emulated(t)
	m, err := model.New(model.Tiny(61), 1)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := devmodel.New(dev, m, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	video := VideoBatch(m.Config, 2, 13, 5)
	want, err := m.Forward(video)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dec.Forward(video)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(got-want)) > 1e-5*math.Abs(float64(want)) {
		t.Errorf("loss with video: %.7g on the device, %.7g on the CPU", got, want)
	}
	if err := dec.Backward(); err == nil || !strings.Contains(err.Error(), "vision tower") {
		t.Fatalf("Backward with video: %v, want the vision-tower error", err)
	}
	if _, _, err := dec.Step(TextBatch(m.Config, 2, 13, 5), 1e-3, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Forward(video); err == nil || !strings.Contains(err.Error(), "vision tower") {
		t.Fatalf("Forward with video after a step: %v, want the vision-tower error", err)
	}
}

// TextBatch is a B×T batch of random tokens without video: some targets ignored, random weights.
func TextBatch(c model.Config, B, T int, seed uint64) *model.Batch {
	rng := rand.New(rand.NewPCG(seed, 7))
	v := c.Vision
	b := &model.Batch{B: B, T: T, Tokens: make([]int32, B*T), Targets: make([]int32, B*T), VideoAt: make([]int, B),
		Patches: make([]float32, B*v.NumFrames*v.Patches()*v.PatchDim()), Weights: make([]float32, B*T)}
	for n := range b.Tokens {
		b.Tokens[n] = int32(rng.IntN(c.VocabSize))
		b.Targets[n] = int32(rng.IntN(c.VocabSize))
		if rng.IntN(5) == 0 {
			b.Targets[n] = model.IgnoreIndex
		}
		b.Weights[n] = 0.25 + rng.Float32()
	}
	for r := range b.VideoAt {
		b.VideoAt[r] = -1
	}
	return b
}

// CheckDecoder runs two training steps of a fresh model of config c on B×T text batches, on the
// CPU (model) and on dev (devmodel), and compares them: every weight trained, or with lora, the
// model frozen under LoRA adapters on every module (rank 4, B random so they matter) trained.
//
// Tolerances. The device sums each product and reduction in another order than the CPU (tiles,
// cuBLAS, double reductions), so results agree to float32 rounding accumulated through the
// network, not bit for bit: for sums of K ≤ a few hundred float32 terms the error is of order
// K·2⁻²⁴ ≈ 1e-5 of the terms' magnitude, and cancellation makes it large relative to small
// elements. So each gradient tensor is compared with atol = 1e-4·max|ref| (the tensor's scale)
// plus rtol = 1e-3. The reference optimizer then steps with the device's gradients, so that the
// weights check the device's clipping and AdamW on the same input, to 1e-3·lr + 1e-6·|w|, with
// none allowed off. Stepping with the CPU's own gradients instead cannot be held to that:
// AdamW's first step moves a weight by lr·g/(|g| + 1e-8), so where |g| is near 1e-8 a gradient
// difference well inside the tolerance above moves the weight by a sizeable part of lr. The
// small model has such elements (smallest nonzero |g| 8e-10, logged), and on an H200 33 of its
// 993 088 weights were 2.8e-5 apart after one step that way (lr 1e-3).
func CheckDecoder(t *testing.T, dev *gpu.KernelDevice, c model.Config, B, T int, lora bool) {
	t.Helper()
	const lr, maxNorm, wd = 1e-3, 1.0, 0.1
	cpu, err := model.New(c, 11)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := devmodel.New(dev, cpu, wd)
	if err != nil {
		t.Fatal(err)
	}
	// What trains: the whole model, or the adapters.
	params, W, G := cpu.Params, cpu.W, cpu.G
	grads, weights := dec.Grads, dec.Weights
	if lora {
		cfg := model.LoRAConfig{Rank: 4, Alpha: 8, TargetModules: []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}}
		if err := cpu.AttachLoRA(cfg, 5); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(9, 9))
		for i := range cpu.LoRA.W {
			if cpu.LoRA.W[i] == 0 { // B starts at zero: give it values, or the adapters change nothing
				cpu.LoRA.W[i] = float32(rng.NormFloat64() * 0.05)
			}
		}
		if err := dec.AttachLoRA(cpu.LoRA); err != nil {
			t.Fatal(err)
		}
		params, W, G = cpu.LoRA.Params, cpu.LoRA.W, cpu.LoRA.G
		grads, weights = dec.AdapterGrads, dec.AdapterWeights
	}
	opt := model.NewAdamWFor(params, len(W), wd)
	got := make([]float32, len(W))
	for step := 0; step < 2; step++ {
		b := TextBatch(c, B, T, uint64(step))
		cpu.ZeroGrad()
		clear(G)
		want, err := cpu.Forward(b)
		if err != nil {
			t.Fatal(err)
		}
		cpu.Backward(b)
		loss, err := dec.Forward(b)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(float64(loss - want)); d > 1e-5*math.Abs(float64(want))+1e-6 {
			t.Errorf("step %d: loss %.7g on the device, %.7g on the CPU", step, loss, want)
		}
		if err := dec.Backward(); err != nil {
			t.Fatal(err)
		}
		if err := grads(got); err != nil {
			t.Fatal(err)
		}
		smallest := math.Inf(1)
		for _, p := range params {
			ref := G[p.Offset : p.Offset+p.Size]
			near(t, step, p.Name+" gradient", ref, got[p.Offset:p.Offset+p.Size])
			for _, v := range ref {
				if v != 0 {
					smallest = min(smallest, math.Abs(float64(v)))
				}
			}
		}
		t.Logf("step %d: loss %.6f (CPU %.6f); smallest nonzero |gradient| %.3g", step, loss, want, smallest)
		copy(G, got) // the reference optimizer's input: the device's gradients (see above)
		wantNorm := model.ClipGradNorm(G, maxNorm)
		opt.Step(W, G, lr)
		norm, err := dec.Update(lr, maxNorm)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(float64(norm - wantNorm)); d > 1e-4*float64(wantNorm) {
			t.Errorf("step %d: gradient norm %.7g on the device, %.7g on the CPU", step, norm, wantNorm)
		}
		if err := weights(got); err != nil {
			t.Fatal(err)
		}
		bad, worst := 0, 0.0
		for i, w := range W {
			d := math.Abs(float64(got[i] - w))
			if d > 1e-3*lr+1e-6*math.Abs(float64(w)) {
				bad++
			}
			worst = max(worst, d)
		}
		if bad > 0 {
			t.Errorf("step %d: %d of %d weights off after AdamW (max difference %.3g; lr %g)", step, bad, len(W), worst, lr)
		}
		t.Logf("step %d: gradient norm %.6f (CPU %.6f); largest weight difference %.3g", step, norm, wantNorm, worst)
	}
}
