package blas_test

import (
	"fmt"

	"github.com/vrlaif/vrlaif/internal/blas"
)

// A 2×3 times 3×2 product, row-major.
func ExampleSgemm() {
	a := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	b := []float32{
		7, 8,
		9, 10,
		11, 12,
	}
	c := make([]float32, 2*2)
	blas.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [58 64 139 154]
}

// The weight gradient dW = Xᵀ·dY of a linear layer Y = X·W, accumulated (beta = 1) over two
// micro-batches without materializing Xᵀ.
func ExampleSgemm_transposed() {
	x := []float32{1, 2, 3, 4}  // 2 tokens × 2 inputs
	dy := []float32{1, 0, 0, 1} // 2 tokens × 2 outputs
	dw := make([]float32, 2*2)
	for range 2 {
		blas.Sgemm(true, false, 2, 2, 2, 1, x, 2, dy, 2, 1, dw, 2)
	}
	fmt.Println(dw)
	// Output: [2 6 4 8]
}
