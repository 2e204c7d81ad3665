package backend

import (
	"errors"
	"fmt"
)

// Sentinels that Error wraps; test with errors.Is.
var (
	ErrBadRequest  = errors.New("backend: bad request")            // the request itself is wrong; retrying cannot help
	ErrBadResponse = errors.New("backend: malformed response")     // unparseable or inconsistent reply
	ErrUnavailable = errors.New("backend: server unavailable")     // 5xx, timeouts, refused connections
	ErrRateLimited = errors.New("backend: rate limited")           // 429
	ErrCircuitOpen = errors.New("backend: circuit breaker open")   // too many failures in a row; failing fast
	ErrUnknown     = errors.New("backend: unknown backend name")   // Config.Name not registered
	ErrClosed      = errors.New("backend: used after Close")       // programming error
	ErrUnsupported = errors.New("backend: not supported by model") // e.g. two videos in one conversation
	// ErrContextLength: the prompt, with the reply's room, is longer than the model's context. A
	// shorter prompt may succeed; the same one cannot (errors carrying it are ErrBadRequest too).
	ErrContextLength = errors.New("backend: prompt longer than the model's context")
)

// ContextLengthError is an ErrContextLength (and ErrBadRequest) with the sizes where known: Need
// positions (prompt and reply) against the model's Limit; 0 where the server did not say.
type ContextLengthError struct {
	Need, Limit int
	Detail      string // the server's words, when they came from one
}

// ContextLength is a ContextLengthError of known sizes.
func ContextLength(need, limit int) error { return &ContextLengthError{Need: need, Limit: limit} }

func (e *ContextLengthError) Error() string {
	s := ErrContextLength.Error()
	if e.Need > 0 && e.Limit > 0 {
		s += fmt.Sprintf(" (%d positions needed, %d in the model)", e.Need, e.Limit)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is makes errors.Is(err, ErrContextLength) and errors.Is(err, ErrBadRequest) hold.
func (e *ContextLengthError) Is(target error) bool {
	return target == ErrContextLength || target == ErrBadRequest
}

// Error is a failed call: what was asked, of whom, how many attempts were made and why the last
// one failed. Its message is what a dead-letter row records.
type Error struct {
	Backend  string
	Op       string // "chat", "score"
	Status   int    // HTTP status of the last attempt, 0 if none
	Attempts int
	Err      error // wraps one of the sentinels
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s %s", e.Backend, e.Op)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// BadRequest is an ErrBadRequest with a reason.
func BadRequest(reason string) error { return fmt.Errorf("%w: %s", ErrBadRequest, reason) }

// Retryable reports whether trying the same call again later may succeed.
func Retryable(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRateLimited) ||
		errors.Is(err, ErrBadResponse) || errors.Is(err, ErrCircuitOpen)
}

// Kind names the class of err for a dead-letter row: context_length, bad_request, unsupported,
// bad_response, unavailable, rate_limited, circuit_open (the last four may succeed on a later run),
// or internal.
func Kind(err error) string {
	switch {
	case errors.Is(err, ErrCircuitOpen):
		return "circuit_open"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrBadResponse):
		return "bad_response"
	case errors.Is(err, ErrUnsupported):
		return "unsupported"
	case errors.Is(err, ErrContextLength):
		return "context_length"
	case errors.Is(err, ErrBadRequest):
		return "bad_request"
	}
	return "internal"
}
