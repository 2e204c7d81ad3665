package train

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"path/filepath"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/frames"
)

// CLIP's normalisation, as the seed's image processor applies it.
var (
	clipMean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	clipStd  = [3]float32{0.26862954, 0.26130258, 0.27577711}
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
			if pat[i], err = Patchify(jpg, vc); err != nil {
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

// Patchify decodes a JPEG of ImageSize² and cuts it into patches (see PatchifyImage).
func Patchify(jpg []byte, vc model.VisionConfig) ([]float32, error) {
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		return nil, err
	}
	return PatchifyImage(img, vc)
}

// PatchifyImage cuts an ImageSize² image into patches in row-major patch order, each patch's
// pixels row-major with RGB interleaved, normalised with CLIP's mean and std.
func PatchifyImage(img image.Image, vc model.VisionConfig) ([]float32, error) {
	S, ps := vc.ImageSize, vc.PatchSize
	if b := img.Bounds(); b.Dx() != S || b.Dy() != S {
		return nil, fmt.Errorf("frame is %dx%d, want %dx%d", b.Dx(), b.Dy(), S, S)
	}
	out := make([]float32, 0, vc.Patches()*vc.PatchDim())
	for py := 0; py < S/ps; py++ {
		for px := 0; px < S/ps; px++ {
			for y := py * ps; y < (py+1)*ps; y++ {
				for x := px * ps; x < (px+1)*ps; x++ {
					out = append(out, pixel(img, x, y)...)
				}
			}
		}
	}
	return out, nil
}

func pixel(img image.Image, x, y int) []float32 {
	r, g, b, _ := img.At(img.Bounds().Min.X+x, img.Bounds().Min.Y+y).RGBA()
	v := [3]float32{float32(r>>8) / 255, float32(g>>8) / 255, float32(b>>8) / 255}
	for c := range v {
		v[c] = (v[c] - clipMean[c]) / clipStd[c]
	}
	return v[:]
}
