// emu.h: just enough of CUDA C to run gpu/kernels' sources on the CPU (see doc.go). In a kernel
// that synchronises, a block's threads are fibers (ucontext) on one OS thread, and __syncthreads
// hands control back to the block's scheduler, which resumes the next fiber: each runs up to the
// barrier before any goes past it. Blocks run one at a time, so a kernel's __shared__ arrays
// (static here) belong to the running block.
#pragma once
#include <cmath>
#include <cstdint>

struct emu_dim3 { unsigned x, y, z; };
extern thread_local emu_dim3 threadIdx, blockIdx;
extern emu_dim3 blockDim, gridDim;
void emu_syncthreads();

#define __global__
#define __device__
#define __shared__ static
inline void __syncthreads() { emu_syncthreads(); }
using std::exp;
using std::fmax;
using std::fmin;
using std::sqrt;
