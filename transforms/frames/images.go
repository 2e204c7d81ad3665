package frames

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/jpeg"
	_ "image/png" // seed frame folders hold JPEG or PNG
	"os"
	"time"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/schemas"
)

// ExtractImages builds a clip from pre-extracted frames (the seed's `images` lists): p.Frames of
// them chosen with the uniform rule, each padded to a square with PadColor when p.Pad and resized
// to p.Size² (box filter), re-encoded as JPEG. Nothing is decoded by FFmpeg. The clip's id hashes
// the chosen files' contents and the settings.
func ExtractImages(ctx context.Context, paths []string, p Params) (schemas.Clip, error) {
	if err := p.Validate(); err != nil {
		return schemas.Clip{}, err
	}
	if len(paths) == 0 {
		return schemas.Clip{}, &Error{Err: failf(ErrUnreadable, "no frame paths")}
	}
	if p.FPS > 0 {
		return schemas.Clip{}, &Error{Err: failf(ErrUnsupportedCodec, "frame folders have no frame rate; use --frames, not --fps")}
	}
	clip := schemas.Clip{SourceURI: paths[0], Codec: "images", Sampling: p.Spec(), FrameCount: int64(len(paths))}
	h := sha256.New()
	for _, i := range UniformIndices(int64(len(paths)), p.Frames) {
		if err := ctx.Err(); err != nil {
			return schemas.Clip{}, &Error{Err: errCanceled}
		}
		raw, err := os.ReadFile(paths[i])
		if err != nil {
			return schemas.Clip{}, &Error{Err: failf(ErrUnreadable, "frame %d: %v", i, err)}
		}
		h.Write(raw)
		// The size from the header first: a small file can claim a huge image, and decoding it
		// would allocate all of it before the limit below could refuse it.
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(raw)); err == nil &&
			int64(cfg.Width)*int64(cfg.Height) > p.Limits.MaxPixels {
			return schemas.Clip{}, &Error{Err: failf(ErrOverLimit, "frame %d (%s) is %dx%d", i, paths[i], cfg.Width, cfg.Height)}
		}
		img, _, err := image.Decode(bytes.NewReader(raw))
		if err != nil {
			return schemas.Clip{}, &Error{Err: failf(ErrNotVideo, "frame %d (%s): %v", i, paths[i], err)}
		}
		b := img.Bounds()
		if int64(b.Dx())*int64(b.Dy()) > p.Limits.MaxPixels {
			return schemas.Clip{}, &Error{Err: failf(ErrOverLimit, "frame %d is %dx%d", i, b.Dx(), b.Dy())}
		}
		clip.Width, clip.Height = int32(b.Dx()), int32(b.Dy())
		out := img
		if p.Size > 0 {
			if !p.Pad && b.Dx() != b.Dy() {
				return schemas.Clip{}, &Error{Err: failf(ErrUnsupportedCodec, "frame folders are resized to squares; use --pad")}
			}
			out = model.PadResize(img, p.Size)
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: p.Quality}); err != nil {
			return schemas.Clip{}, &Error{Err: failf(ErrInternal, "encoding frame %d: %v", i, err)}
		}
		clip.Frames = append(clip.Frames, buf.Bytes())
		clip.FrameWidth, clip.FrameHeight = int32(out.Bounds().Dx()), int32(out.Bounds().Dy())
		clip.DecodedFrames++
	}
	clip.ContentSHA256 = hex.EncodeToString(h.Sum(nil))
	clip.ID = ClipID(clip.ContentSHA256, clip.Sampling)
	clip.CreatedMicros = time.Now().UnixMicro()
	return clip, nil
}

// ExtractTask samples a task's frames from its video or from its frame folder.
func ExtractTask(ctx context.Context, t schemas.Task, p Params) (schemas.Clip, error) {
	if len(t.Images) > 0 {
		return ExtractImages(ctx, t.Images, p)
	}
	if t.VideoURI == "" {
		return schemas.Clip{}, &Error{Err: failf(ErrUnreadable, "task %s has neither a video nor frames", t.ID)}
	}
	return ExtractFile(ctx, t.VideoURI, p)
}
