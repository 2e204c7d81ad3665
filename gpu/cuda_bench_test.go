//go:build cuda

package gpu

import (
	"testing"
	"time"
)

// BenchmarkSgemmCUDA: matrix-product throughput on the GPU with the operands already in device
// memory (no copies timed), for each product the device has (GemmModes: our tiled sgemm kernel,
// cuBLAS in float32, on TF32 and on bf16 tensor cores, bf16's conversion included), for a square product and the learner's
// shapes (tokens × hidden → hidden). Reports GFLOP/s (2·M·N·K per product).
func BenchmarkSgemmCUDA(b *testing.B) {
	d, err := NewCUDA(0)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if be, ok := d.be.(*cudaBackend); ok {
		b.Logf("cuBLAS: %s", be.CUBLAS())
	}
	for _, mode := range d.GemmModes() {
		if err := d.SetGemm(mode); err != nil {
			b.Fatal(err)
		}
		for _, s := range []struct {
			name    string
			M, N, K int
		}{{"1024x1024x1024", 1024, 1024, 1024}, {"4096x4096x4096", 4096, 4096, 4096}, {"8192tok_x_4096_x_4096", 8192, 4096, 4096}} {
			b.Run(mode+"/"+s.name, func(b *testing.B) {
				var per time.Duration
				err := d.do(func(c *call) {
					a, bb, cc := c.alloc(int64(4*s.M*s.K)), c.alloc(int64(4*s.K*s.N)), c.alloc(int64(4*s.M*s.N))
					c.gemm(false, true, s.M, s.N, s.K, 1, a, s.K, bb, s.K, 0, cc, s.N) // warm-up and JIT
					if c.err == nil {
						c.err = d.be.Sync()
					}
					const reps = 10
					start := time.Now()
					for range reps {
						c.gemm(false, true, s.M, s.N, s.K, 1, a, s.K, bb, s.K, 0, cc, s.N)
					}
					if c.err == nil {
						c.err = d.be.Sync()
					}
					per = time.Since(start) / reps
				})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(2*float64(s.M)*float64(s.N)*float64(s.K)/per.Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(float64(per.Microseconds()), "µs/product")
			})
		}
	}
}
