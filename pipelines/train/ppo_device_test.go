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
	cuda, err := NewLearner(cfg, dev)
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
	}
}
