// embedding.cu: token embeddings (model.EmbeddingForward/Backward have the math).

// embedding_fwd: out[n,c] = wte[tok[n],c] for tok[n] ≥ 0; other rows untouched. One thread per
// element. out [N,C], wte [V,C], tok [N].
extern "C" __global__ void embedding_fwd(float *out, const int *tok, const float *wte, int N, int C) {
  long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (long)N * C) return;
  int n = i / C, c = i % C, t = tok[n];
  if (t >= 0) out[i] = wte[(long)t * C + c];
}

// embedding_bwd: dwte[tok,c] += dout[n,c] for every row n of each token tok, rows in order. The
// host groups the rows by token (Queue.EmbeddingBackward): uniq [U] the tokens, rows[start[u] ..
// start[u+1]) the rows of uniq[u] in ascending order. One thread per (token, column): no atomics,
// deterministic, and each element gets its rows added one by one in the CPU's order.
extern "C" __global__ void embedding_bwd(float *dwte, const float *dout, const int *uniq, const int *start,
                                         const int *rows, int U, int C) {
  long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (long)U * C) return;
  int u = i / C, c = i % C;
  float *w = dwte + (long)uniq[u] * C + c;
  float acc = *w;
  for (int j = start[u]; j < start[u + 1]; j++) acc += dout[(long)rows[j] * C + c];
  *w = acc;
}
