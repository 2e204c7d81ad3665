// Vectorizable float32 element-wise kernels: exact ports of the Go reference in vecmath.go (same
// operations in the same order, no fused multiply-add: built with -ffp-contract=off), so results
// are bit-identical to it (no-trapping-math only lets the compiler compute both sides of a
// selection; no-math-errno lets floor inline). Each exported function is compiled for AVX-512, AVX2 and baseline
// x86-64, picked at load time (GCC target_clones).
// The flags cgo does not take on its command line:
#pragma GCC optimize("O3", "fp-contract=off", "no-math-errno", "no-trapping-math")
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "vecmath.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

static inline float bits_to_float(uint32_t b) {
	float f;
	memcpy(&f, &b, sizeof f);
	return f;
}

// vm_expf is Expf in vecmath.go, branch-free.
static inline float vm_expf(float x) {
	double t = (double)x * 1.4426950408889634;
	double n = floor(t + 256.5) - 256.0; // Go: float64(int64(t+256.5) - 256); equal while t+256.5 > 0
	float f = (float)(t - n);
	float p = 1.5403530393381606e-04f;
	p = p * f + 1.3333558146428443e-03f;
	p = p * f + 9.618129107628477e-03f;
	p = p * f + 5.550410866482158e-02f;
	p = p * f + 2.4022650695910072e-01f;
	p = p * f + 6.931471805599453e-01f;
	p = p * f + 1.0f;
	int big = n > 127;
	p = big ? p * 2.0f : p;
	n = big ? n - 1.0 : n;
	int32_t ni = (int32_t)n;
	float r = p * bits_to_float((uint32_t)(ni + 127) << 23);
	r = x < -87.3f ? 0.0f : r;
	return x > 88.7f ? INFINITY : r;
}

static inline float vm_tanhf(float x) {
	float r = 1.0f - 2.0f / (vm_expf(2.0f * x) + 1.0f);
	r = x < -9.0f ? -1.0f : r;
	return x > 9.0f ? 1.0f : r;
}

// softmax of one row: out = e^(x−max)/Σ, the sum by 8 lanes, in double or (f32_sum) in float as
// the two Go references do.
static inline void softmax_row(float *out, const float *x, int n, int f32_sum) {
	// The maximum in 16 lanes (the order does not change a maximum; the compiler vectorizes it).
	float lane[16];
	for (int j = 0; j < 16; j++)
		lane[j] = x[0];
	int i = 0;
	for (; i + 16 <= n; i += 16)
		for (int j = 0; j < 16; j++)
			lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j]; // Go's max(m, v) for non-NaN values
	float m = x[0];
	for (int j = 0; j < 16; j++)
		m = lane[j] > m ? lane[j] : m;
	for (; i < n; i++)
		m = x[i] > m ? x[i] : m;
	for (i = 0; i < n; i++)
		out[i] = vm_expf(x[i] - m);
	// The sum in 8 interleaved lanes (lane j takes i ≡ j mod 8) added in order: a fixed order
	// the compiler vectorizes (one running sum cannot be).
	float inv;
	if (f32_sum) {
		float acc[8] = {0};
		for (i = 0; i + 8 <= n; i += 8)
			for (int j = 0; j < 8; j++)
				acc[j] += out[i + j];
		for (int j = 0; i + j < n; j++)
			acc[j] += out[i + j];
		float sum = 0;
		for (int j = 0; j < 8; j++)
			sum += acc[j];
		inv = 1.0f / sum;
	} else {
		double acc[8] = {0};
		for (i = 0; i + 8 <= n; i += 8)
			for (int j = 0; j < 8; j++)
				acc[j] += (double)out[i + j];
		for (int j = 0; i + j < n; j++)
			acc[j] += (double)out[i + j];
		double sum = 0;
		for (int j = 0; j < 8; j++)
			sum += acc[j];
		inv = (float)(1.0 / sum);
	}
	for (i = 0; i < n; i++)
		out[i] *= inv;
}

CLONES void vm_softmax_rows(float *out, const float *x, int rows, int n) {
	for (int r = 0; r < rows; r++)
		softmax_row(out + (long)r * n, x + (long)r * n, n, 0);
}

// vm_softmax_causal: rows first..first+rows−1 of a matrix of width T; row t keeps t+1 entries.
CLONES void vm_softmax_causal(float *a, int first, int rows, int T) {
	for (int t = first; t < first + rows; t++) {
		float *row = a + (long)(t - first) * T;
		softmax_row(row, row, t + 1, 1);
		memset(row + t + 1, 0, sizeof(float) * (size_t)(T - t - 1));
	}
}

// vm_softmax_causal_backward: rows t = first..first+rows−1 (row i at a + i·T, ds + i·T), with
// dot = Σ_{s≤t} a[s]·ds[s] (float32, in 8 interleaved lanes added in order):
// ds[s] = a[s]·(ds[s] − dot) for s ≤ t and ds[s] = 0 for t < s < width.
CLONES void vm_softmax_causal_backward(float *ds, const float *a, int first, int rows, int T, int width) {
	for (int t = first; t < first + rows; t++) {
		const float *p = a + (long)(t - first) * T;
		float *d = ds + (long)(t - first) * T;
		float acc[8] = {0};
		int s = 0;
		for (; s + 8 <= t + 1; s += 8)
			for (int j = 0; j < 8; j++)
				acc[j] += p[s + j] * d[s + j];
		for (int j = 0; s + j <= t; j++)
			acc[j] += p[s + j] * d[s + j];
		float dot = 0;
		for (int j = 0; j < 8; j++)
			dot += acc[j];
		for (s = 0; s <= t; s++)
			d[s] = p[s] * (d[s] - dot);
		if (width > t + 1)
			memset(d + t + 1, 0, sizeof(float) * (size_t)(width - t - 1));
	}
}

static inline void swiglu_span(float *out, float *sig, const float *gate, const float *up, long n) {
	for (long i = 0; i < n; i++) {
		float g = gate[i];
		float s = 1.0f / (1.0f + vm_expf(-g));
		if (sig)
			sig[i] = s;
		out[i] = g * s * up[i];
	}
}

CLONES void vm_swiglu(float *out, float *sig, const float *gate, const float *up, long n) {
	swiglu_span(out, sig, gate, up, n);
}

#define GELU_SCALE 0.7978845608028654f

CLONES void vm_gelu(float *out, const float *x, long n) {
	for (long i = 0; i < n; i++) {
		float v = x[i];
		float u = GELU_SCALE * (v + 0.044715f * v * v * v);
		out[i] = 0.5f * v * (1.0f + vm_tanhf(u));
	}
}

CLONES void vm_gelu_backward(float *dx, const float *dout, const float *x, long n) {
	for (long i = 0; i < n; i++) {
		float v = x[i];
		float u = GELU_SCALE * (v + 0.044715f * v * v * v);
		float th = vm_tanhf(u);
		float sech2 = 1.0f - th * th;
		dx[i] += dout[i] * (0.5f * (1.0f + th) + 0.5f * v * sech2 * GELU_SCALE * (1.0f + 0.134145f * v * v));
	}
}

// vm_swiglu_backward: with s = sig[i] (or σ(gate[i]) when sig is NULL),
// dup[i] += dout[i]·g·s; dgate[i] += dout[i]·up[i]·s·(1 + g·(1 − s)).
CLONES void vm_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                               const float *sig, long n) {
	for (long i = 0; i < n; i++) {
		float g = gate[i];
		float s = sig ? sig[i] : 1.0f / (1.0f + vm_expf(-g));
		dup[i] += dout[i] * g * s;
		dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
	}
}

// vm_swiglu_rows is vm_swiglu over rows whose gate and up halves sit side by side: for row r,
// gate = gu[r·2H .. r·2H+H), up = gu[r·2H+H .. (r+1)·2H); out and sig are [rows, H].
CLONES void vm_swiglu_rows(float *out, float *sig, const float *gu, long rows, long H) {
	for (long r = 0; r < rows; r++) {
		const float *gate = gu + r * 2 * H;
		swiglu_span(out + r * H, sig ? sig + r * H : 0, gate, gate + H, H);
	}
}

// vm_swiglu_backward_rows writes (does not add) vm_swiglu_backward's gradients into dgu, laid
// out as gu in vm_swiglu_rows: dgate in the first half of each row, dup in the second.
CLONES void vm_swiglu_backward_rows(float *dgu, const float *dout, const float *gu, const float *sig, long rows,
                                    long H) {
	for (long r = 0; r < rows; r++) {
		const float *gate = gu + r * 2 * H, *up = gate + H, *d = dout + r * H;
		const float *sg = sig ? sig + r * H : 0;
		float *dgate = dgu + r * 2 * H, *dup = dgate + H;
		for (long i = 0; i < H; i++) {
			float g = gate[i];
			float s = sg ? sg[i] : 1.0f / (1.0f + vm_expf(-g));
			dup[i] = d[i] * g * s;
			dgate[i] = d[i] * up[i] * s * (1.0f + g * (1.0f - s));
		}
	}
}

// Row sums of squares and dot products for RMSNorm are accumulated in double, in RMS_LANES
// interleaved partial sums (lane j takes the elements i ≡ j mod RMS_LANES) added in lane order at
// the end: a fixed order the compiler can vectorize, which one running sum is not.
#define RMS_LANES 8

static inline double rms_sum_lanes(const double *acc) {
	double s = 0;
	for (int j = 0; j < RMS_LANES; j++)
		s += acc[j];
	return s;
}

// sum_squares: Σ x[i]² for i < n in double, by lanes.
static inline double sum_squares(const float *x, long n) {
	double acc[RMS_LANES] = {0};
	long i = 0;
	for (; i + RMS_LANES <= n; i += RMS_LANES)
		for (int j = 0; j < RMS_LANES; j++)
			acc[j] += (double)x[i + j] * (double)x[i + j];
	for (int j = 0; i + j < n; j++)
		acc[j] += (double)x[i + j] * (double)x[i + j];
	return rms_sum_lanes(acc);
}

// vm_rmsnorm: per row n, ss = Σ_i x[n,i]² (double, by lanes); rstd[n] = (float)(1/sqrt(ss/C + eps));
// out[n,i] = x[n,i]·rstd[n]·w[i].
CLONES void vm_rmsnorm(float *out, float *rstd, const float *x, const float *w, long rows, long C, float eps) {
	for (long n = 0; n < rows; n++) {
		const float *row = x + n * C;
		float r = (float)(1.0 / sqrt(sum_squares(row, C) / (double)C + (double)eps));
		rstd[n] = r;
		float *o = out + n * C;
		for (long k = 0; k < C; k++)
			o[k] = row[k] * r * w[k];
	}
}

// vm_rmsnorm_backward: per row n with r = rstd[n], dot = Σ_i (dout[n,i]·w[i])·x[n,i] (double, by
// lanes) and coef = (float)(dot/C)·r·r·r: dw[i] += dout[n,i]·x[n,i]·r and
// dx[n,i] += r·dout[n,i]·w[i] − coef·x[n,i].
CLONES void vm_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                                const float *rstd, long rows, long C) {
	for (long n = 0; n < rows; n++) {
		const float *xr = x + n * C, *dr = dout + n * C;
		float *dxr = dx + n * C;
		float r = rstd[n];
		double acc[RMS_LANES] = {0};
		long i = 0;
		for (; i + RMS_LANES <= C; i += RMS_LANES)
			for (int j = 0; j < RMS_LANES; j++)
				acc[j] += (double)(dr[i + j] * w[i + j]) * (double)xr[i + j];
		for (int j = 0; i + j < C; j++)
			acc[j] += (double)(dr[i + j] * w[i + j]) * (double)xr[i + j];
		float coef = (float)(rms_sum_lanes(acc) / (double)C) * r * r * r;
		for (long k = 0; k < C; k++) {
			dw[k] += dr[k] * xr[k] * r;
			dxr[k] += r * dr[k] * w[k] - coef * xr[k];
		}
	}
}

// vm_sum_squares: Σ x[i]² in double, by RMS_LANES interleaved lanes added in order.
CLONES double vm_sum_squares(const float *x, long n) { return sum_squares(x, n); }

// vm_scale: x[i] *= s.
CLONES void vm_scale(float *x, long n, float s) {
	for (long i = 0; i < n; i++)
		x[i] *= s;
}

// vm_adamw: m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g·g; w −= lr·(m/bc1 / (sqrt(v/bc2) + eps) + wd·w).
// The Go reference rounds the double square root of vh to float; sqrtf gives the same bits, since a
// double holds more than 2·24+2 bits, which makes rounding twice through it exact for a square root
// (the test compares them), and it vectorizes in single precision.
CLONES void vm_adamw(float *w, const float *g, float *m, float *v, long n, float lr, float beta1, float beta2,
                     float eps, float wd, float bc1, float bc2) {
	for (long i = 0; i < n; i++) {
		m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
		v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
		float mh = m[i] / bc1, vh = v[i] / bc2;
		w[i] = w[i] - lr * (mh / (sqrtf(vh) + eps) + wd * w[i]);
	}
}
