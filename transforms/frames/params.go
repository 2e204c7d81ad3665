package frames

import (
	"fmt"
	"time"

	"github.com/vrlaif/vrlaif/schemas"
)

// Resize modes.
const (
	ResizeShort  = "short"  // the shorter side becomes Size, the aspect ratio is kept
	ResizeSquare = "square" // the frame is stretched to Size×Size
)

// Seek modes.
const (
	SeekAuto  = "auto"  // seek when the gap to the next sample exceeds a GOP and an index exists
	SeekNever = "never" // one sequential pass
)

// Params are the sampling settings. The zero value is not valid; start from DefaultParams.
type Params struct {
	Frames  int     `json:"frames"`  // N uniform samples; used when FPS is 0
	FPS     float64 `json:"fps"`     // sample at this fixed rate instead of N uniform frames
	Size    int     `json:"size"`    // target size in pixels; 0 keeps the source size
	Resize  string  `json:"resize"`  // ResizeShort or ResizeSquare
	Pad     bool    `json:"pad"`     // pad to a square with PadColor before resizing (the seed's 'pad' aspect mode)
	Quality int     `json:"quality"` // JPEG quality, 1..100
	Seek    string  `json:"seek"`    // SeekAuto or SeekNever
	// DecodeThreads is FFmpeg's decoder thread count; 0 lets FFmpeg choose.
	DecodeThreads int `json:"decode_threads"`
	// AllowDecodeErrors keeps frames the decoder reported as damaged (concealed). By default a
	// damaged sampled frame or a rejected packet makes the whole file a dead letter.
	AllowDecodeErrors bool   `json:"allow_decode_errors"`
	Limits            Limits `json:"limits"`

	noSkip bool // tests: decode every frame even where the container allows skipping
}

// Limits bound the work one file may cause.
type Limits struct {
	MaxPixels     int64         `json:"max_pixels"`         // coded width × height
	MaxDuration   time.Duration `json:"max_duration_ns"`    // stream duration
	MaxDecodeTime time.Duration `json:"max_decode_time_ns"` // wall time spent decoding one file
}

// PadColor is the seed's padding fill: int(255 × CLIP mean).
var PadColor = [3]byte{122, 116, 104}

// DefaultParams returns the seed's settings: 50 uniform frames, padded to a square, 224 px,
// JPEG quality 90, with limits generous enough for real footage.
func DefaultParams() Params {
	return Params{
		Frames: 50, Size: 224, Resize: ResizeShort, Pad: true, Quality: 90, Seek: SeekAuto,
		Limits: Limits{MaxPixels: 7680 * 4320, MaxDuration: 6 * time.Hour, MaxDecodeTime: 10 * time.Minute},
	}
}

// Validate reports the first invalid setting.
func (p Params) Validate() error {
	switch {
	case p.FPS < 0:
		return fmt.Errorf("frames: fps must be ≥ 0, got %g", p.FPS)
	case p.FPS == 0 && p.Frames <= 0:
		return fmt.Errorf("frames: frames must be > 0 (or set fps), got %d", p.Frames)
	case p.Size < 0 || p.Size > 8192:
		return fmt.Errorf("frames: size must be in 0..8192, got %d", p.Size)
	case p.Resize != ResizeShort && p.Resize != ResizeSquare:
		return fmt.Errorf("frames: resize must be %q or %q, got %q", ResizeShort, ResizeSquare, p.Resize)
	case p.Quality < 1 || p.Quality > 100:
		return fmt.Errorf("frames: quality must be in 1..100, got %d", p.Quality)
	case p.Seek != SeekAuto && p.Seek != SeekNever:
		return fmt.Errorf("frames: seek must be %q or %q, got %q", SeekAuto, SeekNever, p.Seek)
	case p.DecodeThreads < 0:
		return fmt.Errorf("frames: decode threads must be ≥ 0, got %d", p.DecodeThreads)
	case p.Limits.MaxPixels <= 0 || p.Limits.MaxDuration <= 0 || p.Limits.MaxDecodeTime <= 0:
		return fmt.Errorf("frames: limits must be > 0, got %+v", p.Limits)
	}
	return nil
}

// Spec is the part of Params that determines the output, as stored in each clip row.
func (p Params) Spec() schemas.SamplingSpec {
	s := schemas.SamplingSpec{FPS: p.FPS, Size: int32(p.Size), Resize: p.Resize, Pad: p.Pad, Quality: int32(p.Quality)}
	if p.FPS == 0 {
		s.Frames = int32(p.Frames)
	}
	return s
}
