package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream defaults. See the package documentation for why.
const (
	// DefaultMaxMsgSize is the largest message either stream accepts: the server's default
	// max_payload, a few hundred times a rollout.
	DefaultMaxMsgSize = 1 << 20
	// DefaultDuplicateWindow is how long the server remembers a Nats-Msg-Id. A publisher that
	// retries later than this may store a rollout twice.
	DefaultDuplicateWindow = 10 * time.Minute
	// DefaultRolloutsMaxBytes bounds the un-consumed rollouts on disk (about half a million
	// 4 KiB rollouts). At the limit Publish waits (the stream discards new messages) instead of
	// dropping work the learner has not seen.
	DefaultRolloutsMaxBytes = 2 << 30
	// MinRolloutsMaxBytes is the smallest rollout stream EnsureStreams falls back to when the
	// server cannot reserve the default (see EnsureStreams): room for a few hundred rollouts,
	// and at least eight messages of the largest size.
	MinRolloutsMaxBytes = 16 << 20
)

// errCodeInsufficientStorage is JetStream's error code for "insufficient storage resources
// available": a stream's MaxBytes is more than the server (or account) can still reserve. An
// embedded or default nats-server reserves at most 75 % of the disk's free space at start.
const errCodeInsufficientStorage = 10047

var (
	// ErrTooLarge is wrapped by errors about a message or object over its size limit.
	ErrTooLarge = errors.New("too large")
	// ErrStreamFull is wrapped by Publish's error when ctx ended while the stream was full.
	ErrStreamFull = errors.New("stream full")
)

var prefixRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// RolloutsStream is the rollout stream's name for prefix: "VRLAIF_ROLLOUTS" for "vrlaif".
func RolloutsStream(prefix string) string { return strings.ToUpper(prefix) + "_ROLLOUTS" }

// PromptsStream is the prompt stream's name for prefix: "VRLAIF_PROMPTS" for "vrlaif".
func PromptsStream(prefix string) string { return strings.ToUpper(prefix) + "_PROMPTS" }

// RolloutsSubject is prefix.rollouts.token (token: an actor id, say); the stream takes
// prefix.rollouts.> so any further tokens are allowed.
func RolloutsSubject(prefix, token string) string { return prefix + ".rollouts." + token }

// PromptsSubject is prefix.prompts.token.
func PromptsSubject(prefix, token string) string { return prefix + ".prompts." + token }

// StreamOption changes EnsureStreams' settings.
type StreamOption func(*streamSettings)

type streamSettings struct {
	replicas         int
	maxMsgSize       int32
	duplicates       time.Duration
	rolloutsMaxBytes int64
	explicitMaxBytes bool // WithRolloutsMaxBytes was given: no fallback to a smaller stream
}

// WithReplicas sets the number of replicas (1 for the embedded server, 3 on a cluster).
func WithReplicas(n int) StreamOption { return func(s *streamSettings) { s.replicas = n } }

// WithMaxMsgSize sets both streams' largest message, headers included.
func WithMaxMsgSize(n int32) StreamOption { return func(s *streamSettings) { s.maxMsgSize = n } }

// WithDuplicateWindow sets how long Nats-Msg-Ids are remembered.
func WithDuplicateWindow(d time.Duration) StreamOption {
	return func(s *streamSettings) { s.duplicates = d }
}

// WithRolloutsMaxBytes sets the rollout stream's byte limit, after which publishes wait.
func WithRolloutsMaxBytes(n int64) StreamOption {
	return func(s *streamSettings) { s.rolloutsMaxBytes, s.explicitMaxBytes = n, true }
}

// StreamConfigs returns the rollout and prompt stream configurations EnsureStreams applies.
func StreamConfigs(prefix string, opts ...StreamOption) (rollouts, prompts jetstream.StreamConfig, err error) {
	rollouts, prompts, _, err = streamConfigs(prefix, opts)
	return rollouts, prompts, err
}

// streamConfigs is StreamConfigs with the settings the options gave.
func streamConfigs(prefix string, opts []StreamOption) (rollouts, prompts jetstream.StreamConfig, s streamSettings, err error) {
	if !prefixRE.MatchString(prefix) {
		return rollouts, prompts, s, fmt.Errorf("natsbus: prefix %q: want lower-case letters, digits, '-' and '_'", prefix)
	}
	s = streamSettings{replicas: 1, maxMsgSize: DefaultMaxMsgSize, duplicates: DefaultDuplicateWindow,
		rolloutsMaxBytes: DefaultRolloutsMaxBytes}
	for _, o := range opts {
		o(&s)
	}
	rollouts = jetstream.StreamConfig{
		Name:        RolloutsStream(prefix),
		Description: "vrlaif PPO rollouts (actors → learner); acked after the learner commits",
		Subjects:    []string{prefix + ".rollouts.>"},
		Retention:   jetstream.WorkQueuePolicy,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    s.rolloutsMaxBytes,
		MaxMsgSize:  s.maxMsgSize,
		Storage:     jetstream.FileStorage,
		Replicas:    s.replicas,
		Duplicates:  s.duplicates,
	}
	prompts = jetstream.StreamConfig{
		Name:        PromptsStream(prefix),
		Description: "vrlaif RL prompts (a data set for the actors)",
		Subjects:    []string{prefix + ".prompts.>"},
		Retention:   jetstream.LimitsPolicy,
		MaxMsgSize:  s.maxMsgSize,
		Storage:     jetstream.FileStorage,
		Replicas:    s.replicas,
		Duplicates:  s.duplicates,
	}
	return rollouts, prompts, s, nil
}

// EnsureStreams creates the rollout and prompt streams for prefix, or updates them to these
// settings if they exist. Calling it again with the same settings changes nothing.
//
// The rollout stream's byte limit is a reservation the server must be able to make. When it
// cannot (a nearly full disk: the default 2 GiB needs about 2.7 GiB free), EnsureStreams halves
// the limit, down to MinRolloutsMaxBytes, and logs a warning with the size it settled on: a
// smaller stream only makes actors wait sooner (publishes wait while it is full), so the run
// loses nothing. A limit set with WithRolloutsMaxBytes is not lowered; the error says why.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, prefix string, opts ...StreamOption) error {
	rollouts, prompts, s, err := streamConfigs(prefix, opts)
	if err != nil {
		return err
	}
	asked := rollouts.MaxBytes
	for {
		err := createOrUpdateStream(ctx, js, rollouts)
		if err == nil {
			break
		}
		if !insufficientStorage(err) {
			return fmt.Errorf("natsbus: stream %s: %w", rollouts.Name, err)
		}
		if s.explicitMaxBytes || rollouts.MaxBytes/2 < MinRolloutsMaxBytes {
			return fmt.Errorf("natsbus: stream %s: the server cannot reserve %d MiB of storage for it (a nats-server "+
				"reserves at most 75 %% of the disk's free space, measured when it starts): free some disk space under "+
				"its store folder, or raise its max_file_store: %w", rollouts.Name, rollouts.MaxBytes>>20, err)
		}
		rollouts.MaxBytes /= 2
	}
	if rollouts.MaxBytes != asked {
		slog.Warn("natsbus: the server has too little storage for the default rollout stream; using a smaller one "+
			"(actors wait sooner while the learner catches up; free disk space for the default)",
			"stream", rollouts.Name, "max_bytes_MiB", rollouts.MaxBytes>>20, "default_MiB", asked>>20)
	}
	if err := createOrUpdateStream(ctx, js, prompts); err != nil {
		return fmt.Errorf("natsbus: stream %s: %w", prompts.Name, err)
	}
	return nil
}

// createOrUpdateStream is js.CreateOrUpdateStream, safe against another process creating the
// same stream at the same moment (a learner and its actors starting together): the client asks
// for an update, is told there is no stream, asks to create it, and is told the name is taken
// when the other's create landed in between. Asking again then finds the stream and updates it.
func createOrUpdateStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	for attempt := 1; ; attempt++ {
		_, err := js.CreateOrUpdateStream(ctx, cfg)
		if err == nil || !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) || attempt == 5 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 20 * time.Millisecond):
		}
	}
}

// insufficientStorage reports whether err is JetStream's "insufficient storage resources".
func insufficientStorage(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeInsufficientStorage
}

// Publish attempts.
const (
	publishAttemptTimeout = 5 * time.Second
	publishBackoffStart   = 50 * time.Millisecond
	publishBackoffMax     = 2 * time.Second
	publishWarnEvery      = 10 * time.Second
)

// Publish stores data on subject with Nats-Msg-Id msgID (required) and the given headers. It
// retries with backoff, keeping the same id, on timeouts, when no stream answers (a server
// restarting) and while the stream is full, until it succeeds or ctx ends. A message over the
// connection's or the stream's size limit fails at once with an error wrapping ErrTooLarge.
// duplicate is true when the server already held msgID (within the duplicate window): the
// message was stored once, earlier.
func Publish(ctx context.Context, js jetstream.JetStream, subject string, data []byte, msgID string,
	headers map[string]string) (duplicate bool, err error) {
	if msgID == "" {
		return false, fmt.Errorf("natsbus: publish %s: empty Nats-Msg-Id", subject)
	}
	m := nats.NewMsg(subject)
	m.Data = data
	for k, v := range headers {
		m.Header.Set(k, v)
	}
	bo := newBackoff(publishBackoffStart, publishBackoffMax)
	started := time.Now()
	lastWarn := started // the first warning after publishWarnEvery
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, publishAttemptTimeout)
		ack, err := js.PublishMsg(actx, m, jetstream.WithMsgID(msgID))
		cancel()
		if err == nil {
			return ack.Duplicate, nil
		}
		switch {
		case errors.Is(err, nats.ErrMaxPayload):
			return false, fmt.Errorf("natsbus: publish %s: %d bytes plus headers: %w for the server's max_payload of %d bytes: %w",
				subject, len(data), ErrTooLarge, js.Conn().MaxPayload(), err)
		case errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum):
			return false, fmt.Errorf("natsbus: publish %s: %d bytes plus headers: %w for the stream's max message size: %w",
				subject, len(data), ErrTooLarge, err)
		}
		if retry := isStreamFull(err) || transient(err); retry && ctx.Err() == nil {
			// Say so now and then: a publish that keeps failing must not look like a quiet actor.
			if time.Since(lastWarn) >= publishWarnEvery {
				slog.Warn("natsbus: publish failing; retrying", "subject", subject, "msg_id", msgID, "attempt", attempt,
					"for", time.Since(started).Round(time.Second), "err", err)
				lastWarn = time.Now()
			}
			if bo.wait(ctx) == nil {
				continue
			}
		}
		if isStreamFull(err) {
			err = fmt.Errorf("%w: %w", ErrStreamFull, err)
		}
		if ctx.Err() != nil {
			return false, fmt.Errorf("natsbus: publish %s: gave up after %d attempts: %w", subject, attempt, err)
		}
		return false, fmt.Errorf("natsbus: publish %s: %w", subject, err)
	}
}
