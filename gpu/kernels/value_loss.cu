// value_loss.cu: the clipped value loss, forward sums and backward (gpu.CPU.ValueLossForward and
// ValueLossBackward have the math). Vc = clip(v_new, v_old − ε_v, v_old + ε_v).
#include "reduce.cuh"

// ppo_value_loss_fwd writes sums[0] = Σ ½·max((v_new − ret)², (Vc − ret)²) and sums[1] =
// Σ [(Vc − ret)² > (v_new − ret)²] over every slot, or over tokens only with non_pad_mean.
// One block of VRLAIF_BLOCK threads, sums in double.
extern "C" __global__ void ppo_value_loss_fwd(double *sums, const float *v_new, const float *v_old,
                                              const float *ret, const int *lengths, float clip_v,
                                              int non_pad_mean, int B, int T) {
  __shared__ double sh[VRLAIF_BLOCK];
  double e = (double)clip_v, loss = 0.0, clipped = 0.0;
  for (int i = threadIdx.x; i < B * T; i += blockDim.x) {
    int b = i / T, t = i % T;
    if (non_pad_mean && t >= lengths[b]) continue;
    double v = (double)v_new[i], o = (double)v_old[i], r = (double)ret[i];
    double e1 = v - r, e2 = fmin(fmax(v, o - e), o + e) - r;
    loss += 0.5 * fmax(e1 * e1, e2 * e2);
    if (e2 * e2 > e1 * e1) clipped += 1.0;
  }
  loss = block_sum(loss, sh);
  clipped = block_sum(clipped, sh);
  if (threadIdx.x == 0) {
    sums[0] = loss;
    sums[1] = clipped;
  }
}

// ppo_value_loss_bwd: dv[b,t] += (float)(scale·(v_new − ret)) where the unclipped error is the
// larger, on the slots the loss sums over; scale = dloss/N_L. One thread per slot.
extern "C" __global__ void ppo_value_loss_bwd(float *dv, const float *v_new, const float *v_old,
                                              const float *ret, const int *lengths, float clip_v,
                                              int non_pad_mean, double scale, int B, int T) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= B * T) return;
  int b = i / T, t = i % T;
  if (non_pad_mean && t >= lengths[b]) return;
  double v = (double)v_new[i], o = (double)v_old[i], r = (double)ret[i], e = (double)clip_v;
  double e1 = v - r, e2 = fmin(fmax(v, o - e), o + e) - r;
  if (e1 * e1 >= e2 * e2) dv[i] += (float)(scale * e1);
}
