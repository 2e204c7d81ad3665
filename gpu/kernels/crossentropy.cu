// crossentropy.cu: softmax cross-entropy and the entropy of the next-token distributions
// (model.CrossEntropyForward/Backward, CPUOps.Entropy have the math). IGNORE is model.IgnoreIndex.
#include "reduce.cuh"
#define IGNORE (-100)

// crossentropy_fwd: probs[n,:] = softmax(logits[n,:]) (sum in double); losses[n] =
// −log max(probs[n,targets[n]], 1e-30), 0 for IGNORE. One block per row; the host forms the mean.
extern "C" __global__ void crossentropy_fwd(float *losses, float *probs, const float *logits, const int *targets,
                                            int N, int V) {
  __shared__ double sh[VRLAIF_BLOCK];
  __shared__ float shf[VRLAIF_BLOCK];
  int n = blockIdx.x;
  const float *x = logits + (long)n * V;
  float *p = probs + (long)n * V;
  float m = -INFINITY;
  for (int v = threadIdx.x; v < V; v += blockDim.x) m = fmaxf(m, x[v]);
  m = block_max(m, shf);
  double sum = 0.0;
  for (int v = threadIdx.x; v < V; v += blockDim.x) {
    float e = expf(x[v] - m);
    p[v] = e;
    sum += (double)e;
  }
  float inv = (float)(1.0 / block_sum(sum, sh));
  for (int v = threadIdx.x; v < V; v += blockDim.x) p[v] *= inv;
  __syncthreads();
  if (threadIdx.x == 0) {
    int t = targets[n];
    losses[n] = t == IGNORE ? 0.f : -(float)log(fmax((double)p[t], 1e-30));
  }
}

// crossentropy_bwd: dlogits[n,v] += w_n·probs[n,v]/norm, then −w_n/norm at v = targets[n];
// nothing for IGNORE rows. w_n = weights[n] when has_w, else 1. One thread per element.
extern "C" __global__ void crossentropy_bwd(float *dlogits, const float *probs, const int *targets,
                                            const float *weights, int has_w, float norm, int N, int V) {
  long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (long)N * V) return;
  int n = i / V, v = i % V, t = targets[n];
  if (t == IGNORE) return;
  float inv = 1.f / norm;
  if (has_w) inv *= weights[n];
  float d = dlogits[i] + probs[i] * inv;
  if (v == t) d -= inv;
  dlogits[i] = d;
}

// entropy: ent[n] = −Σ_v p·log p over p = probs[n,v] > 0, in double. One block per row.
extern "C" __global__ void entropy(float *ent, const float *probs, int N, int V) {
  __shared__ double sh[VRLAIF_BLOCK];
  int n = blockIdx.x;
  double h = 0.0;
  for (int v = threadIdx.x; v < V; v += blockDim.x) {
    float p = probs[(long)n * V + v];
    if (p > 0.f) h -= (double)p * log((double)p);
  }
  h = block_sum(h, sh);
  if (threadIdx.x == 0) ent[n] = (float)h;
}
