package gpu

import "fmt"

// Device runs the PPO numeric core. Every method documents its exact math on the CPU
// implementation (cpu.go); an implementation must match CPU within the tolerances of the
// conformance suite (gpu/gputest). Shapes: B rollouts, T response slots, N elements.
//
// The order in one PPO step (reference §4.3–4.5):
//
//	KL → ShapeRewards → GAE → Whiten(advantages, over the whole rollout batch)
//	then per micro-batch: PolicyLossForward/Backward, ValueLossForward/Backward (dloss = vf_coef)
type Device interface {
	// KL writes the clamped k1 estimate per token; pads are 0.
	KL(kl, logpOld, logpRef []float32, lengths []int32, B, T int) error
	// ShapeRewards writes the shaped, scaled per-token rewards.
	ShapeRewards(rewards, kl, score []float32, hasStop []bool, lengths []int32, p RewardParams, B, T int) error
	// GAE writes advantages and returns from rewards and values (all T slots, pads included).
	GAE(adv, ret, rewards, values []float32, gamma, lambda float32, B, T int) error
	// Whiten writes (x − mean)/(std + eps) over all N elements and returns mean and std.
	Whiten(dst, x []float32, eps float32, N int) (mean, std float32, err error)

	// PolicyLossForward returns the clipped policy loss and its statistics.
	PolicyLossForward(logpNew, logpOld, adv []float32, lengths []int32, p LossParams, B, T int) (PolicyStats, error)
	// PolicyLossBackward accumulates dloss·∂L_pg/∂logpNew into dlogp.
	PolicyLossBackward(dlogp, logpNew, logpOld, adv []float32, lengths []int32, dloss float32, p LossParams, B, T int) error
	// ValueLossForward returns the clipped value loss and its statistics.
	ValueLossForward(vNew, vOld, ret []float32, lengths []int32, p LossParams, B, T int) (ValueStats, error)
	// ValueLossBackward accumulates dloss·∂L_vf/∂vNew into dv.
	ValueLossBackward(dv, vNew, vOld, ret []float32, lengths []int32, dloss float32, p LossParams, B, T int) error

	// Close frees what the device holds. The device must not be used afterwards.
	Close() error
}

// RewardParams are the reward-shaping constants (reference §4.2, §4.4).
type RewardParams struct {
	KLCoef      float32 // β, the per-token KL penalty coefficient (seed: 0.1, fixed controller)
	StopPenalty float32 // added to the RM score when the response has no stop token (seed: −8)
	LengthBonus float32 // times length/T, added to the RM score (seed: −10, a length penalty)
	Scale       float32 // multiplies every shaped reward (seed: 10, the whiten_rewards=False branch)
}

// LossParams are the PPO loss constants (reference §4.2, §4.5).
type LossParams struct {
	ClipRange      float32 // ε for the ratio: clip(ρ, 1−ε, 1+ε) (seed: 0.2)
	ClipRangeValue float32 // ε_v for the value: clip(V, V_old−ε_v, V_old+ε_v) (seed: 0.2)
	// NonPadMean averages the losses and their statistics over the non-pad slots only
	// (Σ_b lengths[b] of them). The seed averages over all B·T slots, pads included (false).
	NonPadMean bool
}

// Params gathers every PPO constant of the numeric core.
type Params struct {
	Reward        RewardParams
	Gamma, Lambda float32 // GAE discount and trace decay (seed: 1, 1)
	WhitenEps     float32 // added to the population std when whitening advantages (seed: 1e-8)
	Loss          LossParams
	VFCoef        float32 // loss = L_pg + VFCoef·L_vf (seed: 0.1)
}

// SeedParams returns the seed's values (reference §4.2).
func SeedParams() Params {
	return Params{
		Reward:    RewardParams{KLCoef: 0.1, StopPenalty: -8, LengthBonus: -10, Scale: 10},
		Gamma:     1,
		Lambda:    1,
		WhitenEps: 1e-8,
		Loss:      LossParams{ClipRange: 0.2, ClipRangeValue: 0.2},
		VFCoef:    0.1,
	}
}

// PolicyStats is what the learner logs from the policy loss. Means are over the same slots as the
// loss (all B·T, or the non-pad ones with NonPadMean).
type PolicyStats struct {
	Loss     float32 // L_pg
	ClipFrac float32 // fraction of slots where the clipped term is strictly larger
	ApproxKL float32 // ½·mean((logπ_θ − logπ_old)²)
}

// ValueStats is what the learner logs from the value loss.
type ValueStats struct {
	Loss     float32 // L_vf
	ClipFrac float32 // fraction of slots where the clipped squared error is strictly larger
}

// TotalLoss is the seed's PPO objective, L_pg + vfCoef·L_vf. Its gradient is PolicyLossBackward
// with dloss and ValueLossBackward with vfCoef·dloss.
func TotalLoss(pg PolicyStats, vf ValueStats, vfCoef float32) float32 {
	return pg.Loss + vfCoef*vf.Loss
}

// checkBT panics unless B, T ≥ 0 and every slice holds at least B·T elements.
func checkBT(op string, B, T int, xs ...[]float32) {
	if B < 0 || T < 0 {
		panic(fmt.Sprintf("gpu: %s: negative shape B=%d T=%d", op, B, T))
	}
	for i, x := range xs {
		if len(x) < B*T {
			panic(fmt.Sprintf("gpu: %s: slice %d has %d elements, want B·T = %d", op, i, len(x), B*T))
		}
	}
}

// checkB panics unless every slice holds at least B elements.
func checkB(op string, B int, xs ...[]float32) {
	for i, x := range xs {
		if len(x) < B {
			panic(fmt.Sprintf("gpu: %s: per-rollout slice %d has %d elements, want B = %d", op, i, len(x), B))
		}
	}
}

// checkLengths panics unless lengths holds B values in [0, T].
func checkLengths(op string, lengths []int32, B, T int) {
	if len(lengths) < B {
		panic(fmt.Sprintf("gpu: %s: lengths has %d elements, want B = %d", op, len(lengths), B))
	}
	for b, n := range lengths[:B] {
		if n < 0 || int(n) > T {
			panic(fmt.Sprintf("gpu: %s: lengths[%d] = %d outside [0, T=%d]", op, b, n, T))
		}
	}
}
