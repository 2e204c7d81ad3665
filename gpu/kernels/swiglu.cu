// swiglu.cu: the SwiGLU activation (model.SwiGLUForward/Backward have the math). One thread per
// element; σ(x) = 1/(1 + e^(−x)).

// swiglu_fwd: out = g·σ(g)·up; sig[i] = σ(g) when has_sig.
extern "C" __global__ void swiglu_fwd(float *out, float *sig, const float *gate, const float *up, int has_sig,
                                      int N) {
  long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  float g = gate[i], s = 1.f / (1.f + expf(-g));
  if (has_sig) sig[i] = s;
  out[i] = g * s * up[i];
}

// swiglu_bwd: dup += dout·g·s; dgate += dout·up·s·(1 + g·(1 − s)), s = sig[i] when has_sig, else σ(g).
extern "C" __global__ void swiglu_bwd(float *dgate, float *dup, const float *dout, const float *gate,
                                      const float *up, const float *sig, int has_sig, int N) {
  long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N) return;
  float g = gate[i];
  float s = has_sig ? sig[i] : 1.f / (1.f + expf(-g));
  dup[i] += dout[i] * g * s;
  dgate[i] += dout[i] * up[i] * s * (1.f + g * (1.f - s));
}
