// rmsnorm.cu: RMSNorm (model.RMSNormForward/Backward have the math).
#include "warp.cuh"

// rmsnorm_fwd: rstd[n] = 1/sqrt(mean_i x[n,i]² + eps) (sum in double); out = x·rstd·w. One warp
// per row (launch 32 threads a row), its lanes over the columns. out, x [N,C], rstd [N], w [C].
extern "C" __global__ void rmsnorm_fwd(float *out, float *rstd, const float *x, const float *w, int N, int C,
                                       float eps) {
  long n = ((long)blockIdx.x * blockDim.x + threadIdx.x) / VRLAIF_WARP;
  int lane = threadIdx.x % VRLAIF_WARP;
  if (n >= N) return;
  const float *row = x + n * C;
  double ss = 0.0;
  for (int i = lane; i < C; i += VRLAIF_WARP) ss += (double)row[i] * (double)row[i];
  ss = warp_sum_d(ss);
  float r = (float)(1.0 / sqrt(ss / (double)C + (double)eps));
  if (lane == 0) rstd[n] = r;
  for (int i = lane; i < C; i += VRLAIF_WARP) out[n * C + i] = row[i] * r * w[i];
}

// rmsnorm_bwd_dx: dx += r·dout·w − k·x, k = (Σ_j (dout_j·w_j)·x_j / C)·r³. One warp per row.
extern "C" __global__ void rmsnorm_bwd_dx(float *dx, const float *dout, const float *x, const float *w,
                                          const float *rstd, int N, int C) {
  long n = ((long)blockIdx.x * blockDim.x + threadIdx.x) / VRLAIF_WARP;
  int lane = threadIdx.x % VRLAIF_WARP;
  if (n >= N) return;
  const float *xr = x + n * C, *dr = dout + n * C;
  float r = rstd[n];
  double dot = 0.0;
  for (int i = lane; i < C; i += VRLAIF_WARP) dot += (double)(dr[i] * w[i]) * (double)xr[i];
  dot = warp_sum_d(dot);
  float k = (float)(dot / (double)C) * r * r * r;
  for (int i = lane; i < C; i += VRLAIF_WARP) dx[n * C + i] += r * dr[i] * w[i] - k * xr[i];
}

// The weight gradient, dw[i] += Σ_n dout[n,i]·x[n,i]·rstd[n], is colsum.cu's.
