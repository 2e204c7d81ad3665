//go:build !cuda

package gpu_test

import "testing"

// The CUDA device is not in this build: say so rather than pass in silence.
func TestPPOOnCUDA(t *testing.T) {
	t.Skip("the CUDA device is built with -tags cuda and runs on an NVIDIA GPU: make gpu-check (make cuda-build compiles it here)")
}

func TestOpsOnCUDA(t *testing.T) {
	t.Skip("the CUDA device is built with -tags cuda and runs on an NVIDIA GPU: make gpu-check (gpu/cudaemu runs the same kernels on the CPU)")
}
