// reduce.cuh: block-wide sums in double for the single-block reduction kernels.
// Requires blockDim.x == VRLAIF_BLOCK (a power of two) and a __shared__ double[VRLAIF_BLOCK].
#pragma once
#define VRLAIF_BLOCK 256

// block_sum returns the sum of v over the block to every thread. It synchronises the block, so
// every thread must call it.
__device__ inline double block_sum(double v, double *sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = VRLAIF_BLOCK / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  double r = sh[0];
  __syncthreads();
  return r;
}

// block_max returns the largest v over the block to every thread (float; every thread calls it).
__device__ inline float block_max(float v, float *sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = VRLAIF_BLOCK / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] = fmaxf(sh[threadIdx.x], sh[threadIdx.x + s]);
    __syncthreads();
  }
  float r = sh[0];
  __syncthreads();
  return r;
}
