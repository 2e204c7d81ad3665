package natsbus

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestRedeliveryAfterAckWait(t *testing.T) {
	_, js := setup(t)
	ctx := t.Context()
	publishN(t, js, RolloutsSubject("test", "a"), 0, 3)
	c, err := NewConsumer(ctx, js, ConsumerConfig{Stream: RolloutsStream("test"), Durable: "learner", AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	first := fetchAll(t, c, 3)
	// The learner "crashes": no ack. After AckWait the same messages come again.
	start := time.Now()
	again := fetchAll(t, c, 3)
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("redelivered after %v, before AckWait", d)
	}
	if !slices.Equal(bodies(first), bodies(again)) {
		t.Fatalf("redelivered %q, want %q", bodies(again), bodies(first))
	}
	for _, m := range again {
		md, err := m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		if md.NumDelivered != 2 {
			t.Errorf("%s delivered %d times, want 2", m.Data(), md.NumDelivered)
		}
	}
	if err := c.Ack(ctx, again); err != nil {
		t.Fatal(err)
	}
	if msgs, err := c.Fetch(ctx, 3, 1500*time.Millisecond); err != nil || len(msgs) != 0 {
		t.Errorf("after the acks, fetched %d messages (%v), want none", len(msgs), err)
	}
}

func TestNewConsumerErrors(t *testing.T) {
	_, js := setup(t)
	if _, err := NewConsumer(t.Context(), js, ConsumerConfig{Stream: "NOPE", Durable: "x"}); err == nil ||
		!strings.Contains(err.Error(), "does not exist") {
		t.Errorf("consumer on a missing stream: %v", err)
	}
	if _, err := NewConsumer(t.Context(), js, ConsumerConfig{Stream: RolloutsStream("test")}); err == nil {
		t.Error("consumer without a durable name accepted")
	}
}

// TestRestart restarts the embedded server on the same folder and port in the middle of a run:
// the stream, the consumer's ack state and the duplicate window survive, and the client that
// was connected reconnects by itself and carries on.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	s1, err := StartEmbedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	port := s1.Port()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s1.Shutdown()
		}
	})
	nc, js := connect(t, s1.ClientURL())
	ctx := t.Context()
	if err := EnsureStreams(ctx, js, "test"); err != nil {
		t.Fatal(err)
	}
	subj := RolloutsSubject("test", "a")
	publishN(t, js, subj, 0, 10)
	c, err := NewConsumer(ctx, js, ConsumerConfig{Stream: RolloutsStream("test"), Durable: "learner"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := fetchAll(t, c, 5)
	if err := c.Ack(ctx, msgs); err != nil {
		t.Fatal(err)
	}

	s1.Shutdown()
	stopped = true
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if nc.Status() == nats.CONNECTED {
			return errors.New("client still connected")
		}
		return nil
	})
	s2, err := StartEmbedded(dir, WithPort(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Shutdown)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if st := nc.Status(); st != nats.CONNECTED {
			return fmt.Errorf("client %v", st)
		}
		return nil
	})

	// The same consumer handle keeps working; it has 5 left and none pending an ack.
	pending, ackPending, err := c.Lag(ctx)
	if err != nil || pending != 5 || ackPending != 0 {
		t.Fatalf("after restart Lag = %d, %d, %v; want 5, 0", pending, ackPending, err)
	}
	// The duplicate window survived for the messages still stored (a work queue deletes acked
	// ones, and the server rebuilds the window from what is stored).
	dup, err := Publish(ctx, js, subj, []byte("msg-7 again"), "id-7", nil)
	if err != nil || !dup {
		t.Errorf("republish of id-7 after restart: duplicate=%v, %v; want a duplicate", dup, err)
	}
	publishN(t, js, subj, 10, 2)
	rest := fetchAll(t, c, 7)
	want := []string{"msg-5", "msg-6", "msg-7", "msg-8", "msg-9", "msg-10", "msg-11"}
	if got := bodies(rest); !slices.Equal(got, want) {
		t.Fatalf("after restart fetched %q, want %q", got, want)
	}
	if err := c.Ack(ctx, rest); err != nil {
		t.Fatal(err)
	}
}
