package natsbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Consumer defaults.
const (
	// DefaultAckWait covers one PPO step plus the checkpoint commit before the ack.
	DefaultAckWait = 5 * time.Minute
	// DefaultMaxAckPending bounds the messages delivered and not yet acked. It must be at
	// least the rollouts the learner holds un-acked at once (batch × steps before a commit),
	// or Fetch waits for acks that never come.
	DefaultMaxAckPending = 4096
)

// ConsumerConfig describes a durable pull consumer with explicit acks.
type ConsumerConfig struct {
	Stream        string        // e.g. RolloutsStream(prefix)
	Durable       string        // durable name; the consumer and its ack state outlive restarts
	FilterSubject string        // optional: only these subjects of the stream
	AckWait       time.Duration // redeliver a message not acked within this (default DefaultAckWait)
	MaxAckPending int           // default DefaultMaxAckPending
	MaxDeliver    int           // deliveries before giving up on a message; 0: unlimited
}

// Consumer is a durable pull consumer. It is safe for concurrent use, but a learner normally
// has one goroutine fetching.
type Consumer struct {
	c      jetstream.Consumer
	stream string
	name   string
}

// NewConsumer creates the durable consumer cfg describes, or binds to it if it exists (and
// updates what may change, such as AckWait and MaxAckPending).
func NewConsumer(ctx context.Context, js jetstream.JetStream, cfg ConsumerConfig) (*Consumer, error) {
	if cfg.Stream == "" || cfg.Durable == "" {
		return nil, errors.New("natsbus: consumer needs a stream and a durable name")
	}
	if cfg.AckWait < 0 || cfg.MaxAckPending < 0 || cfg.MaxDeliver < 0 {
		return nil, fmt.Errorf("natsbus: consumer %s: negative AckWait, MaxAckPending or MaxDeliver", cfg.Durable)
	}
	jc := jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		Description:   "vrlaif natsbus durable pull consumer",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxAckPending: cfg.MaxAckPending,
		MaxDeliver:    cfg.MaxDeliver,
		FilterSubject: cfg.FilterSubject,
	}
	if jc.AckWait == 0 {
		jc.AckWait = DefaultAckWait
	}
	if jc.MaxAckPending == 0 {
		jc.MaxAckPending = DefaultMaxAckPending
	}
	if jc.MaxDeliver == 0 {
		jc.MaxDeliver = -1
	}
	c, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, jc)
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("natsbus: consumer %s: stream %s does not exist (EnsureStreams first): %w",
				cfg.Durable, cfg.Stream, err)
		}
		return nil, fmt.Errorf("natsbus: consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
	}
	return &Consumer{c: c, stream: cfg.Stream, name: cfg.Durable}, nil
}

// Name is the durable name.
func (c *Consumer) Name() string { return c.name }

// Fetch returns up to n messages, waiting at most maxWait for the first ones. Fewer than n, or
// none, is not an error: the wait ran out. Messages must be acked (Ack) or they are redelivered
// after AckWait. It returns ctx's error if ctx ends first; messages in flight then are
// redelivered later.
func (c *Consumer) Fetch(ctx context.Context, n int, maxWait time.Duration) ([]jetstream.Msg, error) {
	if n <= 0 || maxWait <= 0 {
		return nil, fmt.Errorf("natsbus: fetch from %s: want n > 0 and maxWait > 0, got %d and %v", c.name, n, maxWait)
	}
	fctx, cancel := context.WithTimeout(ctx, maxWait)
	defer cancel()
	batch, err := c.c.Fetch(n, jetstream.FetchContext(fctx))
	if err != nil {
		return nil, fmt.Errorf("natsbus: fetch from %s: %w", c.name, err)
	}
	msgs := make([]jetstream.Msg, 0, n)
	// nats.go does not always close a batch's channel when the connection drops mid-fetch (seen
	// with a server restart under a running learner: Fetch waited forever). Stop reading a little
	// after the wait should have ended; messages in flight are redelivered after AckWait.
	giveUp := time.NewTimer(maxWait + 2*time.Second)
	defer giveUp.Stop()
read:
	for {
		select {
		case m, ok := <-batch.Messages():
			if !ok {
				break read
			}
			msgs = append(msgs, m)
		case <-giveUp.C:
			return msgs, nil
		case <-ctx.Done():
			return msgs, fmt.Errorf("natsbus: fetch from %s: %w", c.name, ctx.Err())
		}
	}
	if err := batch.Error(); err != nil {
		if ctx.Err() != nil {
			return msgs, fmt.Errorf("natsbus: fetch from %s: %w", c.name, ctx.Err())
		}
		// The wait running out (fctx's deadline) is the normal end of a short batch.
		if !errors.Is(err, context.DeadlineExceeded) {
			return msgs, fmt.Errorf("natsbus: fetch from %s: %w", c.name, err)
		}
	}
	return msgs, nil
}

// Ack acknowledges msgs, to be called once the step that used them is committed. All but the
// last are acked without waiting; the last is acked with a confirmation from the server,
// which handles a consumer's acks in order, so a nil error means the server has recorded
// every ack. A message that was redelivered meanwhile (the step outlasted AckWait) may still
// be delivered again.
func (c *Consumer) Ack(ctx context.Context, msgs []jetstream.Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	var errs []error
	for _, m := range msgs[:len(msgs)-1] {
		if err := m.Ack(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := msgs[len(msgs)-1].DoubleAck(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("natsbus: ack %d messages on %s: %w", len(msgs), c.name, err)
	}
	return nil
}

// Lag returns the consumer's backlog for metrics: pending is the messages in the stream not
// yet delivered to it, ackPending those delivered and not yet acked.
func (c *Consumer) Lag(ctx context.Context) (pending uint64, ackPending int, err error) {
	info, err := c.c.Info(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("natsbus: consumer %s info: %w", c.name, err)
	}
	return info.NumPending, info.NumAckPending, nil
}

// Info returns the server's view of the consumer.
func (c *Consumer) Info(ctx context.Context) (*jetstream.ConsumerInfo, error) {
	info, err := c.c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("natsbus: consumer %s info: %w", c.name, err)
	}
	return info, nil
}
