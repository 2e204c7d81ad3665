package devmodel_test

import (
	"testing"
	"time"
	"unsafe"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/devmodel"
	"github.com/vrlaif/vrlaif/model"
)

// noDevice is a test fake of a gpu.KernelBackend that does no device work at all: addresses are
// handed out and launches, copies and waits return at once (copies out give zeros). A step on it
// costs only our host code (batch checks, launch bookkeeping, the hand-offs to the device
// goroutine), which BenchmarkDecoderStepHostSide measures. Nothing it computes is checked.
type noDevice struct{ next uint64 }

func (n *noDevice) Name() string { return "no device (host-side cost only)" }
func (n *noDevice) Alloc(bytes int64) (uint64, error) {
	n.next += uint64(bytes+255) &^ 255
	return n.next, nil
}
func (n *noDevice) Free(uint64) error                          { return nil }
func (n *noDevice) CopyIn(uint64, unsafe.Pointer, int64) error { return nil }
func (n *noDevice) CopyOut(dst unsafe.Pointer, _ uint64, bytes int64) error {
	clear(unsafe.Slice((*byte)(dst), bytes))
	return nil
}
func (n *noDevice) Launch(string, int, int, []uint64) error { return nil }
func (n *noDevice) Zero(uint64, int64) error                { return nil }
func (n *noDevice) Copy(uint64, uint64, int64) error        { return nil }
func (n *noDevice) Sync() error                             { return nil }
func (n *noDevice) Close() error                            { return nil }

// BenchmarkDecoderStepHostSide: the host side of BenchmarkDecoderStepCUDA's training step (the
// bench model, 16×256, every weight and LoRA r8), on a backend that does no device work: what our
// Go code costs per step before the CUDA driver's and the kernels' time. Reports µs/step and
// launches/step.
func BenchmarkDecoderStepHostSide(b *testing.B) {
	dev, err := gpu.NewKernelDevice(func() (gpu.KernelBackend, error) { return &noDevice{}, nil })
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
	for _, name := range []string{"full", "lora"} {
		b.Run(name, func(b *testing.B) {
			dec, err := devmodel.New(dev, m, 0.1)
			if err != nil {
				b.Fatal(err)
			}
			if name == "lora" {
				if err := dec.AttachLoRA(withLoRA.LoRA); err != nil {
					b.Fatal(err)
				}
			}
			if _, _, err := dec.Step(batch, 1e-4, 1); err != nil { // the activation buffers
				b.Fatal(err)
			}
			if err := dev.SetProfile(true); err != nil {
				b.Fatal(err)
			}
			if _, _, err := dec.Step(batch, 1e-4, 1); err != nil {
				b.Fatal(err)
			}
			prof, err := dev.Profile()
			if err != nil {
				b.Fatal(err)
			}
			launches := 0
			for _, k := range prof {
				launches += k.Calls
			}
			if err := dev.SetProfile(false); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, _, err := dec.Step(batch, 1e-4, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/step")
			b.ReportMetric(float64(launches), "launches/step")
		})
	}
}
