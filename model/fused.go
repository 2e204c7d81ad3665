package model

// Fused products. q, k and v (and gate and up) of a layer are laid out back to back in the flat
// weight buffer, so together they form one [Σ widths, C] matrix: one wide product replaces
// several narrow ones, which OpenBLAS runs much closer to its peak (N×128×128 products reach
// about half of it, N×256×128 and wider most of it). The columns are split afterwards.

// fusedForward: with W = the rows of the modules starting at first (widths[i] rows each),
// y = inp·Wᵀ [N, Σwidths] into scratch, then outs[i] = the i-th column block of y.
func (m *Model) fusedForward(first string, outs [][]float32, widths []int, inp, scratch []float32, N, C int) {
	total := sum(widths)
	p := m.byName[first]
	y := scratch[:N*total]
	MatmulForward(y, inp, m.W[p.Offset:p.Offset+total*C], nil, N, C, total)
	off := 0
	for i, w := range widths {
		for n := 0; n < N; n++ {
			copy(outs[i][n*w:(n+1)*w], y[n*total+off:n*total+off+w])
		}
		off += w
	}
}

// fusedBackward gathers douts into dy [N, Σwidths] and does dinp += dy·W and dW += dyᵀ·inp in
// two products (instead of two per module).
func (m *Model) fusedBackward(first string, dinp []float32, douts [][]float32, widths []int, inp, scratch []float32, N, C int) {
	total := sum(widths)
	p := m.byName[first]
	dy := scratch[:N*total]
	off := 0
	for i, w := range widths {
		for n := 0; n < N; n++ {
			copy(dy[n*total+off:n*total+off+w], douts[i][n*w:(n+1)*w])
		}
		off += w
	}
	MatmulBackward(dinp, m.G[p.Offset:p.Offset+total*C], nil, dy, inp, m.W[p.Offset:p.Offset+total*C], N, C, total)
}

func sum(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}
