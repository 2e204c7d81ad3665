// rmsnorm.cu: RMSNorm (model.RMSNormForward/Backward have the math).
#include "reduce.cuh"

// rmsnorm_fwd: rstd[n] = 1/sqrt(mean_i x[n,i]² + eps) (sum in double); out = x·rstd·w. One block
// per row. out, x [N,C], rstd [N], w [C].
extern "C" __global__ void rmsnorm_fwd(float *out, float *rstd, const float *x, const float *w, int N, int C,
                                       float eps) {
  __shared__ double sh[VRLAIF_BLOCK];
  int n = blockIdx.x;
  const float *row = x + (long)n * C;
  double ss = 0.0;
  for (int i = threadIdx.x; i < C; i += blockDim.x) ss += (double)row[i] * (double)row[i];
  ss = block_sum(ss, sh);
  float r = (float)(1.0 / sqrt(ss / (double)C + (double)eps));
  if (threadIdx.x == 0) rstd[n] = r;
  for (int i = threadIdx.x; i < C; i += blockDim.x) out[(long)n * C + i] = row[i] * r * w[i];
}

// rmsnorm_bwd_dx: dx += r·dout·w − k·x, k = (Σ_j (dout_j·w_j)·x_j / C)·r³. One block per row.
extern "C" __global__ void rmsnorm_bwd_dx(float *dx, const float *dout, const float *x, const float *w,
                                          const float *rstd, int N, int C) {
  __shared__ double sh[VRLAIF_BLOCK];
  int n = blockIdx.x;
  const float *xr = x + (long)n * C, *dr = dout + (long)n * C;
  float r = rstd[n];
  double dot = 0.0;
  for (int i = threadIdx.x; i < C; i += blockDim.x) dot += (double)(dr[i] * w[i]) * (double)xr[i];
  dot = block_sum(dot, sh);
  float k = (float)(dot / (double)C) * r * r * r;
  for (int i = threadIdx.x; i < C; i += blockDim.x) dx[(long)n * C + i] += r * dr[i] * w[i] - k * xr[i];
}

// The weight gradient, dw[i] += Σ_n dout[n,i]·x[n,i]·rstd[n], is colsum.cu's.
