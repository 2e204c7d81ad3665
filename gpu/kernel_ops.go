package gpu

// The PPO operations on the GPU. Shape checks, N_L and argument order are gpu.CPU's; the
// kernels (gpu/kernels/*.cu) state the math they compute.

// KL: see CPU.KL.
func (d *KernelDevice) KL(kl, logpOld, logpRef []float32, lengths []int32, B, T int) error {
	checkBT("KL", B, T, kl, logpOld, logpRef)
	checkLengths("KL", lengths, B, T)
	n := B * T
	if n == 0 {
		return nil
	}
	return d.do(func(c *call) {
		out, po, pr, pl := c.alloc(int64(4*n)), c.f32(logpOld[:n]), c.f32(logpRef[:n]), c.i32(lengths[:B])
		c.launch("ppo_kl", blocks(n), out, po, pr, pl, int32(B), int32(T))
		c.f32back(kl[:n], out)
	})
}

// ShapeRewards: see CPU.ShapeRewards.
func (d *KernelDevice) ShapeRewards(rewards, kl, score []float32, hasStop []bool, lengths []int32, p RewardParams, B, T int) error {
	checkBT("ShapeRewards", B, T, rewards, kl)
	checkB("ShapeRewards", B, score)
	checkLengths("ShapeRewards", lengths, B, T)
	if len(hasStop) < B {
		panic("gpu: ShapeRewards: hasStop shorter than B")
	}
	n := B * T
	if n == 0 {
		return nil
	}
	stop := make([]byte, B)
	for b, s := range hasStop[:B] {
		if s {
			stop[b] = 1
		}
	}
	return d.do(func(c *call) {
		out, pk, ps, pst, pl := c.alloc(int64(4*n)), c.f32(kl[:n]), c.f32(score[:B]), c.bytes(stop), c.i32(lengths[:B])
		c.launch("ppo_shape_rewards", blocks(n), out, pk, ps, pst, pl,
			p.KLCoef, p.StopPenalty, p.LengthBonus, p.Scale, int32(B), int32(T))
		c.f32back(rewards[:n], out)
	})
}

// GAE: see CPU.GAE.
func (d *KernelDevice) GAE(adv, ret, rewards, values []float32, gamma, lambda float32, B, T int) error {
	checkBT("GAE", B, T, adv, ret, rewards, values)
	n := B * T
	if n == 0 {
		return nil
	}
	return d.do(func(c *call) {
		pa, pt, pr, pv := c.alloc(int64(4*n)), c.alloc(int64(4*n)), c.f32(rewards[:n]), c.f32(values[:n])
		c.launch("ppo_gae", blocks(B), pa, pt, pr, pv, gamma, lambda, int32(B), int32(T))
		c.f32back(adv[:n], pa)
		c.f32back(ret[:n], pt)
	})
}

// Whiten: see CPU.Whiten.
func (d *KernelDevice) Whiten(dst, x []float32, eps float32, N int) (mean, std float32, err error) {
	checkBT("Whiten", 1, N, dst, x)
	if N == 0 {
		return 0, 0, nil
	}
	stats := make([]float64, 2)
	err = d.do(func(c *call) {
		out, ps, px := c.alloc(int64(4*N)), c.alloc(16), c.f32(x[:N])
		c.launch("ppo_whiten", 1, out, ps, px, eps, int32(N))
		c.f32back(dst[:N], out)
		c.f64back(stats, ps)
	})
	return float32(stats[0]), float32(stats[1]), err
}

// flag is a bool as a kernel's int argument.
func flag(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// PolicyLossForward: see CPU.PolicyLossForward.
func (d *KernelDevice) PolicyLossForward(logpNew, logpOld, adv []float32, lengths []int32, p LossParams, B, T int) (PolicyStats, error) {
	checkBT("PolicyLossForward", B, T, logpNew, logpOld, adv)
	checkLengths("PolicyLossForward", lengths, B, T)
	n := B * T
	sums := make([]float64, 3)
	if n > 0 {
		err := d.do(func(c *call) {
			ps, pn, po, pa, pl := c.alloc(24), c.f32(logpNew[:n]), c.f32(logpOld[:n]), c.f32(adv[:n]), c.i32(lengths[:B])
			c.launch("ppo_policy_loss_fwd", 1, ps, pn, po, pa, pl, p.ClipRange, flag(p.NonPadMean), int32(B), int32(T))
			c.f64back(sums, ps)
		})
		if err != nil {
			return PolicyStats{}, err
		}
	}
	nl := meanCount(lengths, p, B, T)
	return PolicyStats{Loss: float32(sums[0] / nl), ClipFrac: float32(sums[1] / nl), ApproxKL: float32(0.5 * sums[2] / nl)}, nil
}

// PolicyLossBackward: see CPU.PolicyLossBackward.
func (d *KernelDevice) PolicyLossBackward(dlogp, logpNew, logpOld, adv []float32, lengths []int32, dloss float32, p LossParams, B, T int) error {
	checkBT("PolicyLossBackward", B, T, dlogp, logpNew, logpOld, adv)
	checkLengths("PolicyLossBackward", lengths, B, T)
	n := B * T
	if n == 0 {
		return nil
	}
	scale := float64(dloss) / meanCount(lengths, p, B, T)
	return d.do(func(c *call) {
		pd, pn, po, pa, pl := c.f32(dlogp[:n]), c.f32(logpNew[:n]), c.f32(logpOld[:n]), c.f32(adv[:n]), c.i32(lengths[:B])
		c.launch("ppo_policy_loss_bwd", blocks(n), pd, pn, po, pa, pl, p.ClipRange, scale, int32(B), int32(T))
		c.f32back(dlogp[:n], pd)
	})
}

// ValueLossForward: see CPU.ValueLossForward.
func (d *KernelDevice) ValueLossForward(vNew, vOld, ret []float32, lengths []int32, p LossParams, B, T int) (ValueStats, error) {
	checkBT("ValueLossForward", B, T, vNew, vOld, ret)
	checkLengths("ValueLossForward", lengths, B, T)
	n := B * T
	sums := make([]float64, 2)
	if n > 0 {
		err := d.do(func(c *call) {
			ps, pn, po, pr, pl := c.alloc(16), c.f32(vNew[:n]), c.f32(vOld[:n]), c.f32(ret[:n]), c.i32(lengths[:B])
			c.launch("ppo_value_loss_fwd", 1, ps, pn, po, pr, pl, p.ClipRangeValue, flag(p.NonPadMean), int32(B), int32(T))
			c.f64back(sums, ps)
		})
		if err != nil {
			return ValueStats{}, err
		}
	}
	nl := meanCount(lengths, p, B, T)
	return ValueStats{Loss: float32(sums[0] / nl), ClipFrac: float32(sums[1] / nl)}, nil
}

// ValueLossBackward: see CPU.ValueLossBackward.
func (d *KernelDevice) ValueLossBackward(dv, vNew, vOld, ret []float32, lengths []int32, dloss float32, p LossParams, B, T int) error {
	checkBT("ValueLossBackward", B, T, dv, vNew, vOld, ret)
	checkLengths("ValueLossBackward", lengths, B, T)
	n := B * T
	if n == 0 {
		return nil
	}
	scale := float64(dloss) / meanCount(lengths, p, B, T)
	return d.do(func(c *call) {
		pd, pn, po, pr, pl := c.f32(dv[:n]), c.f32(vNew[:n]), c.f32(vOld[:n]), c.f32(ret[:n]), c.i32(lengths[:B])
		c.launch("ppo_value_loss_bwd", blocks(n), pd, pn, po, pr, pl, p.ClipRangeValue, flag(p.NonPadMean), scale, int32(B), int32(T))
		c.f32back(dv[:n], pd)
	})
}
