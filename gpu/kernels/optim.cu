// optim.cu: AdamW and global grad-norm clipping (model.AdamWUpdate, model.ClipGradNorm have the math).
#include "reduce.cuh"

// adamw: m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; w −= lr·(m/bc1 / (sqrt(v/bc2) + eps) + wd·w).
// One thread per element. w, g, m, v [N].
extern "C" __global__ void adamw(float *w, const float *g, float *m, float *v, float lr, float beta1, float beta2,
                                 float eps, float wd, float bc1, float bc2, int N) {
  long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  m[i] = beta1 * m[i] + (1.f - beta1) * g[i];
  v[i] = beta2 * v[i] + (1.f - beta2) * g[i] * g[i];
  float mh = m[i] / bc1, vh = v[i] / bc2;
  w[i] -= lr * (mh / ((float)sqrt((double)vh) + eps) + wd * w[i]);
}

// sum_squares_part: part[blk] = Σ g² in double over the elements i ≡ blk·blockDim + thread
// (mod gridDim·blockDim): each block's share of a sum too long for one block. g [N].
extern "C" __global__ void sum_squares_part(double *part, const float *g, int N) {
  __shared__ double sh[VRLAIF_BLOCK];
  double ss = 0.0;
  for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < N; i += (long)gridDim.x * blockDim.x)
    ss += (double)g[i] * (double)g[i];
  ss = block_sum(ss, sh);
  if (threadIdx.x == 0) part[blockIdx.x] = ss;
}

// sum_doubles: out[0] = Σ part[0..n) in double, in a fixed order. One block.
extern "C" __global__ void sum_doubles(double *out, const double *part, int n) {
  __shared__ double sh[VRLAIF_BLOCK];
  double ss = 0.0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) ss += part[i];
  ss = block_sum(ss, sh);
  if (threadIdx.x == 0) out[0] = ss;
}

// scale: g *= s. One thread per element.
extern "C" __global__ void scale(float *g, float s, int N) {
  long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < N) g[i] *= s;
}
