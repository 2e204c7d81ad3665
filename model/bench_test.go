package model

import (
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/vrlaif/vrlaif/internal/blas"
)

// BenchmarkTrainStep reports a training step's matrix-product throughput and its fraction of the
// BLAS sgemm peak (1024² square products) measured in the same run: go test -bench TrainStep ./model
// (16 rows of 128 positions).
func BenchmarkTrainStep(b *testing.B) { benchTrainStep(b, 128) }

// BenchmarkTrainStepLong is the same at 448 positions, the length SFT pads its judging examples
// to (a narrative, a question and two answers), where attention is about 40 % of the FLOPs.
func BenchmarkTrainStepLong(b *testing.B) { benchTrainStep(b, 448) }

func benchTrainStep(b *testing.B, T int) {
	c := Small(1024)
	m, err := New(c, 1)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	batch := tinyBatch(c, rng, 16, T)
	o := NewAdamW(m, 0.01)
	// The peak is OpenBLAS's own best: all cores, its threading (the model then runs it
	// single-threaded and splits rows over goroutines; see gemm.go).
	blas.SetThreads(runtime.NumCPU())
	peak := blas.PeakGFLOPS(1024, time.Second)
	blas.SetThreads(1)
	// The ratio depends on the kernels OpenBLAS picked: AVX-512 ones double the peak, the
	// training's small products gain less (see the README's model section).
	b.Logf("OpenBLAS kernels: %s (OPENBLAS_CORETYPE=%q)", blas.CoreName(), os.Getenv("OPENBLAS_CORETYPE"))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := m.Forward(batch); err != nil {
			b.Fatal(err)
		}
		m.ZeroGrad()
		m.Backward(batch)
		ClipGradNorm(m.G, 1)
		o.Step(m.W, m.G, 1e-3)
	}
	secs := time.Since(start).Seconds()
	gflops := m.MatmulFLOPs(batch.B, batch.T) * float64(b.N) / secs / 1e9
	b.ReportMetric(gflops, "GFLOP/s")
	b.ReportMetric(peak, "peak-GFLOP/s")
	b.ReportMetric(gflops/peak, "utilization")
	b.ReportMetric(float64(batch.B*batch.T*b.N)/secs, "tokens/s")
}

// BenchmarkGreedy reports sampling speed (greedy, no KV cache yet) on the small model.
func BenchmarkGreedy(b *testing.B) {
	c := Small(1024)
	m, _ := New(c, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	batch := tinyBatch(c, rng, 1, c.VideoTokens()+24)
	b.ResetTimer()
	tokens := 0
	for i := 0; i < b.N; i++ {
		out, err := m.Greedy(batch.Tokens, 1, batch.Patches, 16, -1)
		if err != nil {
			b.Fatal(err)
		}
		tokens += len(out)
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkGenerate reports batched sampling speed with the KV cache on the small model
// (8 prompts, 32 new tokens each, temperature 1, top-p 0.9).
func BenchmarkGenerate(b *testing.B) {
	c := Small(1024)
	m, _ := New(c, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	var prompts []Prompt
	for i := 0; i < 8; i++ {
		bt := tinyBatch(c, rng, 1, c.VideoTokens()+24)
		prompts = append(prompts, Prompt{Tokens: bt.Tokens, VideoAt: 1, Patches: bt.Patches})
	}
	b.ResetTimer()
	tokens := 0
	for i := 0; i < b.N; i++ {
		out, err := m.Generate(prompts, SampleParams{MaxNew: 32, Temperature: 1, TopP: 0.9, Seed: uint64(i), EOS: -1})
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range out {
			tokens += len(s.Tokens)
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}
