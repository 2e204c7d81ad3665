package natsbus

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkPublishConsume measures 4 KiB rollouts on the embedded server (file store):
//
//	Publish      one synchronous Publish (with Nats-Msg-Id) per op: an actor's rate
//	PublishAsync jetstream PublishAsync with the same ids, for comparison
//	FetchAck     the learner side: Fetch batches of 256 and Ack them, per message
//
// go test -run '^$' -bench PublishConsume -benchtime 20000x ./internal/natsbus/
//
// With VRLAIF_BENCH_NATS_URL set it uses that server instead (streams with a fresh prefix,
// deleted afterwards), to compare with `nats bench` against the same server:
// scripts/bench-nats.sh runs both.
func BenchmarkPublishConsume(b *testing.B) {
	const size = 4 << 10
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i)
	}

	b.Run("Publish", func(b *testing.B) {
		js, prefix := benchSetup(b)
		subj := RolloutsSubject(prefix, "bench")
		b.SetBytes(size)
		b.ResetTimer()
		for i := range b.N {
			if _, err := Publish(b.Context(), js, subj, payload, fmt.Sprint("p-", i), nil); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b)
	})

	b.Run("PublishAsync", func(b *testing.B) {
		js, prefix := benchSetup(b)
		subj := RolloutsSubject(prefix, "bench")
		b.SetBytes(size)
		b.ResetTimer()
		publishAsync(b, js, subj, payload, b.N)
		reportRate(b)
	})

	b.Run("FetchAck", func(b *testing.B) {
		js, prefix := benchSetup(b)
		subj := RolloutsSubject(prefix, "bench")
		publishAsync(b, js, subj, payload, b.N)
		c, err := NewConsumer(b.Context(), js, ConsumerConfig{Stream: RolloutsStream(prefix), Durable: "learner"})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		b.ResetTimer()
		for got := 0; got < b.N; {
			msgs, err := c.Fetch(b.Context(), min(256, b.N-got), 5*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			if len(msgs) == 0 {
				b.Fatalf("no messages after %d of %d", got, b.N)
			}
			if err := c.Ack(b.Context(), msgs); err != nil {
				b.Fatal(err)
			}
			got += len(msgs)
		}
		reportRate(b)
	})
}

// benchSetup returns a JetStream context with the streams made for the returned prefix, on
// VRLAIF_BENCH_NATS_URL if set, else on a fresh embedded server.
func benchSetup(b *testing.B) (jetstream.JetStream, string) {
	b.Helper()
	url := os.Getenv("VRLAIF_BENCH_NATS_URL")
	if url == "" {
		_, js := setup(b)
		return js, "test"
	}
	_, js := connect(b, url)
	prefix := fmt.Sprintf("bench%d", time.Now().UnixNano())
	if err := EnsureStreams(b.Context(), js, prefix); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx := context.Background()
		_ = js.DeleteStream(ctx, RolloutsStream(prefix))
		_ = js.DeleteStream(ctx, PromptsStream(prefix))
	})
	return js, prefix
}

// publishAsync publishes n messages with PublishAsync and waits for every ack.
func publishAsync(b *testing.B, js jetstream.JetStream, subj string, payload []byte, n int) {
	b.Helper()
	futures := make([]jetstream.PubAckFuture, n)
	for i := range n {
		f, err := js.PublishAsync(subj, payload, jetstream.WithMsgID(fmt.Sprint("a-", i)))
		if err != nil {
			b.Fatal(err)
		}
		futures[i] = f
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("async publishes not acked within a minute")
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkWeightsPutGet puts and gets a 240 MiB checkpoint (near MaxObjectBytes) through the
// embedded server's object store; MB/s counts one direction.
//
// go test -run '^$' -bench WeightsPutGet -benchtime 3x ./internal/natsbus/
func BenchmarkWeightsPutGet(b *testing.B) {
	const size = 240 << 20
	_, js := setup(b)
	src := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, size)
	for i := 0; i < size; i += 8 {
		binary.LittleEndian.PutUint64(data[i:], rng.Uint64())
	}
	if err := os.WriteFile(filepath.Join(src, "model.safetensors"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	data = nil
	b.SetBytes(size)
	b.ResetTimer()
	var put, get time.Duration
	for i := range b.N {
		t0 := time.Now()
		if err := PutWeights(b.Context(), js, "weights", i, src); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := GetWeights(b.Context(), js, "weights", i, filepath.Join(b.TempDir(), "w")); err != nil {
			b.Fatal(err)
		}
		put, get = put+t1.Sub(t0), get+time.Since(t1)
	}
	b.ReportMetric(put.Seconds()/float64(b.N), "put-s/op")
	b.ReportMetric(get.Seconds()/float64(b.N), "get-s/op")
}
