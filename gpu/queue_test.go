package gpu_test

import (
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/cudaemu"
)

// Free takes back what Alloc gave, and refuses anything else (a pool buffer freed behind the
// pool's back would be handed out again).
func TestFreeOnlyWhatAllocGave(t *testing.T) {
	dev, err := gpu.NewKernelDevice(func() (gpu.KernelBackend, error) { return cudaemu.New(), nil })
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	p, err := dev.Alloc(64)
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.Free(p.Floats(1)); err == nil {
		t.Error("Free of an address inside a buffer succeeded")
	}
	if err := dev.Free(p); err != nil {
		t.Fatal(err)
	}
	if err := dev.Free(p); err == nil {
		t.Error("a second Free of the same buffer succeeded")
	}
}
