package gputest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
)

// batch is a random PPO batch with seed-like magnitudes, [B,T] unless noted.
type batch struct {
	B, T                      int
	logpOld, logpRef, logpNew []float32
	vOld, vNew                []float32
	adv, ret                  []float32 // whitened advantages and returns, as the losses get them
	score                     []float32 // [B]
	hasStop                   []bool    // [B]
	lengths                   []int32   // [B]
}

// randomBatch draws a batch from rng. Row 0 is full (length T) and row 1 empty (length 0) when
// B ≥ 2. Pad log-probs are padLogp (NaN checks that a device never uses them). If fd, inputs keep
// a distance ≥ 2h from the kinks of the losses, for finite differences with step h.
func randomBatch(rng *rand.Rand, B, T int, padLogp float32, fd bool, h float64) batch {
	n := B * T
	x := batch{B: B, T: T,
		logpOld: make([]float32, n), logpRef: make([]float32, n), logpNew: make([]float32, n),
		vOld: make([]float32, n), vNew: make([]float32, n), adv: make([]float32, n), ret: make([]float32, n),
		score: make([]float32, B), hasStop: make([]bool, B), lengths: make([]int32, B)}
	eps := float64(gpu.SeedParams().Loss.ClipRange)
	epsV := float64(gpu.SeedParams().Loss.ClipRangeValue)
	for b := 0; b < B; b++ {
		switch b {
		case 0:
			x.lengths[b] = int32(T)
		case 1:
			x.lengths[b] = 0
		default:
			x.lengths[b] = int32(rng.IntN(T + 1))
		}
		x.score[b] = float32(2 * rng.NormFloat64())
		x.hasStop[b] = rng.IntN(3) > 0
	}
	for i := 0; i < n; i++ {
		old := -6 * rng.Float64()
		x.logpOld[i] = float32(old)
		x.logpRef[i] = float32(old + 0.3*rng.NormFloat64())
		for {
			// log ρ away from the clip kinks ln(1 ± ε).
			lr := rng.Float64()*1.2 - 0.6
			if fd && (math.Abs(lr-math.Log(1-eps)) < 2*h || math.Abs(lr-math.Log(1+eps)) < 2*h) {
				continue
			}
			x.logpNew[i] = float32(old + lr)
			break
		}
		x.adv[i] = float32(rng.NormFloat64())
		vo := rng.NormFloat64()
		x.vOld[i] = float32(vo)
		for {
			v, r := vo+rng.Float64()*1.2-0.6, vo+rng.NormFloat64()
			vc := min(max(v, vo-epsV), vo+epsV)
			if fd && (math.Abs(v-(vo-epsV)) < 2*h || math.Abs(v-(vo+epsV)) < 2*h ||
				(v != vc && math.Abs(math.Abs(v-r)-math.Abs(vc-r)) < 4*h)) {
				continue
			}
			x.vNew[i], x.ret[i] = float32(v), float32(r)
			break
		}
	}
	for b := 0; b < B; b++ {
		for t := int(x.lengths[b]); t < T; t++ {
			x.logpOld[b*T+t], x.logpRef[b*T+t], x.logpNew[b*T+t] = padLogp, padLogp, padLogp
		}
	}
	return x
}

// MatchesCPU runs every method on d and on gpu.CPU with random inputs (B = 8, T = 37, lengths
// from 0 to T, NaN log-probs on pads) and compares all outputs with tolerance loose. Backward
// passes use dloss = N_L so that gradients are O(1) and the tolerance means the same as for the
// other outputs.
func MatchesCPU(t *testing.T, d gpu.Device) {
	ref := gpu.CPU{}
	rng := rand.New(rand.NewPCG(7, 11))
	x := randomBatch(rng, 8, 37, float32(math.NaN()), false, 0)
	B, T, n := x.B, x.T, x.B*x.T
	p := gpu.SeedParams()

	// run computes the whole chain on dev and returns every output.
	type outputs struct {
		kl, rew, adv, ret, white out
		mu, std                  float32
	}
	run := func(dev gpu.Device) outputs {
		o := outputs{kl: guarded(n, 99), rew: guarded(n, 99), adv: guarded(n, 99), ret: guarded(n, 99), white: guarded(n, 99)}
		must(t, dev.KL(o.kl.S, x.logpOld, x.logpRef, x.lengths, B, T))
		must(t, dev.ShapeRewards(o.rew.S, o.kl.S, x.score, x.hasStop, x.lengths, p.Reward, B, T))
		must(t, dev.GAE(o.adv.S, o.ret.S, o.rew.S, x.vOld, 0.95, 0.9, B, T)) // γ, λ < 1 on purpose
		var err error
		o.mu, o.std, err = dev.Whiten(o.white.S, o.adv.S, p.WhitenEps, n)
		must(t, err)
		return o
	}
	got, want := run(d), run(ref)
	for _, r := range []struct {
		name      string
		got, want out
	}{{"kl", got.kl, want.kl}, {"rewards", got.rew, want.rew}, {"advantages", got.adv, want.adv},
		{"returns", got.ret, want.ret}, {"whitened", got.white, want.white}} {
		check(t, r.name, r.got.S, f64(r.want.S), loose)
		r.got.Check(t, r.name)
	}
	checkScalar(t, "whiten mean", got.mu, float64(want.mu), loose)
	checkScalar(t, "whiten std", got.std, float64(want.std), loose)

	for _, nonPad := range []bool{false, true} {
		lp := p.Loss
		lp.NonPadMean = nonPad
		nl := float32(n)
		if nonPad {
			nl = 0
			for _, l := range x.lengths {
				nl += float32(l)
			}
		}
		pg, err := d.PolicyLossForward(x.logpNew, x.logpOld, x.adv, x.lengths, lp, B, T)
		must(t, err)
		pgRef, _ := ref.PolicyLossForward(x.logpNew, x.logpOld, x.adv, x.lengths, lp, B, T)
		vf, err := d.ValueLossForward(x.vNew, x.vOld, x.ret, x.lengths, lp, B, T)
		must(t, err)
		vfRef, _ := ref.ValueLossForward(x.vNew, x.vOld, x.ret, x.lengths, lp, B, T)
		checkScalar(t, "loss_pg", pg.Loss, float64(pgRef.Loss), loose)
		checkScalar(t, "clipfrac", pg.ClipFrac, float64(pgRef.ClipFrac), loose)
		checkScalar(t, "approxkl", pg.ApproxKL, float64(pgRef.ApproxKL), loose)
		checkScalar(t, "loss_vf", vf.Loss, float64(vfRef.Loss), loose)
		checkScalar(t, "vf clipfrac", vf.ClipFrac, float64(vfRef.ClipFrac), loose)

		dl, dlRef := guarded(n, 0), make([]float32, n)
		must(t, d.PolicyLossBackward(dl.S, x.logpNew, x.logpOld, x.adv, x.lengths, nl, lp, B, T))
		_ = ref.PolicyLossBackward(dlRef, x.logpNew, x.logpOld, x.adv, x.lengths, nl, lp, B, T)
		check(t, "dlogp", dl.S, f64(dlRef), loose)
		dl.Check(t, "dlogp")
		dv, dvRef := guarded(n, 0), make([]float32, n)
		must(t, d.ValueLossBackward(dv.S, x.vNew, x.vOld, x.ret, x.lengths, nl, lp, B, T))
		_ = ref.ValueLossBackward(dvRef, x.vNew, x.vOld, x.ret, x.lengths, nl, lp, B, T)
		check(t, "dv", dv.S, f64(dvRef), loose)
		dv.Check(t, "dv")
	}
}
