// colsum.cu: column sums over many rows (RMSNorm's weight gradient, a bias gradient). One thread
// per column over all N rows would leave most of the GPU idle (128 columns: one block), so the
// rows are cut into chunks of COLSUM_ROWS: colsum_part sums each chunk into part[k,c], and
// colsum_add adds the chunks, in order, into out[c]. The order is fixed: deterministic.

#define COLSUM_ROWS 64

// colsum_part: part[k,c] = Σ_{n in chunk k} a[n,c]·(b ? b[n,c]·r[n] : 1), rows in order. One
// thread per (chunk, column); a, b [N,C], r [N], part [⌈N/COLSUM_ROWS⌉,C].
extern "C" __global__ void colsum_part(float *part, const float *a, const float *b, const float *r, int N, int C) {
  long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  int chunks = (N + COLSUM_ROWS - 1) / COLSUM_ROWS;
  if (i >= (long)chunks * C) return;
  int k = i / C, c = i % C;
  int n0 = k * COLSUM_ROWS, n1 = min(N, n0 + COLSUM_ROWS);
  float acc = 0.f;
  if (b) {
    for (int n = n0; n < n1; n++) acc += a[(long)n * C + c] * b[(long)n * C + c] * r[n];
  } else {
    for (int n = n0; n < n1; n++) acc += a[(long)n * C + c];
  }
  part[i] = acc;
}

// colsum_add: out[c] += Σ_k part[k,c], chunks in order. One thread per column.
extern "C" __global__ void colsum_add(float *out, const float *part, int chunks, int C) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float acc = 0.f;
  for (int k = 0; k < chunks; k++) acc += part[(long)k * C + c];
  out[c] += acc;
}
