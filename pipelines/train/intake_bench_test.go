package train

import (
	"context"
	"fmt"
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
	var intakeRate, rawRate float64
	var size int
	for b.Loop() {
		size = publish("raw")
		raw, _ := natsbus.NewConsumer(ctx, js, natsbus.ConsumerConfig{Stream: natsbus.RolloutsStream(bus.Prefix), Durable: "raw"})
		start := time.Now()
		for got := 0; got < n; {
			msgs, err := raw.Fetch(ctx, min(256, n-got), time.Second)
			if err != nil {
				b.Fatal(err)
			}
			raw.Ack(ctx, msgs)
			got += len(msgs)
		}
		rawRate = n / time.Since(start).Seconds()
		js.DeleteConsumer(ctx, natsbus.RolloutsStream(bus.Prefix), "raw")

		publish("in")
		cons, _ := natsbus.NewConsumer(ctx, js, natsbus.ConsumerConfig{Stream: natsbus.RolloutsStream(bus.Prefix), Durable: "learner"})
		in := newIntake(cons, natsbus.ConsumerConfig{}, js, bus, map[string]bool{}, 2)
		st := &LearnerState{Version: 1}
		start = time.Now()
		for got := 0; got < n; {
			batch, used, skipped, err := in.gather(ctx, min(256, n-got), st)
			if err != nil {
				b.Fatal(err)
			}
			cons.Ack(ctx, append(used, skipped...))
			in.committed()
			got += len(batch) + len(skipped)
		}
		intakeRate = n / time.Since(start).Seconds()
	}
	b.ReportMetric(float64(size), "bytes/rollout")
	b.ReportMetric(intakeRate, "rollouts/s-intake")
	b.ReportMetric(rawRate, "msgs/s-fetch+ack")
	b.ReportMetric(intakeRate/rawRate, "ratio")
}
