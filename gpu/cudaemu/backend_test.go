package cudaemu_test

import (
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/cudaemu"
	"github.com/vrlaif/vrlaif/gpu/gputest"
	"github.com/vrlaif/vrlaif/gpu/kernels"
	"github.com/vrlaif/vrlaif/model"
)

// The C++ here was compiled from the kernel sources as they are now (see doc.go).
func TestCompiledFromCurrentSources(t *testing.T) {
	if got, want := cudaemu.CompiledSources(), cudaemu.SourcesHash(); got != want {
		t.Fatalf("compiled from kernel sources %s, but they now hash to %s: run go generate ./gpu/kernels", got[:12], want[:12])
	}
}

// The emulator has every kernel of the PTX, with the PTX's parameter count.
func TestEveryKernelEmulated(t *testing.T) {
	n := 0
	for _, k := range kernels.Names() {
		ptx, err := kernels.PTX(k)
		if err != nil {
			t.Fatal(err)
		}
		for entry, params := range kernels.Signatures(ptx) {
			n++
			if got := cudaemu.NumArgs(entry); got != len(params) {
				t.Errorf("%s (kernels/%s.cu): the emulator has %d parameters, the PTX %d", entry, k, got, len(params))
			}
		}
	}
	if n < 29 {
		t.Errorf("only %d kernels in the PTX", n)
	}
}

// The CUDA device's host code and kernels, on the CPU, pass the whole conformance suite.
func TestPPOOnEmulatedCUDA(t *testing.T) {
	d, err := gpu.NewKernelDevice(func() (gpu.KernelBackend, error) { return cudaemu.New(), nil })
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	gputest.PPO(t, d)
}

// The model's operations on the emulated CUDA device match the CPU's.
func TestOpsOnEmulatedCUDA(t *testing.T) {
	d, err := gpu.NewKernelDevice(func() (gpu.KernelBackend, error) { return cudaemu.New(), nil })
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	gputest.Ops(t, d, model.CPUOps{})
}
