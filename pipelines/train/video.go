package train

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/frames"
)

// ClipVideo holds a clip's patches for the whole clip and for each third, ready for a Batch.
type ClipVideo struct {
	Full   []float32    // [F·P·PatchDim]
	Thirds [3][]float32 // each [F·P·PatchDim]
}

// Patches returns the patches for Example.Video.
func (v *ClipVideo) Patches(which int) []float32 {
	if which == VideoFull {
		return v.Full
	}
	return v.Thirds[which]
}

// LoadWorldVideos samples 3·F frames from every clip of a synthetic world (FFmpeg, the seed's
// uniform rule, padded to ImageSize²): the whole clip uses F of them spread uniformly, each third
// uses its own F consecutive ones.
func LoadWorldVideos(ctx context.Context, worldDir string, truths []schemas.Truth, vc model.VisionConfig) (map[string]*ClipVideo, error) {
	p := frames.DefaultParams()
	p.Frames, p.Size, p.Pad, p.Quality = 3*vc.NumFrames, vc.ImageSize, true, 95
	out := make(map[string]*ClipVideo, len(truths))
	full := frames.UniformIndices(int64(3*vc.NumFrames), vc.NumFrames)
	for _, t := range truths {
		clip, err := frames.ExtractFile(ctx, filepath.Join(worldDir, t.VideoPath), p)
		if err != nil {
			return nil, fmt.Errorf("train: frames of %s: %w", t.ClipID, err)
		}
		pat := make([][]float32, len(clip.Frames))
		for i, jpg := range clip.Frames {
			if pat[i], err = model.Patchify(jpg, vc); err != nil {
				return nil, fmt.Errorf("train: %s frame %d: %w", t.ClipID, i, err)
			}
		}
		cv := &ClipVideo{}
		for _, i := range full {
			cv.Full = append(cv.Full, pat[i]...)
		}
		for k := 0; k < 3; k++ {
			for _, f := range pat[k*vc.NumFrames : (k+1)*vc.NumFrames] {
				cv.Thirds[k] = append(cv.Thirds[k], f...)
			}
		}
		out[t.ClipID] = cv
	}
	return out, nil
}
