//go:build cuda

package devmodel_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/devmodel"
	"github.com/vrlaif/vrlaif/model"
)

// The decoder's training steps on the first GPU match the CPU model's (make gpu-check), with the
// sgemm kernel and with cuBLAS in float32: full training, LoRA, and the PPO learner's use (video
// rows, log-probs, values, entropies, BackwardLogProbs); the tolerances are CheckDecoder's.
func TestDecoderOnCUDA(t *testing.T) {
	dev, err := gpu.NewCUDA(0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	t.Logf("device: %s; matrix products: %v", dev.Name(), dev.GemmModes())
	for _, mode := range dev.GemmModes() {
		if mode != "kernel" && mode != "cublas" {
			continue
		}
		t.Run(mode, func(t *testing.T) {
			if err := dev.SetGemm(mode); err != nil {
				t.Fatal(err)
			}
			CheckDecoder(t, dev, model.Tiny(61), 2, 13, false)
			CheckDecoder(t, dev, model.Small(512), 3, 70, false)
			CheckDecoder(t, dev, model.Small(512), 3, 70, true)
			CheckPPOPath(t, dev, model.Small(512), 3, 70)
		})
	}
}

// On tensor cores (inputs rounded to TF32's 10-bit mantissas or bf16's 7) the loss of one
// forward pass stays within 1e-2 relative of the CPU's float32 loss, and each token's
// log-probability within 5e-2: products with inputs rounded to 2⁻¹¹ (2⁻⁸) relative are off by
// about 1e-3 (8e-3) of their scale (TestGemmPrecisionOnCUDA); on an H200, TF32 moved the small
// model's log-probabilities by at most 2.7e-4, so bf16 should by about 2e-3, and 5e-2 leaves a
// margin yet fails on a wrong product. The loss moved 4.6e-7 relative under TF32: a fresh
// model's logits are small, and the loss averages 512 tokens.
func TestDecoderTensorCoresOnCUDA(t *testing.T) {
	dev, err := gpu.NewCUDA(0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	c := model.Small(512)
	m, err := model.New(c, 11)
	if err != nil {
		t.Fatal(err)
	}
	b := TextBatch(c, 4, 128, 3)
	want, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range dev.GemmModes() {
		if mode != "cublas-tf32" && mode != "cublas-bf16" {
			continue
		}
		if err := dev.SetGemm(mode); err != nil {
			t.Fatal(err)
		}
		dec, err := devmodel.New(dev, m, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.Forward(b)
		if err != nil {
			t.Fatal(err)
		}
		rel := math.Abs(float64(got-want)) / float64(want)
		logp, err := dec.TokenLogProbs()
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for n, w := range m.TokenLogProbs() {
			worst = max(worst, math.Abs(float64(logp[n]-w)))
		}
		t.Logf("%s: loss %.6f vs CPU %.6f (relative difference %.2g); log-probabilities at most %.2g apart", mode, got, want, rel, worst)
		if rel > 1e-2 || worst > 5e-2 {
			t.Errorf("%s: loss %.6f, CPU %.6f; log-probabilities up to %.3g apart", mode, got, want, worst)
		}
	}
}

// BenchmarkDecoderStepCUDA: one training step (forward, backward, clipping, AdamW) of the bench
// model on a 16×256 batch, device-resident, per matrix-product mode: of every weight
// (full/<mode>), and of LoRA adapters, rank 8 on every projection with the base frozen
// (lora/<mode>: the PPO policy's update). The figures to compare with scripts/gpu/torch_step.py's
// PyTorch eager steps on the same GPU. Reports ms/step and tokens/s.
func BenchmarkDecoderStepCUDA(b *testing.B) {
	dev, err := gpu.NewCUDA(0)
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	m, err := model.New(BenchConfig(), 11)
	if err != nil {
		b.Fatal(err)
	}
	withLoRA, err := model.New(BenchConfig(), 11)
	if err != nil {
		b.Fatal(err)
	}
	if err := withLoRA.AttachLoRA(model.LoRAConfig{Rank: 8, Alpha: 16,
		TargetModules: []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}}, 5); err != nil {
		b.Fatal(err)
	}
	batch := TextBatch(m.Config, benchB, benchT, 0)
	for _, lora := range []bool{false, true} {
		for _, mode := range dev.GemmModes() {
			name := "full/" + mode
			if lora {
				name = "lora/" + mode
			}
			b.Run(name, func(b *testing.B) {
				if err := dev.SetGemm(mode); err != nil {
					b.Fatal(err)
				}
				dec, err := devmodel.New(dev, m, 0.1)
				if err != nil {
					b.Fatal(err)
				}
				if lora {
					if err := dec.AttachLoRA(withLoRA.LoRA); err != nil {
						b.Fatal(err)
					}
				}
				for range 3 { // warm-up: the driver's JIT, cuBLAS's heuristics, the activation buffers
					if _, _, err := dec.Step(batch, 1e-4, 1); err != nil {
						b.Fatal(err)
					}
				}
				const steps = 20
				start := time.Now()
				for range steps {
					if _, _, err := dec.Step(batch, 1e-4, 1); err != nil {
						b.Fatal(err)
					}
				}
				per := time.Since(start) / steps
				b.ReportMetric(float64(per.Microseconds())/1e3, "ms/step")
				b.ReportMetric(float64(benchB*benchT)/per.Seconds(), "tokens/s")
				logProfile(b, name, dev, func() error { _, _, err := dec.Step(batch, 1e-4, 1); return err })
			})
		}
	}
}

// logProfile runs step profiled (gpu.KernelDevice.SetProfile: on CUDA, events around each launch)
// and logs where a step's device time goes, kernel by kernel and product by product, the largest
// first: what to optimise next, read from the same run as the step's time. A failure here is
// logged, not fatal: the step's time above is already measured.
func logProfile(b *testing.B, name string, dev *gpu.KernelDevice, step func() error) {
	const steps = 3
	prof, err := func() ([]gpu.KernelTime, error) {
		if err := dev.SetProfile(true); err != nil {
			return nil, err
		}
		defer dev.SetProfile(false)
		for range steps {
			if err := step(); err != nil {
				return nil, err
			}
		}
		return dev.Profile()
	}()
	if err != nil {
		b.Logf("profile[%s]: failed: %v", name, err)
		return
	}
	var total time.Duration
	for _, k := range prof {
		total += k.Total
	}
	var lines strings.Builder
	fmt.Fprintf(&lines, "profile[%s]: %.3f ms/step in kernels and products (%s)", name, total.Seconds()*1e3/steps, dev.ProfileClock())
	for i, k := range prof {
		if i == 30 {
			fmt.Fprintf(&lines, "\nprofile[%s]: … %d more", name, len(prof)-i)
			break
		}
		fmt.Fprintf(&lines, "\nprofile[%s]: %8.3f ms/step %5.1f%% %4d calls/step  %s", name, k.Total.Seconds()*1e3/steps,
			100*k.Total.Seconds()/total.Seconds(), k.Calls/steps, k.Name)
	}
	b.Log(lines.String())
}

// BenchmarkPPOStepCUDA: the models' work of one PPO learner step (pipelines/train's Step, one
// micro-batch of 16×256, one epoch) with the models device-resident, per matrix-product mode:
// the reference model's forward and token log-probs; the value model's forward (ForwardHeads: no
// LM head) and values (the old values); the policy's forward, log-probs and entropies; the value
// model's forward and values again;
// the policy's log-prob gradient and the value head's (fixed dlogp and dv stand for the PPO
// losses' gradients); the joint grad-norm clip and AdamW over both models' LoRA adapters (rank 8
// on every projection) and the value head. The PPO math between (KL, GAE, whitening, the clipped
// losses: elementwise over 16×256) is left out here and in torch_step.py's PPO step alike.
// Reports ms/step; compare with torch_step.py's "PPO step".
func BenchmarkPPOStepCUDA(b *testing.B) {
	dev, err := gpu.NewCUDA(0)
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	lora := model.LoRAConfig{Rank: 8, Alpha: 16,
		TargetModules: []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}}
	refM, err := model.New(BenchConfig(), 11)
	if err != nil {
		b.Fatal(err)
	}
	polM, err := model.New(BenchConfig(), 11)
	if err != nil {
		b.Fatal(err)
	}
	vc := BenchConfig()
	vc.ValueHead = true
	valM, err := model.New(vc, 11)
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range []*model.Model{polM, valM} {
		if err := m.AttachLoRA(lora, 5); err != nil {
			b.Fatal(err)
		}
	}
	batch := TextBatch(refM.Config, benchB, benchT, 0)
	N := benchB * benchT
	rng := rand.New(rand.NewPCG(3, 4))
	dlogp, dv := make([]float32, N), make([]float32, N)
	for i := range dlogp {
		dlogp[i], dv[i] = (2*rng.Float32()-1)/float32(N), (2*rng.Float32()-1)/float32(N)
	}
	for _, mode := range dev.GemmModes() {
		b.Run(mode, func(b *testing.B) {
			if err := dev.SetGemm(mode); err != nil {
				b.Fatal(err)
			}
			ref, err := devmodel.New(dev, refM, 0)
			if err != nil {
				b.Fatal(err)
			}
			pol, err := devmodel.New(dev, polM, 0)
			if err != nil {
				b.Fatal(err)
			}
			val, err := devmodel.New(dev, valM, 0)
			if err != nil {
				b.Fatal(err)
			}
			if err := pol.AttachLoRA(polM.LoRA); err != nil {
				b.Fatal(err)
			}
			if err := val.AttachLoRA(valM.LoRA); err != nil {
				b.Fatal(err)
			}
			step := func() error { return ppoModelStep(ref, pol, val, batch, dlogp, dv) }
			for range 3 {
				if err := step(); err != nil {
					b.Fatal(err)
				}
			}
			const steps = 20
			start := time.Now()
			for range steps {
				if err := step(); err != nil {
					b.Fatal(err)
				}
			}
			per := time.Since(start) / steps
			b.ReportMetric(float64(per.Microseconds())/1e3, "ms/step")
			logProfile(b, "ppo/"+mode, dev, step)
		})
	}
}
