package openai_test

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/backend/builtin"
	"github.com/vrlaif/vrlaif/backend/openai"
)

// noisyFrames are n 224×224 JPEG frames with texture (≈20 KB each, like real ones).
func noisyFrames(n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][]byte, n)
	for i := range out {
		img := image.NewRGBA(image.Rect(0, 0, 224, 224))
		for p := 0; p < len(img.Pix); p += 4 {
			v := uint8(rng.IntN(256))
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = v, v/2, 255-v, 255
		}
		var buf bytes.Buffer
		jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
		out[i] = buf.Bytes()
	}
	return out
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkClientOverhead: the CPU one chat call costs this process on top of the model, against
// a server that answers at once with a recorded vLLM reply (its trivial handler runs in this
// process too, so the figure is an upper bound on the client's own cost). The request carries 17
// frames of 224² (one narrative clip), the heaviest request the pipelines send. Anchor, same run:
// one in-process call of the built-in model (the tiny test model, greedy, 12 tokens).
func BenchmarkClientOverhead(b *testing.B) {
	body, _ := os.ReadFile("testdata/vllm_chat_logprobs.json")
	var reqBytes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sink bytes.Buffer
		sink.ReadFrom(r.Body)
		reqBytes.Store(int64(sink.Len()))
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	c, _ := openai.NewClient(context.Background(), backend.Config{URL: srv.URL, Model: "m"})
	frames := noisyFrames(17)
	req := backendtest.Question(frames, 2, 1)
	ctx := context.Background()
	start, cpu0 := time.Now(), cpuTime()
	for b.Loop() {
		if _, err := c.Chat(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/call")
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "wall-µs/call")
	b.ReportMetric(float64(reqBytes.Load())/1e6, "MB/request")

	m, err := builtin.Load(backendtest.Checkpoint(b), "")
	if err != nil {
		b.Fatal(err)
	}
	anchor := backendtest.Question(frames, 2, 1)
	anchor.Temperature = 0
	const reps = 20
	cpu1 := cpuTime()
	for range reps {
		m.Chat(ctx, anchor)
	}
	b.ReportMetric(float64((cpuTime()-cpu1).Microseconds())/reps, "builtin-tiny-cpu-µs/call")
}

// BenchmarkConcurrencyHeld: how many requests the client really keeps in flight (Concurrency 8)
// against vrlaif serve (tiny model, 2 running at once, the rest queued): the time-averaged number
// of requests open at the server, and calls per second.
func BenchmarkConcurrencyHeld(b *testing.B) {
	m, err := builtin.Load(backendtest.Checkpoint(b), "")
	if err != nil {
		b.Fatal(err)
	}
	var open atomic.Int64
	var area atomic.Int64 // ∑ open × ns, sampled at every change
	var last atomic.Int64
	t0 := time.Now()
	mark := func(delta int64) {
		now := int64(time.Since(t0))
		prev := last.Swap(now)
		area.Add((now - prev) * (open.Load()))
		open.Add(delta)
	}
	h := openai.Handler(m, openai.ServerOptions{MaxInFlight: 2})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mark(1)
		defer mark(-1)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, _ := openai.NewClient(context.Background(), backend.Config{URL: srv.URL + "/v1", Model: "tiny", Concurrency: 8})
	frames := backendtest.Frames(b, 8)
	calls := 0
	b.ResetTimer()
	begin := time.Now()
	areaStart, lastStart := area.Load(), time.Since(t0)
	for b.Loop() {
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Go(func() {
				if _, err := c.Chat(context.Background(), backendtest.Question(frames, 1, int64(i))); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		calls += 32
	}
	elapsed := time.Since(begin)
	held := float64(area.Load()-areaStart) / float64(time.Since(t0)-lastStart)
	b.ReportMetric(held, "held-in-flight")
	b.ReportMetric(float64(calls)/elapsed.Seconds(), "calls/s")
}
