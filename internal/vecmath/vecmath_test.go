package vecmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Go loops with the kernels' order of operations (the model's loops before these kernels, but
// with sums in 8 interleaved lanes added in order): the C must give the same bits.

func softmaxRef(out, x []float32) {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	var lanes [8]float64
	for i, v := range x {
		e := Expf(v - m)
		out[i] = e
		lanes[i%8] += float64(e)
	}
	var sum float64
	for _, l := range lanes {
		sum += l
	}
	inv := float32(1 / sum)
	for i := range out {
		out[i] *= inv
	}
}

const geluScale = 0.7978845608028654

// softmaxCausalRef is the model's causal softmax before: the same, but the sum in float32.
func softmaxCausalRef(row []float32, t int) {
	maxv := row[0]
	for _, x := range row[1 : t+1] {
		maxv = max(maxv, x)
	}
	var lanes [8]float32
	for s := 0; s <= t; s++ {
		e := Expf(row[s] - maxv)
		row[s] = e
		lanes[s%8] += e
	}
	var sum float32
	for _, l := range lanes {
		sum += l
	}
	inv := 1 / sum
	for s := 0; s <= t; s++ {
		row[s] *= inv
	}
	clear(row[t+1:])
}

func geluRef(v float32) float32 {
	u := float32(geluScale) * (v + 0.044715*v*v*v)
	return 0.5 * v * (1 + Tanhf(u))
}

func geluGradRef(d, v float32) float32 {
	u := float32(geluScale) * (v + 0.044715*v*v*v)
	th := Tanhf(u)
	sech2 := 1 - th*th
	return d * (0.5*(1+th) + 0.5*v*sech2*float32(geluScale)*(1+3*0.044715*v*v))
}

// inputs covers the ranges the kernels see and their edges: ordinary values, large logits, the
// saturation points of Expf (±87.3, 88.7) and Tanhf (±9), zeros, infinities, tiny values.
func inputs(n int, scale float32, rng *rand.Rand) []float32 {
	edges := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 9, -9, 9.0001, -9.0001, 44.3, 44.4, 87.3, -87.3,
		88.7, -88.7, 88.8, -88.8, 100, -100, 1e4, -1e4}
	x := make([]float32, n)
	for i := range x {
		if i%7 == 0 && i/7 < len(edges) {
			x[i] = edges[i/7]
			continue
		}
		x[i] = float32(rng.NormFloat64()) * scale
	}
	return x
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	bad := 0
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			if bad < 5 {
				t.Errorf("%s[%d] = %g (%#08x), Go reference %g (%#08x)", what, i, g, math.Float32bits(g), w, math.Float32bits(w))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ from the Go reference", what, bad, len(want))
	}
}

func TestSoftmaxRowsMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		rows, n int
		scale   float32
	}{{1, 1, 1}, {3, 7, 1}, {17, 1024, 3}, {5, 33, 40}, {64, 1000, 0.01}} {
		x := inputs(c.rows*c.n, c.scale, rng)
		want := make([]float32, len(x))
		for r := 0; r < c.rows; r++ {
			softmaxRef(want[r*c.n:(r+1)*c.n], x[r*c.n:(r+1)*c.n])
		}
		got := make([]float32, len(x))
		SoftmaxRows(got, x, c.rows, c.n)
		sameBits(t, "softmax", got, want)
		SoftmaxRows(x, x, c.rows, c.n) // in place
		sameBits(t, "softmax in place", x, want)
	}
}

func TestSoftmaxCausalMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, T := range []int{1, 2, 15, 64, 129} {
		a := inputs(T*T, 4, rng)
		want := append([]float32(nil), a...)
		rows := append([]float32(nil), a...)
		for r := 0; r < T; r++ {
			softmaxCausalRef(want[r*T:(r+1)*T], r)
			SoftmaxCausalRow(rows[r*T:(r+1)*T], r)
		}
		// In blocks of 7 rows, as the model's attention calls it (the last block partial).
		for r0 := 0; r0 < T; r0 += 7 {
			r1 := min(T, r0+7)
			SoftmaxCausalRows(a[r0*T:r1*T], r0, r1-r0, T)
		}
		sameBits(t, "causal softmax by blocks", a, want)
		sameBits(t, "causal softmax by rows", rows, want)
	}
}

func TestSwiGLUAndGELUMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 9, 1000, 4099} {
		g, u, d := inputs(n, 4, rng), inputs(n, 2, rng), inputs(n, 1, rng)
		wantOut, wantSig := make([]float32, n), make([]float32, n)
		for i := range g {
			wantSig[i] = Sigmoidf(g[i])
			wantOut[i] = g[i] * wantSig[i] * u[i]
		}
		out, sig := make([]float32, n), make([]float32, n)
		SwiGLU(out, sig, g, u)
		sameBits(t, "swiglu", out, wantOut)
		sameBits(t, "sigmoid", sig, wantSig)
		out2 := make([]float32, n)
		SwiGLU(out2, nil, g, u)
		sameBits(t, "swiglu without σ", out2, wantOut)

		wantG, wantD := make([]float32, n), make([]float32, n)
		for i := range g {
			wantG[i] = geluRef(g[i])
			wantD[i] = 0.25 + geluGradRef(d[i], g[i])
		}
		GELU(out, g)
		sameBits(t, "gelu", out, wantG)
		dx := make([]float32, n)
		for i := range dx {
			dx[i] = 0.25 // accumulates
		}
		GELUBackward(dx, d, g)
		sameBits(t, "gelu backward", dx, wantD)
	}
}

func TestShortSlicesPanic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a too-short output did not panic")
		}
	}()
	SoftmaxRows(make([]float32, 3), make([]float32, 4), 2, 2)
}

func BenchmarkSoftmaxRows(b *testing.B) {
	x := inputs(64*1024, 3, rand.New(rand.NewPCG(1, 1)))
	out := make([]float32, len(x))
	b.Run("c", func(b *testing.B) {
		for b.Loop() {
			SoftmaxRows(out, x, 64, 1024)
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			for r := 0; r < 64; r++ {
				softmaxRef(out[r*1024:(r+1)*1024], x[r*1024:(r+1)*1024])
			}
		}
	})
}

func TestSwiGLUBackwardMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 9, 1000, 4099} {
		g, u, d := inputs(n, 4, rng), inputs(n, 2, rng), inputs(n, 1, rng)
		sig := make([]float32, n)
		for i := range g {
			sig[i] = Sigmoidf(g[i])
		}
		for _, withSig := range []bool{true, false} {
			// The model's loop before this kernel, accumulating into non-zero gradients.
			wantG, wantU := make([]float32, n), make([]float32, n)
			gotG, gotU := make([]float32, n), make([]float32, n)
			for i := range wantG {
				wantG[i], wantU[i] = 0.5, -0.25
				gotG[i], gotU[i] = 0.5, -0.25
			}
			for i := range g {
				s := Sigmoidf(g[i])
				if withSig {
					s = sig[i]
				}
				wantU[i] += d[i] * g[i] * s
				wantG[i] += d[i] * u[i] * s * (1 + g[i]*(1-s))
			}
			var sp []float32
			if withSig {
				sp = sig
			}
			SwiGLUBackward(gotG, gotU, d, g, u, sp)
			sameBits(t, "swiglu backward dgate", gotG, wantG)
			sameBits(t, "swiglu backward dup", gotU, wantU)
		}
	}
}

func TestAdamWMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 17, 4099} {
		w, g := inputs(n, 1, rng), inputs(n, 1e-2, rng)
		m, v := inputs(n, 1e-3, rng), inputs(n, 1e-4, rng)
		for i := range v {
			v[i] = float32(math.Abs(float64(v[i]))) // a second moment is never negative
		}
		g[0] = 0 // a parameter with no gradient still decays
		wantW, wantM, wantV := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
		// float32 variables, as in the model (with untyped constants Go would fold 1−β exactly).
		var lr, b1, b2, eps, wd, bc1, bc2 float32 = 3e-3, 0.9, 0.95, 1e-8, 0.01, 0.271, 0.1426
		// The model's AdamW loop before this kernel.
		for i := range wantW {
			wantM[i] = b1*wantM[i] + (1-b1)*g[i]
			wantV[i] = b2*wantV[i] + (1-b2)*g[i]*g[i]
			mh, vh := wantM[i]/bc1, wantV[i]/bc2
			wantW[i] -= lr * (mh/(float32(math.Sqrt(float64(vh)))+eps) + wd*wantW[i])
		}
		AdamW(w, g, m, v, lr, b1, b2, eps, wd, bc1, bc2)
		sameBits(t, "adamw w", w, wantW)
		sameBits(t, "adamw m", m, wantM)
		sameBits(t, "adamw v", v, wantV)
	}
}

// go test -bench 'AdamW|SwiGLUBackward' ./internal/vecmath: the C kernels against the Go loops they
// replaced, on one core (the model splits the work over the cores itself).
func BenchmarkAdamW(b *testing.B) {
	const n = 1 << 20
	rng := rand.New(rand.NewPCG(1, 2))
	w, g, m, v := inputs(n, 1, rng), inputs(n, 1e-2, rng), make([]float32, n), make([]float32, n)
	var lr, b1, b2, eps, wd, bc1, bc2 float32 = 1e-3, 0.9, 0.95, 1e-8, 0.01, 0.5, 0.5
	b.Run("c", func(b *testing.B) {
		for b.Loop() {
			AdamW(w, g, m, v, lr, b1, b2, eps, wd, bc1, bc2)
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			for i := range w {
				m[i] = b1*m[i] + (1-b1)*g[i]
				v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
				mh, vh := m[i]/bc1, v[i]/bc2
				w[i] -= lr * (mh/(float32(math.Sqrt(float64(vh)))+eps) + wd*w[i])
			}
		}
	})
}

func BenchmarkSwiGLUBackward(b *testing.B) {
	const n = 1 << 20
	rng := rand.New(rand.NewPCG(3, 4))
	g, u, d, sig := inputs(n, 4, rng), inputs(n, 2, rng), inputs(n, 1, rng), make([]float32, n)
	dg, du := make([]float32, n), make([]float32, n)
	SwiGLU(make([]float32, n), sig, g, u)
	b.Run("c", func(b *testing.B) {
		for b.Loop() {
			SwiGLUBackward(dg, du, d, g, u, sig)
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			for i := range g {
				s := sig[i]
				du[i] += d[i] * g[i] * s
				dg[i] += d[i] * u[i] * s * (1 + g[i]*(1-s))
			}
		}
	})
}

// The row kernels read gate and up from one [rows, 2H] buffer and must give the same bits as the
// flat kernels on the halves; the backward one overwrites (its output starts as NaN here).
func TestSwiGLURowsMatchFlat(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, shape := range [][2]int{{1, 1}, {3, 9}, {17, 352}} {
		rows, H := shape[0], shape[1]
		n := rows * H
		g, u, d := inputs(n, 4, rng), inputs(n, 2, rng), inputs(n, 1, rng)
		gu := make([]float32, 2*n)
		for r := 0; r < rows; r++ {
			copy(gu[r*2*H:], g[r*H:(r+1)*H])
			copy(gu[r*2*H+H:], u[r*H:(r+1)*H])
		}
		wantOut, wantSig := make([]float32, n), make([]float32, n)
		SwiGLU(wantOut, wantSig, g, u)
		out, sig := make([]float32, n), make([]float32, n)
		SwiGLURows(out, sig, gu, rows, H)
		sameBits(t, "swiglu rows", out, wantOut)
		sameBits(t, "swiglu rows σ", sig, wantSig)
		SwiGLURows(out, nil, gu, rows, H)
		sameBits(t, "swiglu rows without σ", out, wantOut)

		for _, sp := range [][]float32{sig, nil} {
			wantG, wantU := make([]float32, n), make([]float32, n)
			for i := range g {
				s := Sigmoidf(g[i])
				if sp != nil {
					s = sp[i]
				}
				wantU[i] = d[i] * g[i] * s
				wantG[i] = d[i] * u[i] * s * (1 + g[i]*(1-s))
			}
			dgu := make([]float32, 2*n)
			for i := range dgu {
				dgu[i] = float32(math.NaN())
			}
			SwiGLUBackwardRows(dgu, d, gu, sp, rows, H)
			gotG, gotU := make([]float32, n), make([]float32, n)
			for r := 0; r < rows; r++ {
				copy(gotG[r*H:(r+1)*H], dgu[r*2*H:])
				copy(gotU[r*H:(r+1)*H], dgu[r*2*H+H:])
			}
			sameBits(t, "swiglu backward rows dgate", gotG, wantG)
			sameBits(t, "swiglu backward rows dup", gotU, wantU)
		}
	}
}

// rmsLaneSum is Σ_i f(i) for i < n in float64, by RMSNormLanes interleaved lanes added in order.
func rmsLaneSum(n int, f func(i int) float64) float64 {
	var acc [RMSNormLanes]float64
	for i := 0; i < n; i++ {
		acc[i%RMSNormLanes] += f(i)
	}
	var s float64
	for _, a := range acc {
		s += a
	}
	return s
}

// The RMSNorm kernels against a Go loop with the same summation order, bit for bit, for widths
// that are and are not multiples of the lane count; backward accumulates into non-zero buffers.
func TestRMSNormMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, shape := range [][2]int{{1, 1}, {3, 7}, {5, 8}, {9, 131}} {
		rows, cols := shape[0], shape[1]
		x, w, d := inputs(rows*cols, 3, rng), inputs(cols, 1, rng), inputs(rows*cols, 1, rng)
		const eps = 1e-5
		wantOut, wantR := make([]float32, rows*cols), make([]float32, rows)
		wantDx, wantDw := inputs(rows*cols, 1, rng), inputs(cols, 1, rng)
		gotDx, gotDw := append([]float32(nil), wantDx...), append([]float32(nil), wantDw...)
		for n := 0; n < rows; n++ {
			xr, dr := x[n*cols:(n+1)*cols], d[n*cols:(n+1)*cols]
			ss := rmsLaneSum(cols, func(i int) float64 { return float64(xr[i]) * float64(xr[i]) })
			r := float32(1 / math.Sqrt(ss/float64(cols)+float64(float32(eps))))
			wantR[n] = r
			for i := range xr {
				wantOut[n*cols+i] = xr[i] * r * w[i]
			}
			dot := rmsLaneSum(cols, func(i int) float64 { return float64(dr[i]*w[i]) * float64(xr[i]) })
			coef := float32(dot/float64(cols)) * r * r * r
			for i := range xr {
				wantDw[i] += dr[i] * xr[i] * r
				wantDx[n*cols+i] += r*dr[i]*w[i] - coef*xr[i]
			}
		}
		out, rstd := make([]float32, rows*cols), make([]float32, rows)
		RMSNorm(out, rstd, x, w, rows, cols, eps)
		sameBits(t, "rmsnorm", out, wantOut)
		sameBits(t, "rmsnorm rstd", rstd, wantR)
		RMSNormBackward(gotDx, gotDw, d, x, w, wantR, rows, cols)
		sameBits(t, "rmsnorm backward dx", gotDx, wantDx)
		sameBits(t, "rmsnorm backward dw", gotDw, wantDw)
	}
}

// The causal softmax backward against a Go loop with the same 8-lane order, bit for bit; the
// masked columns up to width must come out zero whatever they held.
func TestSoftmaxCausalBackwardMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, c := range []struct{ T, first, rows, width int }{{1, 0, 1, 1}, {5, 0, 5, 5}, {20, 3, 9, 14}, {70, 64, 6, 70}} {
		a, ds := inputs(c.rows*c.T, 1, rng), inputs(c.rows*c.T, 2, rng)
		want := append([]float32(nil), ds...)
		for i := 0; i < c.rows; i++ {
			tt := c.first + i
			p, d := a[i*c.T:(i+1)*c.T], want[i*c.T:(i+1)*c.T]
			var acc [8]float32
			for s := 0; s <= tt; s++ {
				acc[s%8] += p[s] * d[s]
			}
			var dot float32
			for _, v := range acc {
				dot += v
			}
			for s := 0; s <= tt; s++ {
				d[s] = p[s] * (d[s] - dot)
			}
			clear(d[tt+1 : c.width])
		}
		SoftmaxCausalBackwardRows(ds, a, c.first, c.rows, c.T, c.width)
		sameBits(t, "softmax causal backward", ds, want)
	}
}

func TestSumSquaresAndScaleMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{0, 1, 7, 8, 9, 4099} {
		x := inputs(n, 3, rng)
		want := rmsLaneSum(n, func(i int) float64 { return float64(x[i]) * float64(x[i]) })
		if got := SumSquares(x); got != want {
			t.Fatalf("n=%d: SumSquares %v, want %v", n, got, want)
		}
		scaled := make([]float32, n)
		for i, v := range x {
			scaled[i] = v * 0.37
		}
		Scale(x, 0.37)
		sameBits(t, "scale", x, scaled)
	}
}
