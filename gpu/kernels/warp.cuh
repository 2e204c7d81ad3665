// warp.cuh: sums and maxima across the 32 lanes of a warp (shuffles, no shared memory). Every
// lane of the warp must call them, together: a kernel that uses them returns only whole warps.
#pragma once
#define VRLAIF_WARP 32

// warp_sum returns the sum of v over the warp to every lane (a butterfly: the same order, so the
// same float, on every lane).
__device__ inline float warp_sum(float v) {
  for (int m = VRLAIF_WARP / 2; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);
  return v;
}

// warp_sum_d is warp_sum in double.
__device__ inline double warp_sum_d(double v) {
  for (int m = VRLAIF_WARP / 2; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);
  return v;
}

// warp_max returns the largest v over the warp to every lane.
__device__ inline float warp_max(float v) {
  for (int m = VRLAIF_WARP / 2; m > 0; m >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, m));
  return v;
}
