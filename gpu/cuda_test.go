//go:build cuda

package gpu_test

import (
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/gpu/gputest"
	"github.com/vrlaif/vrlaif/model"
)

// The conformance suite on the first GPU (make gpu-check). A `-tags cuda` binary exits in
// gorgonia.org/cu's init when no GPU is present, so this runs only where one is.
func TestPPOOnCUDA(t *testing.T) {
	d, err := gpu.NewCUDA(0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	t.Logf("device: %s", d.Name())
	gputest.PPO(t, d)
}

// The model's operations on the first GPU match the CPU's (make gpu-check).
func TestOpsOnCUDA(t *testing.T) {
	d, err := gpu.NewCUDA(0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	gputest.Ops(t, d, model.CPUOps{})
}

// Matrix products in every layout on the first GPU, with the sgemm kernel and with cuBLAS in
// float32 (make gpu-check).
func TestGemmOnCUDA(t *testing.T) {
	d, err := gpu.NewCUDA(0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	gputest.Gemm(t, d)
}
