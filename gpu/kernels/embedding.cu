// embedding.cu: token embeddings (model.EmbeddingForward/Backward have the math).

// embedding_fwd: out[n,c] = wte[tok[n],c] for tok[n] ≥ 0; other rows untouched. One thread per
// element. out [N,C], wte [V,C], tok [N].
extern "C" __global__ void embedding_fwd(float *out, const int *tok, const float *wte, int N, int C) {
  long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (long)N * C) return;
  int n = i / C, c = i % C, t = tok[n];
  if (t >= 0) out[i] = wte[(long)t * C + c];
}

// embedding_bwd: dwte[tok[n],c] += dout[n,c] for tok[n] ≥ 0. One thread per column, rows in
// order (no atomics: deterministic, and the same order as the CPU).
extern "C" __global__ void embedding_bwd(float *dwte, const float *dout, const int *tok, int N, int C) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  for (int n = 0; n < N; n++) {
    int t = tok[n];
    if (t >= 0) dwte[(long)t * C + c] += dout[(long)n * C + c];
  }
}
