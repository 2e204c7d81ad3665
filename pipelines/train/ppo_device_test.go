package train

import (
	"math"
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/cudaemu"
)

// Whole PPO steps with the CUDA device's kernels (run on the CPU by gpu/cudaemu) match the CPU
// learner's: same seed, same batches, two steps; the metrics and the policy's and value model's
// updated weights agree. The kernels sum and recurse in double like gpu.CPU and are compiled
// without fused multiply-adds, so on the CPU the two are bit-identical (measured: max difference
// 0). On a GPU, double exp may differ from Go's in the last bit; that moves weights by far less
// than 1e-7, while changing the advantages by 1% moves them by ~3e-6 (checked by hand), so 1e-7
// still catches a wrong kernel.
func TestPPOStepOnEmulatedCUDA(t *testing.T) {
	// The models on the CPU: this test checks the PPO math alone.
	stepBoth(t, func(c *PPOConfig) { c.DeviceMathOnly = true }, func(step int, cfg PPOConfig, cpu, cuda *Learner, mc, md StepMetrics) {
		for name, p := range map[string][2]float64{"pg": {mc.PGLoss, md.PGLoss}, "vf": {mc.VFLoss, md.VFLoss},
			"kl": {mc.KLSum, md.KLSum}, "reward": {mc.Reward, md.Reward}, "clipfrac": {mc.ClipFrac, md.ClipFrac}} {
			if math.Abs(p[0]-p[1]) > 1e-5+1e-4*math.Abs(p[0]) {
				t.Errorf("step %d: %s is %v on the CPU, %v with the CUDA kernels", step, name, p[0], p[1])
			}
		}
		for _, m := range []struct {
			name string
			a, b []float32
		}{{"policy LoRA", cpu.Policy.LoRA.W, cuda.Policy.LoRA.W}, {"value LoRA", cpu.Value.LoRA.W, cuda.Value.LoRA.W}, {"value model", cpu.Value.W, cuda.Value.W}} {
			worst := 0.0
			for i := range m.a {
				worst = max(worst, math.Abs(float64(m.a[i]-m.b[i])))
			}
			if worst > 1e-7 {
				t.Errorf("step %d: %s weights differ by up to %g", step, m.name, worst)
			}
			t.Logf("step %d: %s max |CPU − CUDA| = %.2g", step, m.name, worst)
		}
	})
}

// Whole PPO steps with the models on the device too (gpu/devmodel: reference, policy and value
// forward and backward, the adapters' and value head's clipping and AdamW), on the emulated
// device, against the CPU learner: same seed, same rollouts, two steps.
//
// Tolerances. The device sums products and reductions in other orders than the CPU, so log-probs
// and values agree to about 1e-6 relative (devmodel's tests), not bit for bit. Those differences
// pass through KL, GAE, whitening and the clipped losses: the metrics are compared within
// 1e-4 + 1e-3 relative. The weights are compared after AdamW, which divides each gradient by its
// own running scale: a gradient element far below its tensor's scale (measured: 4e-4 of it) has
// a large relative rounding error, and AdamW turns that into an update error of a sizeable part
// of lr (measured: up to 0.07·lr per optimizer step on a handful of elements). So the check is
// two-sided: at least 99 % of each model's weights within 1e-2·lr per optimizer step taken, and
// every weight within lr per step (AdamW's largest move, about lr·|m̂|/√v̂ ≤ lr here). A wrong
// gradient (a sign, a missing term, a wrong scale) moves most weights by lr-sized amounts and
// fails the first; the measured fractions are logged.
func TestPPOStepModelsOnEmulatedCUDA(t *testing.T) {
	stepBoth(t, func(*PPOConfig) {}, func(step int, cfg PPOConfig, cpu, cuda *Learner, mc, md StepMetrics) {
		if cuda.dev == nil {
			t.Fatal("the models did not run on the device")
		}
		for name, p := range map[string][2]float64{"pg": {mc.PGLoss, md.PGLoss}, "vf": {mc.VFLoss, md.VFLoss},
			"kl": {mc.KLSum, md.KLSum}, "reward": {mc.Reward, md.Reward}, "clipfrac": {mc.ClipFrac, md.ClipFrac},
			"entropy": {mc.Entropy, md.Entropy}, "approxkl": {mc.ApproxKL, md.ApproxKL}} {
			if math.Abs(p[0]-p[1]) > 1e-4+1e-3*math.Abs(p[0]) {
				t.Errorf("step %d: %s is %v on the CPU, %v with the models on the device", step, name, p[0], p[1])
			}
		}
		optSteps := float64((step + 1) * cfg.NoptEpochs * ((cfg.RolloutBatch + cfg.MicroBatch - 1) / cfg.MicroBatch) / cfg.Accum)
		fine, coarse := 1e-2*float64(cfg.LR)*optSteps, float64(cfg.LR)*optSteps
		for _, m := range []struct {
			name string
			a, b []float32
		}{{"policy LoRA", cpu.Policy.LoRA.W, cuda.Policy.LoRA.W}, {"value LoRA", cpu.Value.LoRA.W, cuda.Value.LoRA.W}, {"value model", cpu.Value.W, cuda.Value.W}} {
			worst, off := 0.0, 0
			for i := range m.a {
				d := math.Abs(float64(m.a[i] - m.b[i]))
				worst = max(worst, d)
				if d > fine {
					off++
				}
			}
			if frac := float64(off) / float64(len(m.a)); frac > 0.01 || worst > coarse {
				t.Errorf("step %d: %s: %.2g%% of weights beyond %.2g, worst %.2g (limits 1%%, %.2g)", step, m.name, 100*frac, fine, worst, coarse)
			}
			t.Logf("step %d: %s: %d of %d weights beyond %.2g; max |CPU − device| = %.2g", step, m.name, off, len(m.a), fine, worst)
		}
	})
}

// stepBoth runs two PPO steps of a CPU learner and of a learner on the emulated CUDA device (its
// config changed by tweak) on the same rollouts, and calls check after each step.
func stepBoth(t *testing.T, tweak func(*PPOConfig), check func(step int, cfg PPOConfig, cpu, cuda *Learner, mc, md StepMetrics)) {
	t.Helper()
	cfg, prompts, patches := ppoFixture(t)
	rm, err := LoadRewardModel(cfg.RM)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := gpu.NewKernelDevice(func() (gpu.KernelBackend, error) { return cudaemu.New(), nil })
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	cpu, err := NewLearner(cfg, gpu.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	dcfg := cfg
	tweak(&dcfg)
	cuda, err := NewLearner(dcfg, dev)
	if err != nil {
		t.Fatal(err)
	}
	for step := range 2 {
		rs, err := Sample(cpu.Policy, cpu.Tok, rm, prompts, patches, cfg.Rollout, step, "t", uint64(step), int64(100*step))
		if err != nil {
			t.Fatal(err)
		}
		mc, err := cpu.Step(rs, patches, step, step)
		if err != nil {
			t.Fatal(err)
		}
		md, err := cuda.Step(rs, patches, step, step)
		if err != nil {
			t.Fatal(err)
		}
		check(step, cfg, cpu, cuda, mc, md)
	}
}
