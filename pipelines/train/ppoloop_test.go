package train

import (
	"context"
	"reflect"
	"testing"
	"time"

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
