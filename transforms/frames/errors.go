package frames

import (
	"errors"
	"fmt"
)

// Typed errors. Every error returned by ExtractFile wraps exactly one of them; Kind names it.
var (
	ErrUnreadable       = errors.New("frames: cannot read input")
	ErrNotVideo         = errors.New("frames: not a video")
	ErrNoVideoStream    = errors.New("frames: no video stream")
	ErrCorrupt          = errors.New("frames: truncated or corrupt")
	ErrUnsupportedCodec = errors.New("frames: unsupported codec")
	ErrOverLimit        = errors.New("frames: over a limit")
	ErrInternal         = errors.New("frames: internal error")
)

var kinds = []struct {
	err  error
	name string
}{
	{ErrUnreadable, "unreadable"},
	{ErrNotVideo, "not_a_video"},
	{ErrNoVideoStream, "no_video_stream"},
	{ErrCorrupt, "corrupt"},
	{ErrUnsupportedCodec, "unsupported_codec"},
	{ErrOverLimit, "over_limit"},
	{ErrInternal, "internal"},
}

// Kind returns the dead-letter error kind of err: one of unreadable, not_a_video,
// no_video_stream, corrupt, unsupported_codec, over_limit, internal, canceled.
func Kind(err error) string {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	if errors.Is(err, errCanceled) {
		return "canceled"
	}
	return "internal"
}

var errCanceled = errors.New("frames: canceled")

// Error is an extraction failure with the FFmpeg log lines captured while handling the file.
type Error struct {
	Err error  // wraps one of the sentinels above
	Log string // FFmpeg's log for this file (warnings and errors), may be empty
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func failf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
