package gpu

import "math"

// CPU is the reference Device: naive loops, float32 storage, float64 sums and recursions. It holds
// no state; the zero value is ready to use. Every method returns a nil error.
//
// The math below is the seed's (reference vlm-rlaif.md §4.4–4.5), checked against the independent
// golden values in gputest/testdata/golden.json. Notation: b ∈ [0,B), t ∈ [0,T),
// len[b] = lengths[b], pad(b,t) ⇔ t ≥ len[b], N_L = B·T (or Σ_b len[b] with NonPadMean).
type CPU struct{}

var _ Device = CPU{}

// KL: kl[b,t] = max(0, logpOld[b,t] − logpRef[b,t]) for t < len[b], and 0 on pads.
//
// This is the seed's k1 estimate clamped at 0. The seed's log-probs are 0 on pads (ignore_index),
// which makes its kl 0 there; here pads are masked by lengths and their log-probs are not read.
// kl, logpOld, logpRef [B,T], lengths [B]. kl may alias an input.
func (CPU) KL(kl, logpOld, logpRef []float32, lengths []int32, B, T int) error {
	checkBT("KL", B, T, kl, logpOld, logpRef)
	checkLengths("KL", lengths, B, T)
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			i := b*T + t
			d := float32(0)
			if t < int(lengths[b]) {
				d = max(0, logpOld[i]-logpRef[i])
			}
			kl[i] = d
		}
	}
	return nil
}

// ShapeRewards:
//
//	s[b,t]    = −β·kl[b,t]·[t < len[b]]
//	s[b,T−1] += score[b] + StopPenalty·[¬hasStop[b]] + LengthBonus·len[b]/T
//	rewards   = Scale·s
//
// with β = KLCoef. The terminal term always lands on the last slot T−1, padded or not, as in the
// seed (with γ = λ = 1 this gives the same advantages on tokens as putting it on the last token).
// T must be the response length the seed pads to (896): the length term divides by it. The seed's
// correctness bonus (2.0·correct, inert) and reward_bias (0) are not terms here; fold them into
// score if ever needed. The stop penalty is the seed's relative one (added, not a replacement).
// rewards, kl [B,T]; score, hasStop, lengths [B]. rewards may alias kl.
func (CPU) ShapeRewards(rewards, kl, score []float32, hasStop []bool, lengths []int32, p RewardParams, B, T int) error {
	checkBT("ShapeRewards", B, T, rewards, kl)
	checkB("ShapeRewards", B, score)
	checkLengths("ShapeRewards", lengths, B, T)
	if len(hasStop) < B {
		panic("gpu: ShapeRewards: hasStop shorter than B")
	}
	if T == 0 {
		return nil
	}
	for b := 0; b < B; b++ {
		n := int(lengths[b])
		row, klr := rewards[b*T:(b+1)*T], kl[b*T:(b+1)*T]
		for t := range row {
			s := 0.0
			if t < n {
				s = -float64(p.KLCoef) * float64(klr[t])
			}
			if t == T-1 {
				s += terminal(score[b], hasStop[b], n, T, p)
			}
			row[t] = float32(float64(p.Scale) * s)
		}
	}
	return nil
}

// terminal is score + StopPenalty·[¬hasStop] + LengthBonus·n/T, in float64.
func terminal(score float32, hasStop bool, n, T int, p RewardParams) float64 {
	r := float64(score) + float64(p.LengthBonus)*float64(n)/float64(T)
	if !hasStop {
		r += float64(p.StopPenalty)
	}
	return r
}

// GAE, generalised advantage estimation over all T slots of each row (pads included, as the seed):
//
//	δ[b,t]   = rewards[b,t] + γ·V[b,t+1] − V[b,t],   V[b,T] := 0
//	adv[b,t] = δ[b,t] + γ·λ·adv[b,t+1],               adv[b,T] := 0
//	ret[b,t] = adv[b,t] + V[b,t]
//
// With γ = λ = 1, adv[b,t] = Σ_{k≥t} rewards[b,k] − V[b,t]. The recursion runs in float64.
// adv, ret, rewards, values [B,T]; adv and ret must not alias rewards or values.
func (CPU) GAE(adv, ret, rewards, values []float32, gamma, lambda float32, B, T int) error {
	checkBT("GAE", B, T, adv, ret, rewards, values)
	g, gl := float64(gamma), float64(gamma)*float64(lambda)
	for b := 0; b < B; b++ {
		var next, a float64 // V[b,t+1] and adv[b,t+1]
		for t := T - 1; t >= 0; t-- {
			i := b*T + t
			v := float64(values[i])
			a = float64(rewards[i]) + g*next - v + gl*a
			adv[i] = float32(a)
			ret[i] = float32(a + v)
			next = v
		}
	}
	return nil
}

// Whiten: dst[i] = (x[i] − μ)/(σ + eps), μ = mean_i x[i], σ = sqrt(mean_i (x[i] − μ)²) over all
// N elements (population std, two passes in float64). It returns μ and σ.
//
// The seed whitens the advantages of the whole rollout batch (all B_global·T entries, pads
// included, full_batch statistics) with eps = 1e-8 and shift_mean=True: the mean is removed and not
// added back. The seed asserts at least 8 rows; this does not. dst, x [N]; dst may alias x.
func (CPU) Whiten(dst, x []float32, eps float32, N int) (mean, std float32, err error) {
	checkBT("Whiten", 1, N, dst, x)
	if N == 0 {
		return 0, 0, nil
	}
	var s float64
	for _, v := range x[:N] {
		s += float64(v)
	}
	mu := s / float64(N)
	var ss float64
	for _, v := range x[:N] {
		d := float64(v) - mu
		ss += d * d
	}
	sigma := math.Sqrt(ss / float64(N))
	inv := 1 / (sigma + float64(eps))
	for i, v := range x[:N] {
		dst[i] = float32((float64(v) - mu) * inv)
	}
	return float32(mu), float32(sigma), nil
}

// meanCount is N_L: B·T, or Σ_b len[b] with NonPadMean. It is at least 1.
func meanCount(lengths []int32, p LossParams, B, T int) float64 {
	if !p.NonPadMean {
		return float64(max(1, B*T))
	}
	n := 0
	for _, l := range lengths[:B] {
		n += int(l)
	}
	return float64(max(1, n))
}

// ratio is ρ = exp(logpNew − logpOld) on tokens and 1 on pads (the seed's log-probs are both 0
// there), together with the log-ratio.
func ratio(logpNew, logpOld float32, pad bool) (rho, logr float64) {
	if pad {
		return 1, 0
	}
	logr = float64(logpNew) - float64(logpOld)
	return math.Exp(logr), logr
}

// PolicyLossForward, the clipped surrogate with ρ[b,t] = exp(logpNew − logpOld) on tokens and
// ρ = 1 on pads (pad log-probs are not read):
//
//	ℓ[b,t]   = max(−Â·ρ, −Â·clip(ρ, 1−ε, 1+ε)),   Â = adv[b,t] (whitened)
//	Loss     = Σ ℓ / N_L
//	ClipFrac = Σ [−Â·clip(ρ) > −Â·ρ] / N_L
//	ApproxKL = ½ · Σ (logpNew − logpOld)² / N_L      (0 on pads)
//
// Without NonPadMean the sums run over all B·T slots and N_L = B·T: each pad adds −Â[b,t] to the
// sum (the seed's quirk, reference §4.5). With NonPadMean they run over tokens only and
// N_L = Σ len. ε = ClipRange. logpNew, logpOld, adv [B,T], lengths [B].
func (CPU) PolicyLossForward(logpNew, logpOld, adv []float32, lengths []int32, p LossParams, B, T int) (PolicyStats, error) {
	checkBT("PolicyLossForward", B, T, logpNew, logpOld, adv)
	checkLengths("PolicyLossForward", lengths, B, T)
	lo, hi := 1-float64(p.ClipRange), 1+float64(p.ClipRange)
	var loss, clipped, kl float64
	for b := 0; b < B; b++ {
		for t := 0; t < T; t++ {
			pad := t >= int(lengths[b])
			if pad && p.NonPadMean {
				continue
			}
			i := b*T + t
			rho, logr := ratio(logpNew[i], logpOld[i], pad)
			a := float64(adv[i])
			l1, l2 := -a*rho, -a*min(max(rho, lo), hi)
			loss += max(l1, l2)
			if l2 > l1 {
				clipped++
			}
			kl += logr * logr
		}
	}
	n := meanCount(lengths, p, B, T)
	return PolicyStats{Loss: float32(loss / n), ClipFrac: float32(clipped / n), ApproxKL: float32(0.5 * kl / n)}, nil
}

// PolicyLossBackward: dlogp[b,t] += dloss · ∂Loss/∂logpNew[b,t], with ρ, Â, ε, N_L as in
// PolicyLossForward:
//
//	∂Loss/∂logpNew[b,t] = −Â·ρ / N_L   if −Â·ρ ≥ −Â·clip(ρ, 1−ε, 1+ε) (unclipped term is the max)
//	                    = 0            otherwise (the clipped term is constant in ρ)
//	                    = 0            on pads (the seed's pad log-prob is a constant 0)
//
// Ties (ρ inside [1−ε, 1+ε]) give −Â·ρ/N_L, as torch.maximum's half-and-half split does.
// dlogp, logpNew, logpOld, adv [B,T], lengths [B].
func (CPU) PolicyLossBackward(dlogp, logpNew, logpOld, adv []float32, lengths []int32, dloss float32, p LossParams, B, T int) error {
	checkBT("PolicyLossBackward", B, T, dlogp, logpNew, logpOld, adv)
	checkLengths("PolicyLossBackward", lengths, B, T)
	lo, hi := 1-float64(p.ClipRange), 1+float64(p.ClipRange)
	scale := float64(dloss) / meanCount(lengths, p, B, T)
	for b := 0; b < B; b++ {
		for t := 0; t < int(lengths[b]); t++ {
			i := b*T + t
			rho, _ := ratio(logpNew[i], logpOld[i], false)
			a := float64(adv[i])
			if l1, l2 := -a*rho, -a*min(max(rho, lo), hi); l1 >= l2 {
				dlogp[i] += float32(scale * l1)
			}
		}
	}
	return nil
}

// ValueLossForward, the clipped value loss:
//
//	Vc[b,t]  = clip(vNew, vOld − ε_v, vOld + ε_v)
//	ℓ[b,t]   = ½ · max((vNew − ret)², (Vc − ret)²)
//	Loss     = Σ ℓ / N_L
//	ClipFrac = Σ [(Vc − ret)² > (vNew − ret)²] / N_L
//
// Without NonPadMean the sums run over all B·T slots, pads included with their values (the seed's
// value head runs at every position); with NonPadMean over tokens only. ε_v = ClipRangeValue.
// vNew, vOld, ret [B,T], lengths [B].
func (CPU) ValueLossForward(vNew, vOld, ret []float32, lengths []int32, p LossParams, B, T int) (ValueStats, error) {
	checkBT("ValueLossForward", B, T, vNew, vOld, ret)
	checkLengths("ValueLossForward", lengths, B, T)
	var loss, clipped float64
	for b := 0; b < B; b++ {
		n := T
		if p.NonPadMean {
			n = int(lengths[b])
		}
		for t := 0; t < n; t++ {
			e1, e2 := valueErrors(vNew[b*T+t], vOld[b*T+t], ret[b*T+t], p.ClipRangeValue)
			loss += 0.5 * max(e1*e1, e2*e2)
			if e2*e2 > e1*e1 {
				clipped++
			}
		}
	}
	n := meanCount(lengths, p, B, T)
	return ValueStats{Loss: float32(loss / n), ClipFrac: float32(clipped / n)}, nil
}

// valueErrors returns vNew − ret and clip(vNew, vOld−eps, vOld+eps) − ret in float64.
func valueErrors(vNew, vOld, ret, eps float32) (e1, e2 float64) {
	v, o, r, e := float64(vNew), float64(vOld), float64(ret), float64(eps)
	return v - r, min(max(v, o-e), o+e) - r
}

// ValueLossBackward: dv[b,t] += dloss · ∂Loss/∂vNew[b,t], with Vc, N_L as in ValueLossForward:
//
//	∂Loss/∂vNew[b,t] = (vNew − ret) / N_L   if (vNew − ret)² ≥ (Vc − ret)²
//	                 = 0                    otherwise (then vNew is outside the clip range, where
//	                                        Vc is constant)
//
// on every slot the loss sums over (pads too, without NonPadMean); 0 elsewhere. A tie with vNew
// outside the clip range (vNew and Vc mirrored about ret) gets the full (vNew − ret)/N_L where
// torch.maximum would give half; such ties have measure zero. The seed adds
// this loss with weight vf_coef: call with dloss = VFCoef·(upstream gradient).
// dv, vNew, vOld, ret [B,T], lengths [B].
func (CPU) ValueLossBackward(dv, vNew, vOld, ret []float32, lengths []int32, dloss float32, p LossParams, B, T int) error {
	checkBT("ValueLossBackward", B, T, dv, vNew, vOld, ret)
	checkLengths("ValueLossBackward", lengths, B, T)
	scale := float64(dloss) / meanCount(lengths, p, B, T)
	for b := 0; b < B; b++ {
		n := T
		if p.NonPadMean {
			n = int(lengths[b])
		}
		for t := 0; t < n; t++ {
			i := b*T + t
			if e1, e2 := valueErrors(vNew[i], vOld[i], ret[i], p.ClipRangeValue); e1*e1 >= e2*e2 {
				dv[i] += float32(scale * e1)
			}
		}
	}
	return nil
}

// Close does nothing.
func (CPU) Close() error { return nil }
