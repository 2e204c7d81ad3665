//go:build cuda

package gpu

// CUDAAvailable reports whether this binary has the CUDA device (built with -tags cuda).
const CUDAAvailable = true

func openCUDA(n int) (Device, error) { return NewCUDA(n) }
