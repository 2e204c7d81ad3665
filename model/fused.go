package model

// Fused products. q, k and v (and gate and up) of a layer are laid out back to back in the flat
// weight buffer, so together they form one [width, C] matrix: one wide product replaces several
// narrow ones, which OpenBLAS runs much closer to its peak (N×128×128 products reach about half
// of it, N×256×128 and wider most of it). The activations keep the fused layout, [N, width] with
// the modules' columns side by side, and the operations after the product (RoPE, attention,
// SwiGLU) read and write them in place through row strides: copying them apart and back cost a
// pass over memory per product, forward and backward.

// fusedForward: out = inp·Wᵀ [N, width], W = the width rows starting at module first.
func (m *Model) fusedForward(first string, out, inp []float32, N, C, width int) {
	p := m.byName[first]
	MatmulForward(out, inp, m.W[p.Offset:p.Offset+width*C], nil, N, C, width)
}

// fusedBackward: dinp = beta·dinp + dout·W and dW += doutᵀ·inp, for fusedForward's W.
func (m *Model) fusedBackward(first string, dinp []float32, beta float32, dout, inp []float32, N, C, width int) {
	p := m.byName[first]
	matmulBackward(dinp, beta, m.G[p.Offset:p.Offset+width*C], nil, dout, width, inp, m.W[p.Offset:p.Offset+width*C], N, C, width)
}
