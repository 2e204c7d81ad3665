package train

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/internal/natsbus"
)

// A rollout bigger than MaxInline travels by reference: the message holds its id and a reference,
// the object store holds the rollout, and the learner's resolve gets it back whole.
func TestRolloutByReference(t *testing.T) {
	srv, err := natsbus.StartEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx := context.Background()
	bus := DefaultBus(srv.ClientURL())
	nc, js, err := natsbus.Connect(ctx, bus.Conn)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := natsbus.EnsureStreams(ctx, js, bus.Prefix); err != nil {
		t.Fatal(err)
	}
	old := MaxInline
	MaxInline = 200
	defer func() { MaxInline = old }()
	small := Rollout{ID: "small", Version: 1, Actor: "a", Text: "Red."}
	big := Rollout{ID: "big", Version: 1, Actor: "a", Response: make([]int32, 300), LogProbs: make([]float32, 300), Text: "A long answer."}
	for _, r := range []Rollout{small, big} {
		if err := publishRollout(ctx, js, bus, r); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := natsbus.NewConsumer(ctx, js, natsbus.ConsumerConfig{Stream: natsbus.RolloutsStream(bus.Prefix), Durable: "t"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := cons.Fetch(ctx, 2, time.Second)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("fetched %d: %v", len(msgs), err)
	}
	for _, m := range msgs {
		r, err := DecodeRollout(m.Data())
		if err != nil {
			t.Fatal(err)
		}
		want := small
		if r.ID == "big" {
			want = big
			full := EncodeRollout(big)
			if r.Ref == "" || len(m.Data()) >= len(full)/4 {
				t.Errorf("the big rollout went inline (%d of its %d bytes)", len(m.Data()), len(full))
			}
		}
		got, err := resolveRollout(ctx, js, bus, r)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s came back as %+v", want.ID, got)
		}
	}
}

// busFixture: an embedded server with the run's streams and the learner's durable consumer.
func busFixture(t *testing.T) (Bus, jetstream.JetStream, *natsbus.Consumer) {
	t.Helper()
	srv, err := natsbus.StartEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx := context.Background()
	bus := DefaultBus(srv.ClientURL())
	nc, js, err := natsbus.Connect(ctx, bus.Conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := natsbus.EnsureStreams(ctx, js, bus.Prefix); err != nil {
		t.Fatal(err)
	}
	cons, err := natsbus.NewConsumer(ctx, js, natsbus.ConsumerConfig{Stream: natsbus.RolloutsStream(bus.Prefix), Durable: bus.Durable, AckWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return bus, js, cons
}

func streamLastSeq(t *testing.T, js jetstream.JetStream, bus Bus) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), natsbus.RolloutsStream(bus.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

// Actors pause while rollouts wait undelivered, but not for rollouts the learner holds un-acked
// (its batch, or dropped ones it acks with the commit): counting those once stalled a run after
// a learner crash, the learner waiting for fresh rollouts and the actors waiting for it.
func TestActorGateCountsOnlyUndelivered(t *testing.T) {
	cfg, prompts, patches := ppoFixture(t)
	bus, js, cons := busFixture(t)
	ctx := context.Background()
	for i := range 16 {
		if err := publishRollout(ctx, js, bus, Rollout{ID: fmt.Sprint("old", i), Actor: "x", Text: "Red."}); err != nil {
			t.Fatal(err)
		}
	}
	// A policy version for the actor to load.
	l, err := NewLearner(cfg, gpu.CPU{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Save(cfg.Output, LearnerState{}); err != nil {
		t.Fatal(err)
	}
	if err := natsbus.PutWeights(ctx, js, bus.Weights, 0, PolicyDir(cfg.Output)); err != nil {
		t.Fatal(err)
	}
	runActor := func(d time.Duration) {
		actx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		ac := ActorConfig{Name: "a", Policy: cfg.Policy, RM: cfg.RM, Rollout: cfg.Rollout, Batch: 2, MaxLag: 16, WorkDir: t.TempDir()}
		if err := RunActor(actx, ac, bus, prompts, patches, 0); err != nil && actx.Err() == nil {
			t.Fatal(err)
		}
	}
	runActor(3 * time.Second) // 16 undelivered: the actor waits
	if got := streamLastSeq(t, js, bus); got != 16 {
		t.Fatalf("the actor published %d rollouts while 16 waited for the learner", got-16)
	}
	msgs, err := cons.Fetch(ctx, 16, time.Second) // the learner holds all 16, un-acked
	if err != nil || len(msgs) != 16 {
		t.Fatalf("fetched %d: %v", len(msgs), err)
	}
	deadline := time.Now().Add(time.Minute)
	for streamLastSeq(t, js, bus) == 16 {
		if time.Now().After(deadline) {
			t.Fatal("the actor stayed paused for rollouts the learner had already taken")
		}
		runActor(2 * time.Second)
	}
}

// The intake acknowledges at once what it will never apply and need not record (a redelivery
// of a committed rollout, a message that is not a rollout), and holds the rest for the commit:
// the step's batch and the stale rollouts it drops.
func TestIntakeAcksDuplicatesAtOnce(t *testing.T) {
	bus, js, cons := busFixture(t)
	ctx := context.Background()
	if _, err := natsbus.Publish(ctx, js, natsbus.RolloutsSubject(bus.Prefix, "x"), []byte("not a rollout"), "junk", nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Rollout{{ID: "applied-before", Version: 5, Actor: "a"}, {ID: "stale", Version: 1, Actor: "a"}, {ID: "fresh", Version: 5, Actor: "a"}} {
		if err := publishRollout(ctx, js, bus, r); err != nil {
			t.Fatal(err)
		}
	}
	in := newIntake(cons, natsbus.ConsumerConfig{}, js, bus, map[string]bool{"applied-before": true}, 2)
	st := &LearnerState{Version: 5}
	batch, used, skipped, err := in.gather(ctx, 1, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 1 || batch[0].ID != "fresh" || len(used) != 1 || len(skipped) != 1 || in.dups != 1 || in.bad != 1 {
		t.Fatalf("batch %v, %d used, %d held, %d duplicates, %d malformed", batch, len(used), len(skipped), in.dups, in.bad)
	}
	if !reflect.DeepEqual(st.Dropped, []string{"stale"}) {
		t.Errorf("dropped %v", st.Dropped)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ackPending, err := cons.Lag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ackPending == 2 { // fresh and stale, held for the commit
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages un-acked; want the 2 held for the commit", ackPending)
		}
		time.Sleep(10 * time.Millisecond)
	}
	in.committed()
	if !in.seen["fresh"] || !in.seen["stale"] || len(in.inStep) != 0 {
		t.Errorf("after the commit: seen %v, in step %v", in.seen, in.inStep)
	}
}
