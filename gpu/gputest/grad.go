package gputest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
)

// fdStep is the finite-difference step h = 2⁻⁵ (a power of two, so x ± h is exact for most
// float32 inputs; the step actually taken, (x+h) − (x−h) in float64, is what the difference is
// divided by).
const fdStep = 1.0 / 32

// fdTol is the tolerance of a finite-difference gradient against the analytic one:
//   - truncation: the policy term −Â·e^{log ρ} has third derivative −Â·ρ, so central differences
//     are off by h²/6·|ρ| ≈ 1.6e-4·|ρ| relative (≤ 3e-4 for ρ ≤ 1.8); the value term is quadratic
//     (no truncation error). Inputs stay ≥ 2h from every kink (randomBatch), where the loss is
//     not smooth. → Rtol 1e-3.
//   - rounding: the loss comes back as float32, off by ≤ n·u·Σ|ℓ|/N_L ≲ 24·6e-8·2 ≈ 3e-6 for a
//     device that sums in float32 (u·|L| ≈ 1e-7 for gpu.CPU); divided by 2h this is ≤ 5e-5.
//     → Atol 1e-4.
var fdTol = Tol{Atol: 1e-4, Rtol: 1e-3}

// centralDiff returns (f(x+h) − f(x−h)) / ((x+h) − (x−h)) for element i of x, in float64 on the
// float32 function f, and restores x[i].
func centralDiff(x []float32, i int, f func() float64) float64 {
	x0 := x[i]
	xp, xm := x0+float32(fdStep), x0-float32(fdStep)
	x[i] = xp
	fp := f()
	x[i] = xm
	fm := f()
	x[i] = x0
	return (fp - fm) / (float64(xp) - float64(xm))
}

// Gradients checks PolicyLossBackward and ValueLossBackward against central differences of
// PolicyLossForward and ValueLossForward, on every slot (pads included: the policy gradient is 0
// there, the value gradient is not, unless NonPadMean), in both averaging modes.
func Gradients(t *testing.T, d gpu.Device) {
	rng := rand.New(rand.NewPCG(3, 5))
	x := randomBatch(rng, 4, 6, 0.5, true, fdStep) // lengths 6, 0 and two random; pad log-probs 0.5
	B, T, n := x.B, x.T, x.B*x.T
	for _, nonPad := range []bool{false, true} {
		t.Run(fmt.Sprintf("NonPadMean=%v", nonPad), func(t *testing.T) {
			p := gpu.SeedParams().Loss
			p.NonPadMean = nonPad
			pgLoss := func() float64 {
				st, err := d.PolicyLossForward(x.logpNew, x.logpOld, x.adv, x.lengths, p, B, T)
				must(t, err)
				return float64(st.Loss)
			}
			vfLoss := func() float64 {
				st, err := d.ValueLossForward(x.vNew, x.vOld, x.ret, x.lengths, p, B, T)
				must(t, err)
				return float64(st.Loss)
			}
			dlogp, dv := make([]float32, n), make([]float32, n)
			must(t, d.PolicyLossBackward(dlogp, x.logpNew, x.logpOld, x.adv, x.lengths, 1, p, B, T))
			must(t, d.ValueLossBackward(dv, x.vNew, x.vOld, x.ret, x.lengths, 1, p, B, T))
			fdLogp, fdV := make([]float64, n), make([]float64, n)
			for i := range n {
				fdLogp[i] = centralDiff(x.logpNew, i, pgLoss)
				fdV[i] = centralDiff(x.vNew, i, vfLoss)
			}
			t.Logf("max |analytic − fd|: dlogp %.2g, dv %.2g",
				check(t, "dlogp vs fd", dlogp, fdLogp, fdTol), check(t, "dv vs fd", dv, fdV, fdTol))
			for b := 0; b < B; b++ {
				for tt := int(x.lengths[b]); tt < T; tt++ {
					i := b*T + tt
					if dlogp[i] != 0 {
						t.Errorf("dlogp on pad (%d,%d) = %g, want 0", b, tt, dlogp[i])
					}
					if nonPad && dv[i] != 0 {
						t.Errorf("dv on pad (%d,%d) = %g, want 0 with NonPadMean", b, tt, dv[i])
					}
				}
			}
		})
	}
}

// Accumulate checks that backward passes add dloss·gradient to what the slice holds.
func Accumulate(t *testing.T, d gpu.Device) {
	rng := rand.New(rand.NewPCG(13, 17))
	x := randomBatch(rng, 3, 5, 0, false, 0)
	B, T, n := x.B, x.T, x.B*x.T
	p := gpu.SeedParams().Loss
	g1, g2 := make([]float32, n), make([]float32, n)
	must(t, d.PolicyLossBackward(g1, x.logpNew, x.logpOld, x.adv, x.lengths, 1, p, B, T))
	must(t, d.ValueLossBackward(g2, x.vNew, x.vOld, x.ret, x.lengths, 1, p, B, T))
	// Start from 1.5 everywhere and add with dloss = 0.1 (vf_coef): want 1.5 + 0.1·g.
	a1, a2 := guarded(n, 1.5), guarded(n, 1.5)
	must(t, d.PolicyLossBackward(a1.S, x.logpNew, x.logpOld, x.adv, x.lengths, 0.1, p, B, T))
	must(t, d.ValueLossBackward(a2.S, x.vNew, x.vOld, x.ret, x.lengths, 0.1, p, B, T))
	w1, w2 := make([]float64, n), make([]float64, n)
	for i := range n {
		w1[i] = 1.5 + 0.1*float64(g1[i])
		w2[i] = 1.5 + 0.1*float64(g2[i])
	}
	check(t, "dlogp += 0.1·g", a1.S, w1, exact)
	check(t, "dv += 0.1·g", a2.S, w2, exact)
	a1.Check(t, "dlogp")
	a2.Check(t, "dv")
}

// nonPadGolden are the golden cases' losses averaged over non-pad slots only. They are not in
// golden.json: they were computed (Python, float64) from golden.json's inputs, whitened advantages
// and returns with the formulas of reference §4.5 summed over t < length and divided by Σ length.
var nonPadGolden = map[string]struct{ pg, vf float64 }{
	"case1_T4_B2": {0.6209322517003432, 4115.3247200139995},
	"case2_T6_B3": {0.23455726393974893, 4534.469486512221},
	"case3_T8_B4": {0.2676851192478237, 11117.184750520184},
}

// NonPadMean checks what the flag changes: on the golden cases the losses move to the non-pad
// values above, and Σ_len·L_nonpad = B·T·L_all − Σ_pads ℓ (each pad's policy term is −Â, its value
// term ½·max(…)); without pads the flag changes nothing; gradients on tokens scale by B·T/Σ_len.
func NonPadMean(t *testing.T, d gpu.Device) {
	for _, c := range loadGolden(t) {
		t.Run(c.Name, func(t *testing.T) {
			g := c.batch()
			B, T := g.B, g.T
			adv, ret := f32(flat(c.Expected.Whitened)), f32(flat(c.Expected.Returns))
			all, np := g.params.Loss, g.params.Loss
			np.NonPadMean = true
			pgAll, err := d.PolicyLossForward(g.logpNew, g.logpOld, adv, g.lengths, all, B, T)
			must(t, err)
			pgNP, err := d.PolicyLossForward(g.logpNew, g.logpOld, adv, g.lengths, np, B, T)
			must(t, err)
			vfAll, err := d.ValueLossForward(g.valuesNew, g.valuesOld, ret, g.lengths, all, B, T)
			must(t, err)
			vfNP, err := d.ValueLossForward(g.valuesNew, g.valuesOld, ret, g.lengths, np, B, T)
			must(t, err)
			want := nonPadGolden[c.Name]
			checkScalar(t, "loss_pg non-pad", pgNP.Loss, want.pg, exact)
			checkScalar(t, "loss_vf non-pad", vfNP.Loss, want.vf, exact)

			var tokens, padPG, padVF float64
			for b := 0; b < B; b++ {
				tokens += float64(g.lengths[b])
				for tt := int(g.lengths[b]); tt < T; tt++ {
					i := b*T + tt
					padPG -= float64(adv[i])
					e1 := float64(g.valuesNew[i]) - float64(ret[i])
					vc := min(max(float64(g.valuesNew[i]), float64(g.valuesOld[i])-0.2), float64(g.valuesOld[i])+0.2)
					e2 := vc - float64(ret[i])
					padVF += 0.5 * max(e1*e1, e2*e2)
				}
			}
			bt := float64(B * T)
			checkScalar(t, "Σlen·pg_nonpad vs B·T·pg_all − Σpad", float32(tokens*float64(pgNP.Loss)),
				bt*float64(pgAll.Loss)-padPG, exact)
			checkScalar(t, "Σlen·vf_nonpad vs B·T·vf_all − Σpad", float32(tokens*float64(vfNP.Loss)),
				bt*float64(vfAll.Loss)-padVF, exact)

			// Gradients on tokens scale by B·T/Σlen; on pads they vanish with the flag.
			for _, v := range []struct {
				name string
				back func(dst []float32, p gpu.LossParams) error
			}{
				{"dlogp", func(dst []float32, p gpu.LossParams) error {
					return d.PolicyLossBackward(dst, g.logpNew, g.logpOld, adv, g.lengths, 1, p, B, T)
				}},
				{"dv", func(dst []float32, p gpu.LossParams) error {
					return d.ValueLossBackward(dst, g.valuesNew, g.valuesOld, ret, g.lengths, 1, p, B, T)
				}},
			} {
				gAll, gNP := make([]float32, B*T), make([]float32, B*T)
				must(t, v.back(gAll, all))
				must(t, v.back(gNP, np))
				wantNP := make([]float64, B*T)
				for b := 0; b < B; b++ {
					for tt := 0; tt < int(g.lengths[b]); tt++ {
						wantNP[b*T+tt] = float64(gAll[b*T+tt]) * bt / tokens
					}
				}
				check(t, v.name+" non-pad", gNP, wantNP, exact)
			}
		})
	}

	// No pads: the flag changes nothing.
	rng := rand.New(rand.NewPCG(19, 23))
	x := randomBatch(rng, 3, 4, 0, false, 0)
	for b := range x.lengths {
		x.lengths[b] = int32(x.T)
	}
	all := gpu.SeedParams().Loss
	np := all
	np.NonPadMean = true
	a, _ := d.PolicyLossForward(x.logpNew, x.logpOld, x.adv, x.lengths, all, x.B, x.T)
	b, _ := d.PolicyLossForward(x.logpNew, x.logpOld, x.adv, x.lengths, np, x.B, x.T)
	checkScalar(t, "no pads: pg", b.Loss, float64(a.Loss), exact)
	va, _ := d.ValueLossForward(x.vNew, x.vOld, x.ret, x.lengths, all, x.B, x.T)
	vb, _ := d.ValueLossForward(x.vNew, x.vOld, x.ret, x.lengths, np, x.B, x.T)
	checkScalar(t, "no pads: vf", vb.Loss, float64(va.Loss), exact)
	if math.IsNaN(float64(a.Loss)) {
		t.Error("no pads: NaN loss")
	}
}
