// rope.cu: rotary position embeddings, rotate_half style (model.RopeForward/Backward have the math).

// rope: for a = x[i], b = x[i+hs/2] of each head and p = pos[n]: x[i] = a·cos[p,i] − b·s,
// x[i+hs/2] = b·cos[p,i] + a·s with s = sign·sin[p,i] (sign −1 is the backward's inverse rotation).
// In place; one thread per (n, h, i < hs/2). x [N,H,hs], pos [N], cos, sin [maxSeq, hs/2].
extern "C" __global__ void rope(float *x, const int *pos, const float *cos_t, const float *sin_t, int N, int H,
                                int hs, float sign) {
  int half = hs / 2;
  long j = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= (long)N * H * half) return;
  int i = j % half, h = (j / half) % H, n = j / ((long)half * H);
  float *v = x + ((long)n * H + h) * hs;
  const float c = cos_t[(long)pos[n] * half + i];
  const float s = sign * sin_t[(long)pos[n] * half + i];
  float a = v[i], b = v[i + half];
  v[i] = a * c - b * s;
  v[i + half] = b * c + a * s;
}
