package natsbus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestPublishFetchAck(t *testing.T) {
	_, js := setup(t)
	ctx := t.Context()
	subj := RolloutsSubject("test", "actor-1")
	for i := range 5 {
		_, err := Publish(ctx, js, subj, fmt.Appendf(nil, "rollout-%d", i), fmt.Sprintf("a1-%d", i),
			map[string]string{"Vrlaif-Policy-Version": "7"})
		if err != nil {
			t.Fatal(err)
		}
	}
	c, err := NewConsumer(ctx, js, ConsumerConfig{Stream: RolloutsStream("test"), Durable: "learner"})
	if err != nil {
		t.Fatal(err)
	}
	if pending, ackPending, err := c.Lag(ctx); err != nil || pending != 5 || ackPending != 0 {
		t.Fatalf("Lag before fetch = %d, %d, %v; want 5, 0", pending, ackPending, err)
	}
	msgs, err := c.Fetch(ctx, 10, 500*time.Millisecond) // asks for more than there are: returns 5
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"rollout-0", "rollout-1", "rollout-2", "rollout-3", "rollout-4"}
	if got := bodies(msgs); !slices.Equal(got, want) {
		t.Fatalf("fetched %q, want %q", got, want)
	}
	if h := msgs[2].Headers(); h.Get("Vrlaif-Policy-Version") != "7" || h.Get(jetstream.MsgIDHeader) != "a1-2" {
		t.Errorf("headers %v: want the policy version and Nats-Msg-Id", h)
	}
	if pending, ackPending, _ := c.Lag(ctx); pending != 0 || ackPending != 5 {
		t.Errorf("Lag after fetch = %d, %d; want 0, 5", pending, ackPending)
	}
	if err := c.Ack(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	if _, ackPending, _ := c.Lag(ctx); ackPending != 0 {
		t.Errorf("%d messages still pending an ack", ackPending)
	}
	// A work queue drops what was acked.
	info, err := js.Stream(ctx, RolloutsStream("test"))
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 0 {
		t.Errorf("stream holds %d messages after the acks, want 0", n)
	}
	// An empty fetch waits and returns nothing, not an error.
	if msgs, err := c.Fetch(ctx, 1, 200*time.Millisecond); err != nil || len(msgs) != 0 {
		t.Errorf("empty fetch = %d messages, %v", len(msgs), err)
	}
}

func TestPublishDedup(t *testing.T) {
	_, js := setup(t)
	ctx := t.Context()
	subj := RolloutsSubject("test", "a")
	dup, err := Publish(ctx, js, subj, []byte("first"), "same-id", nil)
	if err != nil || dup {
		t.Fatalf("first publish: duplicate=%v, %v", dup, err)
	}
	dup, err = Publish(ctx, js, subj, []byte("second"), "same-id", nil)
	if err != nil || !dup {
		t.Fatalf("second publish: duplicate=%v, %v; want a duplicate", dup, err)
	}
	s, err := js.Stream(ctx, RolloutsStream("test"))
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("stream holds %d messages, want 1", n)
	}
	m, err := s.GetLastMsgForSubject(ctx, subj)
	if err != nil || string(m.Data) != "first" {
		t.Fatalf("stored %q, %v; want the first message", m.Data, err)
	}
	if _, err := Publish(ctx, js, subj, []byte("x"), "", nil); err == nil {
		t.Error("published without a Nats-Msg-Id")
	}
}

func TestPublishTooLarge(t *testing.T) {
	_, js := setup(t, WithMaxMsgSize(64<<10))
	tests := []struct {
		name string
		size int
		want string
	}{
		{name: "over the stream's limit", size: 100 << 10, want: "stream's max message size"},
		{name: "over the server's max_payload", size: 2 << 20, want: "max_payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Publish(t.Context(), js, RolloutsSubject("test", "a"), make([]byte, tt.size), "big", nil)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tt.want) ||
				!strings.Contains(err.Error(), fmt.Sprint(tt.size)) {
				t.Fatalf("error %v: want ErrTooLarge naming the size %d and %q", err, tt.size, tt.want)
			}
			t.Log(err)
		})
	}
	// Just under the limit goes through.
	if _, err := Publish(t.Context(), js, RolloutsSubject("test", "a"), make([]byte, 60<<10), "ok", nil); err != nil {
		t.Fatal(err)
	}
}

func TestPublishWaitsWhileStreamFull(t *testing.T) {
	_, js := setup(t, WithRolloutsMaxBytes(16<<10))
	ctx := t.Context()
	subj := RolloutsSubject("test", "a")
	payload := bytes.Repeat([]byte("r"), 4<<10)
	n := 0
	for ; n < 10; n++ {
		sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err := Publish(sctx, js, subj, payload, fmt.Sprint("id-", n), nil)
		cancel()
		if errors.Is(err, ErrStreamFull) {
			t.Logf("full after %d messages: %v", n, err)
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 || n == 10 {
		t.Fatalf("stream took %d messages of 4 KiB with a 16 KiB limit", n)
	}
	// A publish blocked on the full stream completes once the learner acks one.
	c, err := NewConsumer(ctx, js, ConsumerConfig{Stream: RolloutsStream("test"), Durable: "learner"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Publish(ctx, js, subj, payload, "blocked", nil)
		done <- err
	}()
	msgs := fetchAll(t, c, 1)
	if err := c.Ack(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("publish still blocked 10 s after an ack freed space")
	}
}

func TestEnsureStreams(t *testing.T) {
	_, js := setup(t)
	ctx := t.Context()
	// Again: no error, nothing changes.
	if err := EnsureStreams(ctx, js, "test"); err != nil {
		t.Fatalf("second EnsureStreams: %v", err)
	}
	r, err := js.Stream(ctx, "TEST_ROLLOUTS")
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.CachedInfo().Config
	if cfg.Retention != jetstream.WorkQueuePolicy || cfg.Storage != jetstream.FileStorage ||
		cfg.Duplicates != DefaultDuplicateWindow || cfg.MaxMsgSize != DefaultMaxMsgSize ||
		!slices.Equal(cfg.Subjects, []string{"test.rollouts.>"}) {
		t.Errorf("rollouts config %+v", cfg)
	}
	p, err := js.Stream(ctx, "TEST_PROMPTS")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := p.CachedInfo().Config; cfg.Retention != jetstream.LimitsPolicy || !slices.Equal(cfg.Subjects, []string{"test.prompts.>"}) {
		t.Errorf("prompts config %+v", cfg)
	}
	for _, bad := range []string{"", "Test", "a.b", "a>", "a b"} {
		if err := EnsureStreams(ctx, js, bad); err == nil {
			t.Errorf("prefix %q accepted", bad)
		}
	}
}

// A server with less storage than the default rollout stream reserves (a nearly full disk) still
// gets its streams: EnsureStreams halves the rollout stream's limit until the server accepts it.
// An explicit limit is not lowered, and a server too small for the smallest stream is a clear error.
func TestEnsureStreamsOnALowStorageServer(t *testing.T) {
	s := startServer(t, WithMaxStore(100<<20))
	_, js := connect(t, s.ClientURL())
	ctx := t.Context()
	if err := EnsureStreams(ctx, js, "test"); err != nil {
		t.Fatalf("default streams on a 100 MiB server: %v", err)
	}
	r, err := js.Stream(ctx, "TEST_ROLLOUTS")
	if err != nil {
		t.Fatal(err)
	}
	// 2 GiB halved until it fits in 100 MiB.
	if got := r.CachedInfo().Config.MaxBytes; got != 64<<20 {
		t.Errorf("rollouts MaxBytes %d MiB, want 64", got>>20)
	}
	if _, err := js.Stream(ctx, "TEST_PROMPTS"); err != nil {
		t.Errorf("prompts stream: %v", err)
	}
	// Again: the same result, no error.
	if err := EnsureStreams(ctx, js, "test"); err != nil {
		t.Fatalf("second EnsureStreams: %v", err)
	}
	err = EnsureStreams(ctx, js, "other", WithRolloutsMaxBytes(1<<30))
	if err == nil || !strings.Contains(err.Error(), "cannot reserve 1024 MiB") {
		t.Fatalf("explicit 1 GiB on a 100 MiB server: %v, want a 'cannot reserve 1024 MiB' error", err)
	}
	tiny := startServer(t, WithMaxStore(8<<20))
	_, js = connect(t, tiny.ClientURL())
	err = EnsureStreams(ctx, js, "test")
	if err == nil || !strings.Contains(err.Error(), "free some disk space") {
		t.Fatalf("an 8 MiB server: %v, want an error saying to free disk space", err)
	}
	t.Log(err)
}

// Several processes starting at once (a learner and its actors) all ensure the streams on a fresh
// server: each may find no stream and try to create it, and all of them succeed, also on a server
// too small for the default rollout stream (where each settles on a smaller one).
func TestEnsureStreamsConcurrently(t *testing.T) {
	for round := range 40 {
		var opts []ServerOption
		if round%2 == 1 {
			opts = append(opts, WithMaxStore(100<<20))
		}
		s := startServer(t, opts...)
		const clients = 8
		js := make([]jetstream.JetStream, clients)
		for i := range js {
			_, js[i] = connect(t, s.ClientURL())
		}
		errs := make(chan error, clients)
		start := make(chan struct{})
		for i := range clients {
			go func() { <-start; errs <- EnsureStreams(t.Context(), js[i], "test") }()
		}
		close(start)
		for range clients {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		s.Shutdown()
	}
}
