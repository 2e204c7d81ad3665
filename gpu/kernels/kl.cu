// kl.cu: the per-token KL estimate of the PPO reward (gpu.CPU.KL has the math).
//
// kl[b,t] = max(0, logp_old[b,t] − logp_ref[b,t]) for t < lengths[b], 0 on pads.
// One thread per slot. kl, logp_old, logp_ref [B,T], lengths [B]. kl may alias an input.
extern "C" __global__ void ppo_kl(float *kl, const float *logp_old, const float *logp_ref,
                                  const int *lengths, int B, int T) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= B * T) return;
  int b = i / T, t = i % T;
  float d = 0.f;
  if (t < lengths[b]) d = fmaxf(0.f, logp_old[i] - logp_ref[i]);
  kl[i] = d;
}
