// attention.cu: causal grouped-query attention (model.AttentionForward/Backward have the math).
// q, out, dq [B,T,NH,hs]; k, v, dk, dv [B,T,NKV,hs]; att, ds [B,NH,T,T]; head h reads key/value
// head h/(NH/NKV). One warp per query row (b, h, t) or key row (b, kv, s), its lanes over the
// keys s or over the head's dimensions, so that neighbouring lanes read neighbouring floats; no
// atomics. Launch 32 threads per row (whole warps: the shuffles need every lane).
#include "warp.cuh"

// attention_fwd: att[b,h,t,s] = softmax_{s≤t}(scale·q_t·k_s) (0 for s > t); out_t = Σ_s att·v_s.
// Lanes take the keys s ≡ lane (mod 32) for the scores, then the dimensions d for the output.
extern "C" __global__ void attention_fwd(float *out, float *att, const float *q, const float *k, const float *v,
                                         int B, int T, int NH, int NKV, int hs, float scale) {
  long j = ((long)blockIdx.x * blockDim.x + threadIdx.x) / VRLAIF_WARP;
  int lane = threadIdx.x % VRLAIF_WARP;
  if (j >= (long)B * NH * T) return;
  int t = j % T, h = (j / T) % NH, b = j / ((long)T * NH);
  int kv = h / (NH / NKV);
  const float *qt = q + (((long)b * T + t) * NH + h) * hs;
  float *a = att + (((long)b * NH + h) * T + t) * T;
  float m = -INFINITY;
  for (int s = lane; s <= t; s += VRLAIF_WARP) {
    const float *ks = k + (((long)b * T + s) * NKV + kv) * hs;
    float dot = 0.f;
    for (int d = 0; d < hs; d++) dot += qt[d] * ks[d];
    a[s] = scale * dot;
    m = fmaxf(m, a[s]);
  }
  m = warp_max(m);
  float sum = 0.f;
  for (int s = lane; s <= t; s += VRLAIF_WARP) {
    a[s] = expf(a[s] - m);
    sum += a[s];
  }
  float inv = 1.f / warp_sum(sum);
  for (int s = lane; s <= t; s += VRLAIF_WARP) a[s] *= inv;
  for (int s = t + 1 + lane; s < T; s += VRLAIF_WARP) a[s] = 0.f;
  __syncwarp();  // the output reads every lane's probabilities
  float *o = out + (((long)b * T + t) * NH + h) * hs;
  for (int d = lane; d < hs; d += VRLAIF_WARP) {
    float acc = 0.f;
    for (int s = 0; s <= t; s++) acc += a[s] * v[(((long)b * T + s) * NKV + kv) * hs + d];
    o[d] = acc;
  }
}

// attention_bwd_ds: dS[b,h,t,s] = P·(dP − Σ_{s'≤t} P·dP) for s ≤ t, 0 after, with P = att and
// dP[s] = dout_t·v_s. Lanes over s.
extern "C" __global__ void attention_bwd_ds(float *ds, const float *dout, const float *v, const float *att, int B,
                                            int T, int NH, int NKV, int hs) {
  long j = ((long)blockIdx.x * blockDim.x + threadIdx.x) / VRLAIF_WARP;
  int lane = threadIdx.x % VRLAIF_WARP;
  if (j >= (long)B * NH * T) return;
  int t = j % T, h = (j / T) % NH, b = j / ((long)T * NH);
  int kv = h / (NH / NKV);
  const float *dt = dout + (((long)b * T + t) * NH + h) * hs;
  const float *p = att + (((long)b * NH + h) * T + t) * T;
  float *d = ds + (((long)b * NH + h) * T + t) * T;
  float dot = 0.f;
  for (int s = lane; s <= t; s += VRLAIF_WARP) {
    const float *vs = v + (((long)b * T + s) * NKV + kv) * hs;
    float acc = 0.f;
    for (int e = 0; e < hs; e++) acc += dt[e] * vs[e];
    d[s] = acc;
    dot += p[s] * acc;
  }
  dot = warp_sum(dot);
  for (int s = lane; s <= t; s += VRLAIF_WARP) d[s] = p[s] * (d[s] - dot);
  for (int s = t + 1 + lane; s < T; s += VRLAIF_WARP) d[s] = 0.f;
}

// attention_bwd_dq: dq_t += scale·Σ_{s≤t} dS[t,s]·k_s. Lanes over the dimensions e.
extern "C" __global__ void attention_bwd_dq(float *dq, const float *ds, const float *k, int B, int T, int NH,
                                            int NKV, int hs, float scale) {
  long j = ((long)blockIdx.x * blockDim.x + threadIdx.x) / VRLAIF_WARP;
  int lane = threadIdx.x % VRLAIF_WARP;
  if (j >= (long)B * NH * T) return;
  int t = j % T, h = (j / T) % NH, b = j / ((long)T * NH);
  int kv = h / (NH / NKV);
  const float *d = ds + (((long)b * NH + h) * T + t) * T;
  float *o = dq + (((long)b * T + t) * NH + h) * hs;
  for (int e = lane; e < hs; e += VRLAIF_WARP) {
    float acc = 0.f;
    for (int s = 0; s <= t; s++) acc += d[s] * k[(((long)b * T + s) * NKV + kv) * hs + e];
    o[e] += scale * acc;
  }
}

// attention_bwd_dkv: for each head h of key/value head kv in turn, dk_s += scale·Σ_{t≥s}
// dS_h[t,s]·q_{t,h} and dv_s += Σ_{t≥s} P_h[t,s]·dout_{t,h}. One warp per (b, kv, s), lanes over
// the dimensions e.
extern "C" __global__ void attention_bwd_dkv(float *dk, float *dv, const float *ds, const float *att,
                                             const float *q, const float *dout, int B, int T, int NH, int NKV,
                                             int hs, float scale) {
  long j = ((long)blockIdx.x * blockDim.x + threadIdx.x) / VRLAIF_WARP;
  int lane = threadIdx.x % VRLAIF_WARP;
  if (j >= (long)B * NKV * T) return;
  int s = j % T, kv = (j / T) % NKV, b = j / ((long)T * NKV);
  int group = NH / NKV;
  float *dks = dk + (((long)b * T + s) * NKV + kv) * hs;
  float *dvs = dv + (((long)b * T + s) * NKV + kv) * hs;
  for (int h = kv * group; h < (kv + 1) * group; h++) {
    const float *dh = ds + ((long)b * NH + h) * T * T;
    const float *ph = att + ((long)b * NH + h) * T * T;
    for (int e = lane; e < hs; e += VRLAIF_WARP) {
      float ak = 0.f, av = 0.f;
      for (int t = s; t < T; t++) {
        long qi = (((long)b * T + t) * NH + h) * hs + e;
        ak += dh[(long)t * T + s] * q[qi];
        av += ph[(long)t * T + s] * dout[qi];
      }
      dks[e] += scale * ak;
      dvs[e] += av;
    }
  }
}
