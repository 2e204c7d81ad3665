// matmul.cu: matrix products for model.MatmulForward/Backward, row-major like the BLAS calls there.
#include "reduce.cuh"

// Block tile BM×BN of C, BK deep in k; 256 threads (16×16), each computing a 4×4 patch of the tile
// in registers: rows ty + 16i, columns tx + 16j (i, j < 4), so that neighbouring threads read
// neighbouring floats of the B tile and write neighbouring floats of C.
#define BM 64
#define BN 64
#define BK 16

// sgemm: C = alpha·op(A)·op(B) + beta·C, op(A) [M,K], op(B) [K,N], C [M,N] with leading
// dimensions lda, ldb, ldc; op(A)[m,k] = trans_a ? A[k·lda+m] : A[m·lda+k], op(B) likewise. C is
// not read when beta = 0. Each output sums its k in order in a float accumulator (as BLAS), tiles
// past M, N or K read as zeros. One block per output tile, blocks numbered row-major over
// ⌈M/BM⌉×⌈N/BN⌉ tiles. Tiles are loaded with neighbouring threads on neighbouring addresses of
// whichever layout A and B have.
extern "C" __global__ void sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                                 int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  __shared__ float As[BK][BM + 1];  // +1: the column-wise stores of a row-major A do not share a bank
  __shared__ float Bs[BK][BN + 1];
  int tiles_n = (N + BN - 1) / BN;
  int m0 = (blockIdx.x / tiles_n) * BM, n0 = (blockIdx.x % tiles_n) * BN;
  int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  float acc[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = 0.f;
  for (int k0 = 0; k0 < K; k0 += BK) {
    for (int r = 0; r < 4; r++) {  // BM·BK = BK·BN = 4·256 elements of each tile
      int e = tid + 256 * r;
      int mm = trans_a ? e % BM : e / BK, ka = trans_a ? e / BM : e % BK;
      int m = m0 + mm, k = k0 + ka;
      As[ka][mm] = (m < M && k < K) ? (trans_a ? A[(long)k * lda + m] : A[(long)m * lda + k]) : 0.f;
      int nn = trans_b ? e / BK : e % BN, kb = trans_b ? e % BK : e / BN;
      int n = n0 + nn;
      k = k0 + kb;
      Bs[kb][nn] = (k < K && n < N) ? (trans_b ? B[(long)n * ldb + k] : B[(long)k * ldb + n]) : 0.f;
    }
    __syncthreads();
    for (int kk = 0; kk < BK; kk++) {
      float a[4], b[4];
      for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
      for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; i++) {
    int m = m0 + ty + 16 * i;
    if (m >= M) continue;
    for (int j = 0; j < 4; j++) {
      int n = n0 + tx + 16 * j;
      if (n >= N) continue;
      float *c = C + (long)m * ldc + n;
      *c = beta == 0.f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *c;
    }
  }
}

// add_bias: out[n,o] += bias[o]. One thread per element. out [N,OC].
extern "C" __global__ void add_bias(float *out, const float *bias, int N, int OC) {
  long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (long)N * OC) return;
  out[i] += bias[i % OC];
}

// The bias gradient, dbias[o] += Σ_n dout[n,o], is colsum.cu's.
