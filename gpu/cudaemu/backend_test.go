package cudaemu_test

import (
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/cudaemu"
	"github.com/vrlaif/vrlaif/gpu/gputest"
)

// The C++ here was compiled from the kernel sources as they are now (see doc.go).
func TestCompiledFromCurrentSources(t *testing.T) {
	if got, want := cudaemu.CompiledSources(), cudaemu.SourcesHash(); got != want {
		t.Fatalf("compiled from kernel sources %s, but they now hash to %s: run go generate ./gpu/kernels", got[:12], want[:12])
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
