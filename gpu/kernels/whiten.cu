// whiten.cu: advantage whitening over the whole batch (gpu.CPU.Whiten has the math).
//
// dst[i] = (x[i] − μ)/(σ + eps), μ the mean, σ the population std, two passes in double.
// One block of VRLAIF_BLOCK threads. stats[0] = μ, stats[1] = σ. dst, x [N]; dst may alias x.
#include "reduce.cuh"

extern "C" __global__ void ppo_whiten(float *dst, double *stats, const float *x, float eps, int N) {
  __shared__ double sh[VRLAIF_BLOCK];
  double s = 0.0;
  for (int i = threadIdx.x; i < N; i += blockDim.x) s += (double)x[i];
  double mu = block_sum(s, sh) / (double)N;
  double ss = 0.0;
  for (int i = threadIdx.x; i < N; i += blockDim.x) {
    double d = (double)x[i] - mu;
    ss += d * d;
  }
  double sigma = sqrt(block_sum(ss, sh) / (double)N);
  double inv = 1.0 / (sigma + (double)eps);
  for (int i = threadIdx.x; i < N; i += blockDim.x) dst[i] = (float)(((double)x[i] - mu) * inv);
  if (threadIdx.x == 0) {
    stats[0] = mu;
    stats[1] = sigma;
  }
}
