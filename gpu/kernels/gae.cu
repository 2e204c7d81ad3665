// gae.cu: generalised advantage estimation (gpu.CPU.GAE has the math).
//
// δ = r[t] + γ·V[t+1] − V[t], adv[t] = δ + γλ·adv[t+1], ret = adv + V, with V[T] = adv[T] = 0,
// over all T slots. One thread per row, the recursion in double.
// adv, ret, rewards, values [B,T]; adv and ret must not alias rewards or values.
extern "C" __global__ void ppo_gae(float *adv, float *ret, const float *rewards,
                                   const float *values, float gamma, float lambda, int B, int T) {
  int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b >= B) return;
  double g = (double)gamma, gl = (double)gamma * (double)lambda;
  double next = 0.0, a = 0.0;
  for (int t = T - 1; t >= 0; t--) {
    int i = b * T + t;
    double v = (double)values[i];
    a = (double)rewards[i] + g * next - v + gl * a;
    adv[i] = (float)a;
    ret[i] = (float)(a + v);
    next = v;
  }
}
