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

// How far each matrix product (the sgemm kernel; cuBLAS in float32, TF32 and bf16) is from a
// float64 product, and which rounding it shows, on the model's shapes and the benchmark's (make
// gpu-check): the log says whether each tensor-core mode shows its own rounding.
func TestGemmPrecisionOnCUDA(t *testing.T) {
	d, err := gpu.NewCUDA(0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	gputest.GemmPrecision(t, d, []gputest.GemmShape{{M: 512, N: 128, K: 128}, {M: 512, N: 352, K: 128}, {M: 512, N: 512, K: 128}, {M: 1024, N: 1024, K: 1024}, {M: 4096, N: 4096, K: 4096}})
}

// The bf16 conversion of the cublas-bf16 product, on the first GPU (make gpu-check).
func TestBF16OnCUDA(t *testing.T) {
	d, err := gpu.NewCUDA(0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	gputest.BF16(t, d)
}
