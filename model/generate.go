package model

// Greedy continues prompt (token ids, −1 at the video positions starting at videoAt, or videoAt
// −1 for none) with the most likely token until eos or maxNew tokens, and returns the new tokens.
// It recomputes the whole sequence at each step (no KV cache yet), which is fine for the short
// answers it is used for in evaluation.
func (m *Model) Greedy(prompt []int32, videoAt int, patches []float32, maxNew, eos int) ([]int32, error) {
	seq := append([]int32(nil), prompt...)
	var out []int32
	for len(out) < maxNew && len(seq) < m.Config.MaxPositionEmbeddings {
		b := &Batch{B: 1, T: len(seq), Tokens: seq, Targets: make([]int32, len(seq)), VideoAt: []int{videoAt}, Patches: patches}
		for i := range b.Targets {
			b.Targets[i] = IgnoreIndex
		}
		if _, err := m.Forward(b); err != nil {
			return out, err
		}
		logits := m.Logits(len(seq) - 1)
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		if best == eos {
			break
		}
		out = append(out, int32(best))
		seq = append(seq, int32(best))
	}
	return out, nil
}
