package frames

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/vrlaif/vrlaif/internal/av"
	"github.com/vrlaif/vrlaif/schemas"
)

// ExtractFile samples frames from the video at uri (a local path, file://, or any scheme registered
// with Beam's filesystem package: gs://, s3://, memfs://). Remote files are downloaded to a
// temporary file first. On failure the error wraps one of the package's sentinels and is an
// *Error carrying FFmpeg's log for this file.
func ExtractFile(ctx context.Context, uri string, p Params) (schemas.Clip, error) {
	if err := p.Validate(); err != nil {
		return schemas.Clip{}, err
	}
	local, cleanup, err := Fetch(ctx, uri)
	if err != nil {
		return schemas.Clip{}, &Error{Err: err}
	}
	defer cleanup()
	hashc := make(chan hashResult, 1)
	go func() { hashc <- hashFile(local) }() // overlaps with decoding on another core
	log := &av.Log{}
	clip, err := extractLocal(ctx, local, p, log)
	h := <-hashc
	if err == nil && h.err != nil {
		err = failf(ErrUnreadable, "hashing: %v", h.err)
	}
	if err != nil {
		return schemas.Clip{}, &Error{Err: err, Log: log.String()}
	}
	clip.SourceURI = uri
	clip.ContentSHA256 = h.sum
	clip.ID = ClipID(h.sum, clip.Sampling)
	clip.CreatedMicros = time.Now().UnixMicro()
	return clip, nil
}

// ClipID is the deterministic id of a clip: a hash of the video's content hash and the sampling
// settings, so the same file sampled the same way always gets the same id.
func ClipID(contentSHA256 string, spec schemas.SamplingSpec) string {
	b, _ := json.Marshal(spec)
	sum := sha256.Sum256(append([]byte(contentSHA256+"\x00"), b...))
	return hex.EncodeToString(sum[:16])
}

type hashResult struct {
	sum string
	err error
}

func hashFile(path string) hashResult {
	f, err := os.Open(path)
	if err != nil {
		return hashResult{err: err}
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return hashResult{err: err}
	}
	return hashResult{sum: hex.EncodeToString(h.Sum(nil))}
}

// HashFile returns the hex SHA-256 of a local file's content.
func HashFile(path string) (string, error) {
	r := hashFile(path)
	return r.sum, r.err
}

// Probe opens a local video and reports what it holds, without decoding frames.
func Probe(path string) (Info, error) {
	log := &av.Log{}
	src, err := openSource(path, DefaultParams(), log)
	if err != nil {
		return Info{}, &Error{Err: err, Log: log.String()}
	}
	defer src.close()
	return src.info, nil
}

func extractLocal(ctx context.Context, path string, p Params, log *av.Log) (clip schemas.Clip, err error) {
	deadline := time.Now().Add(p.Limits.MaxDecodeTime)
	defer func() {
		if r := recover(); r != nil { // a bug must not take the whole run down
			err = failf(ErrInternal, "panic: %v", r)
		}
	}()
	src, err := openSource(path, p, log)
	if err != nil {
		return clip, err
	}
	defer src.close()
	info := src.info
	var plan Plan
	if p.FPS > 0 {
		plan = planRate(info.Duration, info.FPS, p.FPS, info.FrameCount)
	} else {
		plan = planUniform(info.FrameCount, info.FPS, p.Frames)
	}
	if len(plan.Seconds) == 0 {
		return clip, failf(ErrCorrupt, "the stream has no frames (duration %.3f s)", info.Duration)
	}
	conv := newConverter(p, info.Rotation, log)
	defer conv.close()
	clip = schemas.Clip{
		Codec: info.Codec, PixelFormat: info.PixelFormat, Width: int32(info.Width), Height: int32(info.Height),
		Rotation: int32(info.Rotation), FPS: info.FPS, DurationSeconds: info.Duration, FrameCount: info.FrameCount,
		Sampling: p.Spec(), PlannedSeconds: plan.Seconds,
		TimestampsSeconds: make([]float64, 0, len(plan.Seconds)),
		Frames:            make([][]byte, 0, len(plan.Seconds)),
	}
	// JPEG conversion runs on its own goroutine (another core), overlapping with decoding. The
	// sampler hands it references to decoded frames, in order; nil repeats the previous frame.
	jobs := make(chan *astiav.Frame, 4)
	converted := make(chan error, 1)
	go func() {
		var prev []byte
		var cerr error
		defer func() {
			if r := recover(); r != nil { // a bug must not take the whole run down
				for f := range jobs {
					if f != nil {
						f.Free()
					}
				}
				converted <- failf(ErrInternal, "panic converting a frame: %v", r)
			}
		}()
		for f := range jobs {
			if f != nil {
				if cerr == nil {
					prev, cerr = conv.jpeg(f)
				}
				f.Free()
			}
			if cerr == nil {
				clip.Frames = append(clip.Frames, prev)
			}
		}
		converted <- cerr
	}()
	lastTaken := int64(-1)
	err = src.sample(ctx, plan, p, deadline, func(s sampled) error {
		var f *astiav.Frame
		if src.decoded != lastTaken { // a new frame; otherwise a repeated sample of the same one
			if f = src.frm.Clone(); f == nil {
				return failf(ErrInternal, "referencing a frame")
			}
			lastTaken = src.decoded
		}
		jobs <- f
		clip.TimestampsSeconds = append(clip.TimestampsSeconds, s.seconds)
		return nil
	})
	close(jobs)
	if cerr := <-converted; err == nil {
		err = cerr
	}
	if err != nil {
		return clip, err
	}
	clip.FrameWidth, clip.FrameHeight = int32(conv.g.outW), int32(conv.g.outH)
	clip.DecodedFrames, clip.Seeks = src.decoded, int32(src.seeks)
	return clip, nil
}
