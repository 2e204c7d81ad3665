package natsbus_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/vrlaif/vrlaif/internal/natsbus"
)

// An actor publishes a rollout; the learner fetches it, runs its step, commits, then acks.
func Example() {
	dir, err := os.MkdirTemp("", "natsbus-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := natsbus.StartEmbedded(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()

	ctx := context.Background()
	nc, js, err := natsbus.Connect(ctx, natsbus.ConnOptions{URL: srv.ClientURL(), Name: "example"})
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	if err := natsbus.EnsureStreams(ctx, js, "run1"); err != nil {
		log.Fatal(err)
	}

	// Actor side.
	subj := natsbus.RolloutsSubject("run1", "actor-0")
	for i := range 2 {
		id := fmt.Sprintf("actor-0/step-7/%d", i) // the same id on a retry: stored once
		if _, err := natsbus.Publish(ctx, js, subj, fmt.Appendf(nil, "rollout %d", i), id,
			map[string]string{"Vrlaif-Policy-Version": "7"}); err != nil {
			log.Fatal(err)
		}
	}

	// Learner side.
	c, err := natsbus.NewConsumer(ctx, js, natsbus.ConsumerConfig{
		Stream: natsbus.RolloutsStream("run1"), Durable: "learner", AckWait: 10 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	msgs, err := c.Fetch(ctx, 256, 200*time.Millisecond) // up to 256, or what came in 200 ms
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range msgs {
		fmt.Printf("%s (policy v%s)\n", m.Data(), m.Headers().Get("Vrlaif-Policy-Version"))
	}
	// ... PPO step, checkpoint committed ...
	if err := c.Ack(ctx, msgs); err != nil {
		log.Fatal(err)
	}
	pending, ackPending, _ := c.Lag(ctx)
	fmt.Println("lag:", pending, ackPending)
	// Output:
	// rollout 0 (policy v7)
	// rollout 1 (policy v7)
	// lag: 0 0
}
