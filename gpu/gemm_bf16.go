package gpu

import (
	"fmt"
	"math"
)

// The cublas-bf16 product: cuBLAS, given float32 operands and CUBLAS_COMPUTE_32F_FAST_16BF,
// rounded them as TF32 does, with cublas-tf32's errors and speed (TestGemmPrecisionOnCUDA on an
// H200, cuBLAS 13). So this mode converts A and B to bf16 first (kernels/bf16.cu) and hands
// cuBLAS bf16 operands, a float32 C and float32 accumulation: bf16 tensor cores for real.

// bf16Mode is the GemmBackend mode whose operands are bf16 (converted by the device).
const bf16Mode = "cublas-bf16"

// ToBF16 writes bf16(src[i]) (round to nearest, ties to even; the 16 bits of each) to dst for
// i < n; dst holds 2·n bytes.
func (q *Queue) ToBF16(dst, src Ptr, n int) {
	switch {
	case n > math.MaxInt32: // the kernel counts in int
		q.c.fail("to_bf16", fmt.Errorf("%d elements, at most %d", n, math.MaxInt32))
	case n > 0:
		q.c.launch("to_bf16", blocks(n), dst, src, int32(n))
	}
}

// bf16Copy converts the float32 matrix at p (rows rows of cols values, ld apart) to bf16 in a
// new buffer of the same layout (the gaps between rows are converted too: they are in range).
func (c *call) bf16Copy(p Ptr, rows, cols, ld int) Ptr {
	n := (rows-1)*ld + cols
	q := c.alloc(int64(2 * n))
	(&Queue{c}).ToBF16(q, p, n)
	return q
}

// release gives buffer p, taken by this call, back to the pool before the call ends. That is
// safe because launches, copies and cuBLAS products run in order on one stream: whatever takes
// the buffer next runs after the work that used it.
func (c *call) release(p Ptr) {
	for i := len(c.bufs) - 1; i >= 0; i-- {
		if b := c.bufs[i]; b.ptr == uint64(p) {
			c.bufs = append(c.bufs[:i], c.bufs[i+1:]...)
			c.d.pool[b.size] = append(c.d.pool[b.size], b.ptr)
			return
		}
	}
}
