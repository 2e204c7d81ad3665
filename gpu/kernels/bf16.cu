// bf16.cu: float32 → bfloat16 for cuBLAS's bf16 tensor-core products (the cublas-bf16 mode):
// cuBLAS, given float32 data and CUBLAS_COMPUTE_32F_FAST_16BF, rounded the inputs as TF32 does
// (measured on an H200), so the operands are converted here and passed to cublasGemmEx as bf16.
//
// Round to nearest, ties to even, on the bits (the same as __float2bfloat16_rn, written out so that
// gpu/cudaemu runs it as plain C++): add 0x7FFF plus the lowest kept bit, keep the top 16 bits. A
// NaN stays a (quiet) NaN; infinities and values that round past the largest bf16 become ±∞.

// to_bf16: out[i] = bf16(in[i]) for i < n. One thread per element; out holds the bits.
extern "C" __global__ void to_bf16(unsigned short *out, const float *in, int n) {
  long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  unsigned u = __float_as_uint(in[i]);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) {  // NaN: keep the sign, set the quiet bit
    out[i] = (unsigned short)((u >> 16) | 0x40u);
    return;
  }
  out[i] = (unsigned short)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}
