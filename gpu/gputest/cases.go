package gputest

import (
	"math"
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
)

// Hand-computed cases, one table per formula. The arithmetic is in the comments; most inputs are
// binary fractions so that a reader can check the results exactly.

// KL checks kl = max(0, old − ref) on tokens and 0 on pads.
func KL(t *testing.T, d gpu.Device) {
	for _, c := range []struct {
		name     string
		B, T     int
		old, ref []float64
		lengths  []int32
		want     []float64
	}{
		// −1 − (−1.5) = 0.5; −2 − (−2.25) = 0.25; −0.5 − (−0.5) = 0.
		{"k1 on tokens", 1, 3, []float64{-1, -2, -0.5}, []float64{-1.5, -2.25, -0.5}, []int32{3}, []float64{0.5, 0.25, 0}},
		// ref > old: −2 − (−1) = −1 → 0; −0.75 − (−0.5) = −0.25 → 0.
		{"clamped at 0 when ref > old", 1, 2, []float64{-2, -0.75}, []float64{-1, -0.5}, []int32{2}, []float64{0, 0}},
		// Only slot 0 is a token: 1; slots 1, 2 would give 2 and 3 but are pads → 0.
		{"pads are 0 whatever their log-probs", 1, 3, []float64{-1, -1, -1}, []float64{-2, -3, -4}, []int32{1}, []float64{1, 0, 0}},
		// Row 0: 0.5, 0.25. Row 1 is empty (length 0): 0, 0 although old − ref = 2.
		{"rows have their own lengths", 2, 2, []float64{-1, -1, -1, -1}, []float64{-1.5, -1.25, -3, -3}, []int32{2, 0}, []float64{0.5, 0.25, 0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			kl := guarded(c.B*c.T, 99)
			must(t, d.KL(kl.S, f32(c.old), f32(c.ref), c.lengths, c.B, c.T))
			check(t, "kl", kl.S, c.want, exact)
			kl.Check(t, "kl")
		})
	}
}

// ShapeRewards checks −β·kl per token, the terminal term on slot T−1 and the scale.
func ShapeRewards(t *testing.T, d gpu.Device) {
	seed := gpu.SeedParams().Reward // β 0.1, stop penalty −8, length bonus −10, scale 10
	for _, c := range []struct {
		name    string
		p       gpu.RewardParams
		B, T    int
		kl      []float64
		score   []float64
		hasStop []bool
		lengths []int32
		want    []float64
	}{
		// s = [−0.1·0.5, 0, −0.1·0.25, 0] = [−0.05, 0, −0.025, 0];
		// terminal on t=3: 2 + (−10)·4/4 = −8 → s3 = −8; ×10 → [−0.5, 0, −0.25, −80].
		{"kl penalty, terminal, scale", seed, 1, 4, []float64{0.5, 0, 0.25, 0}, []float64{2}, []bool{true}, []int32{4},
			[]float64{-0.5, 0, -0.25, -80}},
		// No stop token: 1 − 8 + (−10)·2/4 = 1 − 8 − 5 = −12, on the last padded slot t=3; ×10 → −120.
		{"no stop token: −8", seed, 1, 4, []float64{0, 0, 0, 0}, []float64{1}, []bool{false}, []int32{2},
			[]float64{0, 0, 0, -120}},
		// Length penalty alone: 0 + (−10)·1/4 = −2.5; ×10 → −25 on t=3.
		{"length penalty −10·len/T", seed, 1, 4, []float64{0, 0, 0, 0}, []float64{0}, []bool{true}, []int32{1},
			[]float64{0, 0, 0, -25}},
		// KL and terminal on the same slot: −0.1·0.5 + 0.5 + (−10)·2/2 = −0.05 + 0.5 − 10 = −9.55; ×10 → −95.5.
		{"kl and terminal add on the last slot", seed, 1, 2, []float64{0, 0.5}, []float64{0.5}, []bool{true}, []int32{2},
			[]float64{0, -95.5}},
		// Length 1 of T = 3: s0 = −0.1·0.25 = −0.025 → −0.25; the pad kl 7 and 9 are ignored;
		// t=2: −10·1/3 = −3.333…; ×10 → −33.333….
		{"pad kl ignored", seed, 1, 3, []float64{0.25, 7, 9}, []float64{0}, []bool{true}, []int32{1},
			[]float64{-0.25, 0, -100.0 / 3}},
		// Empty response without a stop: 0.5 − 8 + (−10)·0/2 = −7.5; ×10 → −75; kl 3 on pads ignored.
		{"empty response", seed, 1, 2, []float64{3, 3}, []float64{0.5}, []bool{false}, []int32{0},
			[]float64{0, -75}},
		// β 0.5, penalty −1, length bonus −2, scale 1: s0 = −0.5·1 = −0.5;
		// s1 = −0.5·0.5 + 3 − 1 + (−2)·2/2 = −0.25 + 3 − 1 − 2 = −0.25.
		{"other constants", gpu.RewardParams{KLCoef: 0.5, StopPenalty: -1, LengthBonus: -2, Scale: 1}, 1, 2,
			[]float64{1, 0.5}, []float64{3}, []bool{false}, []int32{2}, []float64{-0.5, -0.25}},
		// Row 0: 1 + (−10)·2/2 = −9 → −90. Row 1: s0 = −0.05 → −0.5; −1 + (−10)·1/2 = −6 → −60.
		{"rows are independent", seed, 2, 2, []float64{0, 0, 0.5, 0}, []float64{1, -1}, []bool{true, true}, []int32{2, 1},
			[]float64{0, -90, -0.5, -60}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := guarded(c.B*c.T, 99)
			must(t, d.ShapeRewards(r.S, f32(c.kl), f32(c.score), c.hasStop, c.lengths, c.p, c.B, c.T))
			check(t, "rewards", r.S, c.want, exact)
			r.Check(t, "rewards")
		})
	}
}

// GAE checks the backward recursion, V[T] = 0, and returns = A + V.
func GAE(t *testing.T, d gpu.Device) {
	for _, c := range []struct {
		name              string
		gamma, lambda     float32
		B, T              int
		rewards, values   []float64
		wantAdv, wantRets []float64
	}{
		// γ = λ = 1: δ2 = 3 + 0 − (−1) = 4; δ1 = 2 + (−1) − 1 = 0; δ0 = 1 + 1 − 0.5 = 1.5;
		// A2 = 4; A1 = 0 + 4 = 4; A0 = 1.5 + 4 = 5.5 (= Σr − V0 = 6 − 0.5). R = A + V = [6, 5, 3].
		{"gamma = lambda = 1", 1, 1, 1, 3, []float64{1, 2, 3}, []float64{0.5, 1, -1},
			[]float64{5.5, 4, 4}, []float64{6, 5, 3}},
		// γ = λ = 0.5, γλ = 0.25: δ2 = 2 + 0 − 4 = −2; δ1 = 0 + 0.5·4 − 2 = 0; δ0 = 1 + 0.5·2 − 1 = 1;
		// A2 = −2; A1 = 0 + 0.25·(−2) = −0.5; A0 = 1 + 0.25·(−0.5) = 0.875. R = [1.875, 1.5, 2].
		{"general gamma, lambda", 0.5, 0.5, 1, 3, []float64{1, 0, 2}, []float64{1, 2, 4},
			[]float64{0.875, -0.5, -2}, []float64{1.875, 1.5, 2}},
		// Row 0 as the first case; row 1 (r = [0, 0, 1], V = 0) does not see row 0: A = R = [1, 1, 1].
		{"rows are independent", 1, 1, 2, 3, []float64{1, 2, 3, 0, 0, 1}, []float64{0.5, 1, -1, 0, 0, 0},
			[]float64{5.5, 4, 4, 1, 1, 1}, []float64{6, 5, 3, 1, 1, 1}},
		// γ = 0: A = δ = r − V = [1 − 2, 3 − 5] = [−1, −2]; R = r = [1, 3].
		{"gamma = 0", 0, 1, 1, 2, []float64{1, 3}, []float64{2, 5}, []float64{-1, -2}, []float64{1, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			adv, ret := guarded(c.B*c.T, 99), guarded(c.B*c.T, 99)
			must(t, d.GAE(adv.S, ret.S, f32(c.rewards), f32(c.values), c.gamma, c.lambda, c.B, c.T))
			check(t, "advantages", adv.S, c.wantAdv, exact)
			check(t, "returns", ret.S, c.wantRets, exact)
			adv.Check(t, "advantages")
			ret.Check(t, "returns")
		})
	}
}

// Whiten checks (x − μ)/(σ + eps) with the population σ, the mean not added back, and dst = x.
func Whiten(t *testing.T, d gpu.Device) {
	s := math.Sqrt(1.25)
	for _, c := range []struct {
		name            string
		x               []float64
		eps             float32
		want            []float64
		wantMu, wantStd float64
		inPlace         bool
	}{
		// μ = 2.5; σ² = (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25 (population, not /3); eps 1e-8 is
		// below float32 resolution here.
		{"population std", []float64{1, 2, 3, 4}, 1e-8, []float64{-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s}, 2.5, s, false},
		{"in place", []float64{1, 2, 3, 4}, 1e-8, []float64{-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s}, 2.5, s, true},
		// σ = 0: 0/(0 + 1e-8) = 0, no NaN.
		{"constant input", []float64{3, 3, 3}, 1e-8, []float64{0, 0, 0}, 3, 0, false},
		// eps is added to σ, not to σ²: μ = 0, σ = 1 → x/(1 + 1) = [−0.5, 0.5].
		{"eps on the std", []float64{-1, 1}, 1, []float64{-0.5, 0.5}, 0, 1, false},
		// μ = 11 is removed and not added back (shift_mean=True): [−1, 1], not [10, 12].
		{"mean not shifted back", []float64{10, 12}, 1e-8, []float64{-1, 1}, 11, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := f32(c.x)
			dst := guarded(len(x), 99)
			if c.inPlace {
				copy(dst.S, x)
				x = dst.S
			}
			mu, std, err := d.Whiten(dst.S, x, c.eps, len(c.x))
			must(t, err)
			check(t, "whitened", dst.S, c.want, exact)
			checkScalar(t, "mean", mu, c.wantMu, exact)
			checkScalar(t, "std", std, c.wantStd, exact)
			dst.Check(t, "whitened")
		})
	}
}

// lossCase is one row of the policy or value loss tables. a, b, c are (logpNew, logpOld, adv) for
// the policy loss and (vNew, vOld, ret) for the value loss.
type lossCase struct {
	name      string
	T         int
	a, b, c   []float64
	length    int32
	nonPad    bool
	wantLoss  float64
	wantClip  float64
	wantKL    float64 // policy only
	wantGrads []float64
}

func sq(x float64) float64 { return x * x }

// logp returns −1 + ln ρ for each ρ: new log-probs against old log-probs of −1.
func logp(rhos ...float64) []float64 {
	out := make([]float64, len(rhos))
	for i, r := range rhos {
		out[i] = -1 + math.Log(r)
	}
	return out
}

// PolicyLoss checks the clipped surrogate, its statistics and its gradient (dloss = 1).
func PolicyLoss(t *testing.T, d gpu.Device) {
	// ε = 0.2. Five regimes, Â = [1, 1, −1, −1, 2], ρ = [1.5, 0.5, 1.5, 0.5, 1]:
	//   t0: −Âρ = −1.5, −Â·clip = −1.2 → −1.2, clipped (−1.2 > −1.5), grad 0
	//   t1: −0.5 vs −0.8 → −0.5, grad −Âρ = −0.5
	//   t2:  1.5 vs  1.2 →  1.5, grad 1.5
	//   t3:  0.5 vs  0.8 →  0.8, clipped, grad 0
	//   t4:  −2  vs  −2  →  −2 (tie, not clipped), grad −2
	// Σℓ = −1.2 − 0.5 + 1.5 + 0.8 − 2 = −1.4; Loss = −1.4/5 = −0.28; ClipFrac = 2/5;
	// ApproxKL = ½·(2·ln²1.5 + 2·ln²0.5)/5 ≈ 0.12897; grads = [0, −0.5, 1.5, 0, −2]/5.
	kl5 := 2*sq(math.Log(1.5)) + 2*sq(math.Log(0.5))
	newLP, oldLP := logp(1.5, 0.5, 1.5, 0.5, 1), []float64{-1, -1, -1, -1, -1}
	adv := []float64{1, 1, -1, -1, 2}
	// Two pads appended: Â = [0.5, −1], log-probs 3 (new) and −3 (old) are garbage that must not
	// be read (ρ would be e⁶); ρ := 1 there, so each pad adds −Â: −0.5 and +1, with no gradient.
	// All slots: Σℓ = −1.4 − 0.5 + 1 = −0.9, Loss = −0.9/7; ClipFrac = 2/7; ApproxKL = ½·kl5/7.
	padNew, padOld := append(append([]float64{}, newLP...), 3, 3), append(append([]float64{}, oldLP...), -3, -3)
	padAdv := append(append([]float64{}, adv...), 0.5, -1)
	for _, c := range []lossCase{
		{"five regimes", 5, newLP, oldLP, adv, 5, false, -0.28, 0.4, 0.5 * kl5 / 5, []float64{0, -0.1, 0.3, 0, -0.4}},
		{"pads in the mean (seed)", 7, padNew, padOld, padAdv, 5, false, -0.9 / 7, 2.0 / 7, 0.5 * kl5 / 7,
			[]float64{0, -0.5 / 7, 1.5 / 7, 0, -2.0 / 7, 0, 0}},
		{"non-pad mean", 7, padNew, padOld, padAdv, 5, true, -0.28, 0.4, 0.5 * kl5 / 5,
			[]float64{0, -0.1, 0.3, 0, -0.4, 0, 0}},
		// Empty response, all pads: Σℓ = −Σ Â = −(1 − 3) = 2 over 2 slots → 1; NonPadMean has no
		// slots and gives 0.
		{"all pads (seed)", 2, []float64{5, 5}, []float64{0, 0}, []float64{1, -3}, 0, false, 1, 0, 0, []float64{0, 0}},
		{"all pads, non-pad mean", 2, []float64{5, 5}, []float64{0, 0}, []float64{1, -3}, 0, true, 0, 0, 0, []float64{0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := gpu.LossParams{ClipRange: 0.2, ClipRangeValue: 0.2, NonPadMean: c.nonPad}
			lens := []int32{c.length}
			st, err := d.PolicyLossForward(f32(c.a), f32(c.b), f32(c.c), lens, p, 1, c.T)
			must(t, err)
			checkScalar(t, "loss", st.Loss, c.wantLoss, exact)
			checkScalar(t, "clipfrac", st.ClipFrac, c.wantClip, exact)
			checkScalar(t, "approxkl", st.ApproxKL, c.wantKL, exact)
			g := guarded(c.T, 0)
			must(t, d.PolicyLossBackward(g.S, f32(c.a), f32(c.b), f32(c.c), lens, 1, p, 1, c.T))
			check(t, "dlogp", g.S, c.wantGrads, exact)
			g.Check(t, "dlogp")
		})
	}
}

// ValueLoss checks the clipped value loss, its clip fraction and its gradient (dloss = 1).
func ValueLoss(t *testing.T, d gpu.Device) {
	// ε_v = 0.2, Vc = clip(v, vo − 0.2, vo + 0.2):
	//   t0: vo 0, v 0.5, R 1:   Vc 0.2; (v−R)² 0.25 < (Vc−R)² 0.64 → ℓ = 0.32, clipped, grad 0
	//   t1: vo 0, v 0.5, R 0:   Vc 0.2; 0.25 > 0.04 → ℓ = 0.125, grad v − R = 0.5
	//   t2: vo 0, v 0.1, R 1:   Vc = v; 0.81 = 0.81 (tie, not clipped) → ℓ = 0.405, grad −0.9
	//   t3: vo 1, v 0,   R 0.5: Vc 0.8; 0.25 > 0.09 → ℓ = 0.125, grad −0.5
	// Σℓ = 0.975; Loss = 0.24375; ClipFrac = 1/4; grads = [0, 0.5, −0.9, −0.5]/4.
	vNew, vOld, ret := []float64{0.5, 0.5, 0.1, 0}, []float64{0, 0, 0, 1}, []float64{1, 0, 1, 0.5}
	// A pad slot t4: vo 0, v 1, R 0: Vc 0.2; 1 > 0.04 → ℓ = 0.5, grad 1. The seed keeps pads:
	// Loss = (0.975 + 0.5)/5 = 0.295, ClipFrac = 1/5, grads = [0, 0.5, −0.9, −0.5, 1]/5.
	pNew, pOld, pRet := append(append([]float64{}, vNew...), 1), append(append([]float64{}, vOld...), 0),
		append(append([]float64{}, ret...), 0)
	for _, c := range []lossCase{
		{"four regimes", 4, vNew, vOld, ret, 4, false, 0.24375, 0.25, 0, []float64{0, 0.125, -0.225, -0.125}},
		{"pads in the mean (seed)", 5, pNew, pOld, pRet, 4, false, 0.295, 0.2, 0, []float64{0, 0.1, -0.18, -0.1, 0.2}},
		{"non-pad mean", 5, pNew, pOld, pRet, 4, true, 0.24375, 0.25, 0, []float64{0, 0.125, -0.225, -0.125, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := gpu.LossParams{ClipRange: 0.2, ClipRangeValue: 0.2, NonPadMean: c.nonPad}
			lens := []int32{c.length}
			st, err := d.ValueLossForward(f32(c.a), f32(c.b), f32(c.c), lens, p, 1, c.T)
			must(t, err)
			checkScalar(t, "loss", st.Loss, c.wantLoss, exact)
			checkScalar(t, "clipfrac", st.ClipFrac, c.wantClip, exact)
			g := guarded(c.T, 0)
			must(t, d.ValueLossBackward(g.S, f32(c.a), f32(c.b), f32(c.c), lens, 1, p, 1, c.T))
			check(t, "dv", g.S, c.wantGrads, exact)
			g.Check(t, "dv")
		})
	}
}
