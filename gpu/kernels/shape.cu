// shape.cu: reward shaping (gpu.CPU.ShapeRewards has the math).
//
// s[b,t] = −β·kl[b,t]·[t < len[b]];  s[b,T−1] += score[b] + stop·[¬has_stop[b]] + lenb·len[b]/T;
// rewards = scale·s, in double like the CPU reference. One thread per slot.
// rewards, kl [B,T]; score, has_stop (0/1 bytes), lengths [B]. rewards may alias kl.
extern "C" __global__ void ppo_shape_rewards(float *rewards, const float *kl, const float *score,
                                             const unsigned char *has_stop, const int *lengths,
                                             float kl_coef, float stop_penalty, float length_bonus,
                                             float scale, int B, int T) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= B * T) return;
  int b = i / T, t = i % T, n = lengths[b];
  double s = 0.0;
  if (t < n) s = -(double)kl_coef * (double)kl[i];
  if (t == T - 1) {
    double r = (double)score[b] + (double)length_bonus * (double)n / (double)T;
    if (!has_stop[b]) r += (double)stop_penalty;
    s += r;
  }
  rewards[i] = (float)((double)scale * s);
}
