// matmul.cu: matrix products for model.MatmulForward/Backward, row-major like the BLAS calls there.
#include "reduce.cuh"

#define TILE 16  // TILE·TILE = VRLAIF_BLOCK threads

// sgemm: C = alpha·op(A)·op(B) + beta·C, op(A) [M,K], op(B) [K,N], C [M,N] with leading
// dimensions lda, ldb, ldc; op(A)[m,k] = trans_a ? A[k·lda+m] : A[m·lda+k], op(B) likewise. C is
// not read when beta = 0. Shared-memory tiles of 16×16, float accumulation (as BLAS). One block
// per output tile, blocks numbered row-major over ⌈M/16⌉×⌈N/16⌉ tiles.
extern "C" __global__ void sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                                 int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  __shared__ float As[TILE][TILE];
  __shared__ float Bs[TILE][TILE];
  int tiles_n = (N + TILE - 1) / TILE;
  int bm = blockIdx.x / tiles_n, bn = blockIdx.x % tiles_n;
  int ty = threadIdx.x / TILE, tx = threadIdx.x % TILE;
  int m = bm * TILE + ty, n = bn * TILE + tx;
  float acc = 0.f;
  for (int k0 = 0; k0 < K; k0 += TILE) {
    int ka = k0 + tx, kb = k0 + ty;
    As[ty][tx] = (m < M && ka < K) ? (trans_a ? A[(long)ka * lda + m] : A[(long)m * lda + ka]) : 0.f;
    Bs[ty][tx] = (kb < K && n < N) ? (trans_b ? B[(long)n * ldb + kb] : B[(long)kb * ldb + n]) : 0.f;
    __syncthreads();
    for (int kk = 0; kk < TILE; kk++) acc += As[ty][kk] * Bs[kk][tx];
    __syncthreads();
  }
  if (m < M && n < N) {
    float *c = C + (long)m * ldc + n;
    *c = beta == 0.f ? alpha * acc : alpha * acc + beta * *c;
  }
}

// add_bias: out[n,o] += bias[o]. One thread per element. out [N,OC].
extern "C" __global__ void add_bias(float *out, const float *bias, int N, int OC) {
  long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (long)N * OC) return;
  out[i] += bias[i % OC];
}

// The bias gradient, dbias[o] += Σ_n dout[n,o], is colsum.cu's.
