//go:build !cuda

package gpu

import "fmt"

// CUDAAvailable reports whether this binary has the CUDA device (built with -tags cuda).
const CUDAAvailable = false

func openCUDA(int) (Device, error) {
	return nil, fmt.Errorf("gpu: this vrlaif was built without CUDA; build it with `make cuda-build` (-tags cuda) and run it on a machine with an NVIDIA GPU")
}
