package model

// MatmulFLOPs counts the floating-point operations of the matrix products in one training step
// (forward + backward) on a batch of B rows of T positions: each Linear of N×C → OC costs 2·N·C·OC
// forward and twice that backward (input and weight gradients; the patch embedding has no input
// gradient); each attention head costs 2·T²·hs for scores and 2·T²·hs for the weighted sum
// forward, and twice that backward. Element-wise work is not counted.
func (m *Model) MatmulFLOPs(B, T int) float64 {
	c, v := m.Config, m.Config.Vision
	N := float64(B * T)
	Nv := float64(B * v.NumFrames * v.Patches())
	lin := func(rows, in, out float64) float64 { return 6 * rows * in * out }
	C, H, hs := float64(c.HiddenSize), float64(c.IntermediateSize), float64(c.HeadDim())
	qd, kvd := float64(c.NumAttentionHeads)*hs, float64(c.NumKeyValueHeads)*hs
	f := 4 * Nv * float64(v.PatchDim()) * float64(v.HiddenSize) // patch embedding: no input gradient
	for l := 0; l < v.NumHiddenLayers; l++ {
		f += 2 * lin(Nv, float64(v.HiddenSize), float64(v.IntermediateSize))
	}
	f += lin(Nv, float64(v.HiddenSize), C) + lin(Nv, C, C)
	perLayer := lin(N, C, qd) + 2*lin(N, C, kvd) + lin(N, qd, C) + 3*lin(N, C, H)
	attn := 3 * 4 * float64(B*c.NumAttentionHeads) * float64(T) * float64(T) * hs
	f += float64(c.NumHiddenLayers) * (perLayer + attn)
	f += lin(N, C, float64(c.VocabSize))
	return f
}
