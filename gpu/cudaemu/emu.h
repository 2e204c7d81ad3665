// emu.h: just enough of CUDA C to run gpu/kernels' sources on the CPU (see doc.go). In a kernel
// that synchronises, a block's threads are fibers (ucontext) on one OS thread, and __syncthreads
// hands control back to the block's scheduler, which resumes the next fiber: each runs up to the
// barrier before any goes past it. Blocks run one at a time, so a kernel's __shared__ arrays
// (static here) belong to the running block.
#pragma once
#include <cmath>
#include <algorithm>
#include <cstdint>

struct emu_dim3 { unsigned x, y, z; };
extern thread_local emu_dim3 threadIdx, blockIdx;
extern emu_dim3 blockDim, gridDim;
void emu_syncthreads();
double emu_shfl_xor(double v, int lane_mask);

#define __global__
#define __device__
#define __shared__ static
inline void __syncthreads() { emu_syncthreads(); }
// A warp's lanes run in step in a kernel that synchronises: every shuffle and __syncwarp is a
// round of the block's scheduler (lanes of other warps may be at other rounds: their slots differ).
inline float __shfl_xor_sync(unsigned, float v, int lane_mask) { return (float)emu_shfl_xor(v, lane_mask); }
inline double __shfl_xor_sync(unsigned, double v, int lane_mask) { return emu_shfl_xor(v, lane_mask); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu_syncthreads(); }
// The bits of a float (CUDA's intrinsic).
inline unsigned __float_as_uint(float x) {
  unsigned u;
  __builtin_memcpy(&u, &x, sizeof u);
  return u;
}
using std::exp;
using std::min;
using std::fmax;
using std::fmin;
using std::sqrt;
