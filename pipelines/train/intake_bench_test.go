package train

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/vrlaif/vrlaif/internal/natsbus"
)

// BenchmarkLearnerIntake: rollouts per second the learner's intake (fetch, decode, dedup, ack)
// consumes from the embedded JetStream server (binary-encoded rollouts), against a plain fetch+ack of the same messages
// (what `nats bench js` measures) in the same run. Messages are rollouts of the demo's size
// (a 100-token query, 48 response tokens with log-probabilities).
func BenchmarkLearnerIntake(b *testing.B) {
	const n = 20000
	ctx := context.Background()
	srv, err := natsbus.StartEmbedded(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	bus := DefaultBus(srv.ClientURL())
	nc, js, err := natsbus.Connect(ctx, bus.Conn)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	natsbus.EnsureStreams(ctx, js, bus.Prefix)
	publish := func(tag string) int {
		size := 0
		for i := range n {
			r := Rollout{ID: fmt.Sprintf("%s-%d", tag, i), Version: 1, Actor: "a", Query: make([]int32, 100), Response: make([]int32, 48),
				LogProbs: make([]float32, 48), Text: "The red square moves to the left and leaves the frame."}
			for j := range r.LogProbs {
				r.LogProbs[j] = -1.2345678
			}
			data := EncodeRollout(r)
			size = len(data)
			if _, err := js.PublishAsync(natsbus.RolloutsSubject(bus.Prefix, "a"), data); err != nil {
				b.Fatal(err)
			}
		}
		<-js.PublishAsyncComplete()
		return size
	}
	var size int
	measureRaw := func() float64 {
		size = publish("raw")
		raw, err := natsbus.NewConsumer(ctx, js, natsbus.ConsumerConfig{Stream: natsbus.RolloutsStream(bus.Prefix), Durable: "raw"})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for got := 0; got < n; {
			msgs, err := raw.Fetch(ctx, min(256, n-got), time.Second)
			if err != nil {
				b.Fatal(err)
			}
			raw.Ack(ctx, msgs)
			got += len(msgs)
		}
		rate := n / time.Since(start).Seconds()
		js.DeleteConsumer(ctx, natsbus.RolloutsStream(bus.Prefix), "raw") // a work queue takes one consumer at a time
		return rate
	}
	measureIntake := func() float64 {
		publish("in")
		cons, err := natsbus.NewConsumer(ctx, js, natsbus.ConsumerConfig{Stream: natsbus.RolloutsStream(bus.Prefix), Durable: "learner"})
		if err != nil {
			b.Fatal(err)
		}
		in := newIntake(cons, natsbus.ConsumerConfig{}, js, bus, map[string]bool{}, 2)
		st := &LearnerState{Version: 1}
		start := time.Now()
		for got := 0; got < n; {
			batch, used, skipped, err := in.gather(ctx, min(256, n-got), st)
			if err != nil {
				b.Fatal(err)
			}
			cons.Ack(ctx, append(used, skipped...))
			in.committed()
			got += len(batch) + len(skipped)
		}
		rate := n / time.Since(start).Seconds()
		js.DeleteConsumer(ctx, natsbus.RolloutsStream(bus.Prefix), "learner")
		return rate
	}
	// Each iteration measures both, in alternating order (the second of a pair runs on a warmer
	// server); the reported figures are medians over iterations (use -benchtime 5x or more).
	var intakeRates, rawRates, ratios []float64
	i := 0
	for b.Loop() {
		var raw, intake float64
		if i%2 == 0 {
			raw, intake = measureRaw(), measureIntake()
		} else {
			intake, raw = measureIntake(), measureRaw()
		}
		i++
		rawRates, intakeRates, ratios = append(rawRates, raw), append(intakeRates, intake), append(ratios, intake/raw)
	}
	median := func(x []float64) float64 {
		x = append([]float64(nil), x...)
		sort.Float64s(x)
		return x[len(x)/2]
	}
	intakeRate, rawRate := median(intakeRates), median(rawRates)
	b.ReportMetric(float64(size), "bytes/rollout")
	b.ReportMetric(intakeRate, "rollouts/s-intake")
	b.ReportMetric(rawRate, "msgs/s-fetch+ack")
	b.ReportMetric(median(ratios), "ratio")
}
