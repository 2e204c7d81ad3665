package train

import (
	"fmt"
	"time"
)

// logProbSlots runs m on the layout and returns the slot log-probabilities (0 on pads).
func logProbSlots(m ppoModel, s *slots, T int) ([]float32, error) {
	if _, err := m.Forward(s.batch); err != nil {
		return nil, err
	}
	lp, err := m.TokenLogProbs()
	if err != nil {
		return nil, err
	}
	return s.gather(lp, T, true), nil
}

// valueSlots runs m for its head's outputs alone (ForwardHeads) and returns them per slot.
func valueSlots(m ppoModel, s *slots, T int, head string) ([]float32, error) {
	if err := m.ForwardHeads(s.batch); err != nil {
		return nil, err
	}
	v, err := m.HeadOutputs(head)
	if err != nil {
		return nil, err
	}
	return s.gather(v, T, false), nil
}

// chunks splits n items into runs of at most size.
func chunks(n, size int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; lo += size {
		out = append(out, [2]int{lo, min(lo+size, n)})
	}
	return out
}

// Step runs one PPO step on a batch of rollouts (reference §4.4–4.5): reference log-probabilities
// and old values, KL, shaping, GAE, whitening over the whole batch, then NoptEpochs passes of
// shuffled micro-batches with the clipped policy and value losses, gradient accumulation,
// global-norm clipping and one optimizer step per Accum micro-batches. step counts from 0.
func (l *Learner) Step(rs []Rollout, patches map[string][]float32, step, version int) (StepMetrics, error) {
	start := time.Now()
	cfg, dev := l.Cfg, l.Dev
	T, B := cfg.Rollout.T, len(rs)
	met := StepMetrics{Step: step + 1, Version: version, Rollouts: B}
	if B == 0 {
		return met, fmt.Errorf("train: a PPO step needs rollouts")
	}
	pol, val, ref, err := l.models()
	if err != nil {
		return met, err
	}
	if l.dev != nil {
		if err := l.toDevice(); err != nil {
			return met, err
		}
	}
	// Old log-probs are the behaviour policy's (from the actor); ref log-probs and old values come
	// from forward passes here, in micro-batches.
	logpOld, logpRef, vOld := make([]float32, B*T), make([]float32, B*T), make([]float32, B*T)
	score, lengths, hasStop := make([]float32, B), make([]int32, B), make([]bool, B)
	for b, r := range rs {
		copy(logpOld[b*T:], r.LogProbs)
		score[b], lengths[b], hasStop[b] = r.Score, int32(len(r.Response)), r.HasStop
		met.Score += float64(r.Score) / float64(B)
		met.Reward += float64(r.Reward) / float64(B)
		met.Length += float64(len(r.Response)) / float64(B)
		met.Staleness += float64(version-r.Version) / float64(B)
		if r.HasStop {
			met.StopRate += 1 / float64(B)
		}
	}
	for _, c := range chunks(B, cfg.MicroBatch) {
		s, err := l.layout(rs[c[0]:c[1]], patches)
		if err != nil {
			return met, err
		}
		lref, err := logProbSlots(ref, s, T)
		if err != nil {
			return met, err
		}
		v, err := valueSlots(val, s, T, "value_head")
		if err != nil {
			return met, err
		}
		copy(logpRef[c[0]*T:], lref)
		copy(vOld[c[0]*T:], v)
	}
	met.Phase.Reference = time.Since(start).Seconds()
	t1 := time.Now()
	kl, rewards, adv, ret, white := make([]float32, B*T), make([]float32, B*T), make([]float32, B*T), make([]float32, B*T), make([]float32, B*T)
	p := cfg.Math
	if err := dev.KL(kl, logpOld, logpRef, lengths, B, T); err != nil {
		return met, err
	}
	if err := dev.ShapeRewards(rewards, kl, score, hasStop, lengths, p.Reward, B, T); err != nil {
		return met, err
	}
	if err := dev.GAE(adv, ret, rewards, vOld, p.Gamma, p.Lambda, B, T); err != nil {
		return met, err
	}
	if _, _, err := dev.Whiten(white, adv, p.WhitenEps, B*T); err != nil {
		return met, err
	}
	met.KLSum = meanF(kl) * float64(T)
	met.Phase.Advantage = time.Since(t1).Seconds()
	t2 := time.Now()
	lr := l.sched(step)
	met.LR = lr
	var n float64
	var entropy, entN float64
	for epoch := 0; epoch < cfg.NoptEpochs; epoch++ {
		perm := l.shuffle(B, step, epoch)
		for k, c := range chunks(B, cfg.MicroBatch) {
			idx := perm[c[0]:c[1]]
			mb := make([]Rollout, len(idx))
			sl := func(x []float32) []float32 {
				out := make([]float32, len(idx)*T)
				for j, i := range idx {
					copy(out[j*T:(j+1)*T], x[i*T:(i+1)*T])
				}
				return out
			}
			for j, i := range idx {
				mb[j] = rs[i]
			}
			mo, ma, mv, mr := sl(logpOld), sl(white), sl(vOld), sl(ret)
			s, err := l.layout(mb, patches)
			if err != nil {
				return met, err
			}
			mlen := s.lengths
			if k%cfg.Accum == 0 {
				if err := pol.ZeroGrad(); err != nil {
					return met, err
				}
				if err := val.ZeroGrad(); err != nil {
					return met, err
				}
			}
			logpNew, err := logProbSlots(pol, s, T)
			if err != nil {
				return met, err
			}
			if epoch == 0 {
				var at []int
				for j := range mb {
					for t := 0; t < int(mlen[j]); t++ {
						at = append(at, s.at[j*T+t])
					}
				}
				ents, err := pol.Entropies(at)
				if err != nil {
					return met, err
				}
				for _, e := range ents {
					entropy += float64(e)
					entN++
				}
			}
			pg, err := dev.PolicyLossForward(logpNew, mo, ma, mlen, p.Loss, len(mb), T)
			if err != nil {
				return met, err
			}
			dlogp := make([]float32, len(mb)*T)
			scale := 1 / float32(cfg.Accum)
			if err := dev.PolicyLossBackward(dlogp, logpNew, mo, ma, mlen, scale, p.Loss, len(mb), T); err != nil {
				return met, err
			}
			if err := pol.BackwardLogProbs(s.batch, s.scatter(dlogp), nil); err != nil {
				return met, err
			}
			vNew, err := valueSlots(val, s, T, "value_head")
			if err != nil {
				return met, err
			}
			vf, err := dev.ValueLossForward(vNew, mv, mr, mlen, p.Loss, len(mb), T)
			if err != nil {
				return met, err
			}
			dv := make([]float32, len(mb)*T)
			if err := dev.ValueLossBackward(dv, vNew, mv, mr, mlen, p.VFCoef*scale, p.Loss, len(mb), T); err != nil {
				return met, err
			}
			if err := val.BackwardHeads(s.batch, 0, map[string][]float32{"value_head": s.scatter(dv)}); err != nil {
				return met, err
			}
			met.PGLoss += float64(pg.Loss)
			met.VFLoss += float64(vf.Loss)
			met.ClipFrac += float64(pg.ClipFrac)
			met.ApproxKL += float64(pg.ApproxKL)
			met.VClipFrac += float64(vf.ClipFrac)
			n++
			if (k+1)%cfg.Accum == 0 || c[1] == B {
				if l.dev != nil {
					if err := l.optimizeDevice(lr); err != nil {
						return met, err
					}
				} else {
					l.optimize(lr)
				}
			}
		}
	}
	met.PGLoss, met.VFLoss, met.ClipFrac, met.ApproxKL, met.VClipFrac = met.PGLoss/n, met.VFLoss/n, met.ClipFrac/n, met.ApproxKL/n, met.VClipFrac/n
	if entN > 0 {
		met.Entropy = entropy / entN
	}
	if l.dev != nil {
		if err := l.fromDevice(); err != nil {
			return met, err
		}
	}
	met.Phase.Optimize = time.Since(t2).Seconds()
	met.Seconds = time.Since(start).Seconds()
	return met, nil
}

// optimize clips the global gradient norm of every trainable tensor (policy LoRA, value LoRA,
// value head) and steps the optimizers.
func (l *Learner) optimize(lr float32) {
	clipNorm(l.Cfg.MaxGradNorm, l.Policy.LoRA.G, append([][]float32{l.Value.LoRA.G}, headGrads(l.Value, l.head)...)...)
	l.optPol.Step(l.Policy.LoRA.W, l.Policy.LoRA.G, lr)
	l.optVal.Step(l.Value.LoRA.W, l.Value.LoRA.G, lr)
	l.optHead.Step(l.Value.W, l.Value.G, lr)
}
