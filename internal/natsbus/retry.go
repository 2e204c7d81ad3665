package natsbus

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// backoff is a capped exponential backoff with jitter.
type backoff struct {
	next, max time.Duration
}

func newBackoff(start, max time.Duration) *backoff { return &backoff{next: start, max: max} }

// wait sleeps for the next delay (with up to 25 % jitter) or until ctx ends; it returns
// ctx.Err() in the latter case.
func (b *backoff) wait(ctx context.Context) error {
	d := b.next + rand.N(b.next/4+1)
	b.next = min(2*b.next, b.max)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// transient reports whether a JetStream request or publish may succeed if repeated: it timed
// out, nobody answered (a server restarting or a stream leader moving), or the server asked
// us to slow down.
func transient(err error) bool {
	switch {
	case errors.Is(err, nats.ErrTimeout),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrAsyncPublishTimeout),
		errors.Is(err, jetstream.ErrTooManyStalledMsgs),
		errors.Is(err, nats.ErrConnectionReconnecting):
		return true
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch {
	case apiErr.Code == 429:
		return true
	case apiErr.Code == 503: // e.g. "JetStream system temporarily unavailable"
		return !isStreamFull(err) && !errors.Is(err, jetstream.ErrJetStreamNotEnabled) &&
			!errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount)
	}
	return false
}

// isStreamFull reports whether the server refused a message because a DiscardNew stream is at
// its byte or message limit.
func isStreamFull(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != jsErrCodeStreamStoreFailed {
		return false
	}
	switch apiErr.Description {
	case "maximum bytes exceeded", "maximum messages exceeded", "maximum messages per subject exceeded":
		return true
	}
	return false
}

// jsErrCodeStreamStoreFailed is nats-server's JSStreamStoreFailedF (10077), whose description
// is the store's error; jetstream does not export a constant for it.
const jsErrCodeStreamStoreFailed jetstream.ErrorCode = 10077
