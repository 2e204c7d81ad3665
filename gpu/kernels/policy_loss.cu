// policy_loss.cu: the clipped PPO surrogate, forward sums and backward (gpu.CPU.PolicyLossForward
// and PolicyLossBackward have the math). ρ = exp(logp_new − logp_old) on tokens, 1 on pads.
#include "reduce.cuh"

// ppo_policy_loss_fwd writes sums[0] = Σ max(−Â·ρ, −Â·clip(ρ, 1−ε, 1+ε)), sums[1] = Σ [clipped
// term larger], sums[2] = Σ (logp_new − logp_old)², over every slot, or over tokens only with
// non_pad_mean. The host divides by N_L. One block of VRLAIF_BLOCK threads, sums in double.
extern "C" __global__ void ppo_policy_loss_fwd(double *sums, const float *logp_new,
                                               const float *logp_old, const float *adv,
                                               const int *lengths, float clip, int non_pad_mean,
                                               int B, int T) {
  __shared__ double sh[VRLAIF_BLOCK];
  double lo = 1.0 - (double)clip, hi = 1.0 + (double)clip;
  double loss = 0.0, clipped = 0.0, kl = 0.0;
  for (int i = threadIdx.x; i < B * T; i += blockDim.x) {
    int b = i / T, t = i % T;
    bool pad = t >= lengths[b];
    if (pad && non_pad_mean) continue;
    double rho = 1.0, logr = 0.0;
    if (!pad) {
      logr = (double)logp_new[i] - (double)logp_old[i];
      rho = exp(logr);
    }
    double a = (double)adv[i];
    double l1 = -a * rho, l2 = -a * fmin(fmax(rho, lo), hi);
    loss += fmax(l1, l2);
    if (l2 > l1) clipped += 1.0;
    kl += logr * logr;
  }
  loss = block_sum(loss, sh);
  clipped = block_sum(clipped, sh);
  kl = block_sum(kl, sh);
  if (threadIdx.x == 0) {
    sums[0] = loss;
    sums[1] = clipped;
    sums[2] = kl;
  }
}

// ppo_policy_loss_bwd: dlogp[b,t] += (float)(scale·(−Â·ρ)) where the unclipped term is the max,
// on tokens only; scale = dloss/N_L. One thread per slot.
extern "C" __global__ void ppo_policy_loss_bwd(float *dlogp, const float *logp_new,
                                               const float *logp_old, const float *adv,
                                               const int *lengths, float clip, double scale,
                                               int B, int T) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= B * T) return;
  int b = i / T, t = i % T;
  if (t >= lengths[b]) return;
  double lo = 1.0 - (double)clip, hi = 1.0 + (double)clip;
  double rho = exp((double)logp_new[i] - (double)logp_old[i]);
  double a = (double)adv[i];
  double l1 = -a * rho, l2 = -a * fmin(fmax(rho, lo), hi);
  if (l1 >= l2) dlogp[i] += (float)(scale * l1);
}
