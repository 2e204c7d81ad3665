// emu.h: just enough of CUDA C to run gpu/kernels' sources on the CPU (see doc.go). A block's
// threads are real threads that meet at a barrier for __syncthreads; blocks run one at a time, so
// a kernel's __shared__ arrays (static here) belong to the running block.
#pragma once
#include <barrier>
#include <cmath>
#include <cstdint>

struct emu_dim3 { unsigned x, y, z; };
extern thread_local emu_dim3 threadIdx, blockIdx;
extern emu_dim3 blockDim, gridDim;
extern std::barrier<> *emu_block_barrier;

#define __global__
#define __device__
#define __shared__ static
inline void __syncthreads() { emu_block_barrier->arrive_and_wait(); }
using std::exp;
using std::fmax;
using std::fmin;
using std::sqrt;
