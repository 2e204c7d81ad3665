// Package cudaemu runs gpu/kernels' CUDA C on the CPU: the .cu files are compiled as C++20 with a
// small header (emu.h) that gives threadIdx/blockIdx/blockDim, __shared__, __syncthreads and
// the warp shuffles (in kernels that synchronise, a fiber per GPU thread of the block, all
// reaching each barrier before any passes it; a shuffle whose lanes are not at the same shuffle
// stops the process, as a warp out of lock-step is undefined on a GPU), and Backend is a
// gpu.KernelBackend over host memory. gpu.NewKernelDevice on it runs the same host code and kernels as the CUDA device,
// so the conformance suite checks both on machines without a GPU. What it cannot check: the CUDA
// driver calls themselves, the PTX the driver JIT-compiles, and GPU-only hazards (races between
// blocks, timing); make gpu-check runs the suite on a real GPU for those.
//
// cmd/go does not see the .cu files (they live in gpu/kernels), so sources_hash.go, written by
// gpu/kernels/gen.sh, passes their hash to the C++ build: a changed kernel changes the flags and
// rebuilds this package, and TestCompiledFromCurrentSources fails if that step was skipped.
package cudaemu
