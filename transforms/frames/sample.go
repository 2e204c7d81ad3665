package frames

import (
	"context"
	"errors"
	"io"
	"math"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/vrlaif/vrlaif/internal/av"
)

// sampled is one frame taken for the plan.
type sampled struct {
	seconds float64 // actual presentation time relative to the stream start
}

// sample walks the stream and calls take for every plan entry, with s.frm holding the chosen
// frame. Frames are chosen by index, as the seed does (the k-th frame). Where the container has a
// complete index (byPTS) a frame's index is its timestamp over the frame duration, which survives
// seeks and skipped non-reference frames; elsewhere it is the decode count, and no seeking or
// skipping happens. Plan indices must be ascending.
func (s *source) sample(ctx context.Context, plan Plan, p Params, deadline time.Time, take func(sampled) error) error {
	tb := s.tb.Float64()
	strict := !p.AllowDecodeErrors
	gopFrames := int64(math.Round(float64(s.gop) / s.frameDur))
	canSeek := p.Seek == SeekAuto && len(s.keyframes) > 1 && gopFrames > 0
	toIndex := s.toIndex
	if s.byPTS && !p.noSkip {
		s.wanted = make(map[int64]bool, len(plan.Indices))
		for _, x := range plan.Indices {
			s.wanted[x] = true
		}
	}
	cur := int64(-1)      // index of the frame in s.frm
	seekedTo := int64(-1) // never seek back to (or before) a keyframe already sought
	resync := false       // after a seek: take the index from the next frame's timestamp
	lastSec := 0.0
	var held *astiav.Frame // a reference to the last decoded frame, for samples past the end
	defer func() {
		if held != nil {
			held.Free()
		}
	}()
	ti := 0
	for ti < len(plan.Indices) {
		if err := ctx.Err(); err != nil {
			return errors.Join(errCanceled, err)
		}
		if time.Now().After(deadline) {
			return failf(ErrOverLimit, "decoding took longer than %s (%d frames decoded)", p.Limits.MaxDecodeTime, s.decoded)
		}
		target := plan.Indices[ti]
		if canSeek && target-cur > gopFrames {
			kfTarget := s.startPts + int64(math.Round(float64(target)*s.frameDur))
			if kf, ok := s.keyframeAtOrBefore(kfTarget); ok && toIndex(kf) > cur+1 && toIndex(kf) > seekedTo {
				if err := s.seekTo(kf); err != nil {
					return err
				}
				seekedTo, resync = toIndex(kf), true
			}
		}
		err := s.nextFrame(strict)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		pts := av.BestEffortTimestamp(s.frm)
		switch {
		case resync && pts == av.NoPTS:
			return failf(ErrCorrupt, "no timestamp on the first frame after a seek (rerun with seek=never)")
		case resync || (s.byPTS && pts != av.NoPTS):
			cur, resync = toIndex(pts), false
		default:
			cur++
		}
		if cur < target {
			continue // before the next sample: decode on
		}
		if strict && av.FrameDamaged(s.frm) {
			return failf(ErrCorrupt, "the decoder flagged frame %d as damaged", cur)
		}
		if pts != av.NoPTS {
			lastSec = roundMicro(float64(pts-s.startPts) * tb)
		} else {
			lastSec = roundMicro(float64(cur) * s.frameDur * tb)
		}
		for ti < len(plan.Indices) && plan.Indices[ti] <= cur {
			if err := take(sampled{seconds: lastSec}); err != nil {
				return err
			}
			ti++
		}
		if held == nil {
			held = astiav.AllocFrame()
		}
		held.Unref()
		if err := held.Ref(s.frm); err != nil {
			return failf(ErrInternal, "keeping a frame: %v", err)
		}
	}
	if ti == len(plan.Indices) {
		return nil
	}
	// The stream ended before the remaining samples. Within two frames of the end this is the
	// usual rounding of a frame count estimated from the duration: reuse the last frame.
	if held != nil && plan.Indices[len(plan.Indices)-1]-cur <= 2 {
		s.frm.Unref()
		if err := s.frm.Ref(held); err != nil {
			return failf(ErrInternal, "reusing a frame: %v", err)
		}
		for ; ti < len(plan.Indices); ti++ {
			if err := take(sampled{seconds: lastSec}); err != nil {
				return err
			}
		}
		return nil
	}
	if held == nil {
		return failf(ErrCorrupt, "no frame could be decoded")
	}
	return failf(ErrCorrupt, "truncated: the stream ends at frame %d (%.2f s) but the container says %d frames (%.2f s); %d of %d samples taken",
		cur, lastSec, s.info.FrameCount, s.info.Duration, ti, len(plan.Indices))
}
