package model

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // frames arrive as JPEG (the pipelines' and the OpenAI API's format)
	_ "image/png"
)

// CLIP's normalisation, as the seed's image processor applies it.
var (
	clipMean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	clipStd  = [3]float32{0.26862954, 0.26130258, 0.27577711}
)

// PadColor is the seed's padding fill, int(255 × CLIP mean); transforms/frames pads with the same.
var PadColor = [3]byte{122, 116, 104}

// FrameIndices picks k of n frames with the seed's rule, numpy.linspace(0, n−1, k) truncated to
// integers (frames repeat when k > n); transforms/frames.UniformIndices is the same rule.
func FrameIndices(n, k int) []int {
	if n <= 0 || k <= 0 {
		return nil
	}
	out := make([]int, k)
	if k == 1 {
		return out
	}
	step := float64(n-1) / float64(k-1)
	for i := range out {
		out[i] = int(float64(i) * step)
	}
	out[k-1] = n - 1
	return out
}

// VideoPatches turns encoded frames (JPEG or PNG of at most MaxFramePixels) into one video's
// patches: NumFrames of them chosen with FrameIndices, each padded to a square with PadColor,
// resized to ImageSize² and cut by PatchifyImage. Result: [NumFrames·Patches·PatchDim].
func VideoPatches(encoded [][]byte, vc VisionConfig) ([]float32, error) {
	if len(encoded) == 0 {
		return nil, fmt.Errorf("model: a video needs at least one frame")
	}
	decoded := make(map[int][]float32)
	out := make([]float32, 0, vc.NumFrames*vc.Patches()*vc.PatchDim())
	for _, i := range FrameIndices(len(encoded), vc.NumFrames) {
		p, ok := decoded[i]
		if !ok {
			img, err := decodeFrame(encoded[i])
			if err != nil {
				return nil, fmt.Errorf("model: frame %d: %w", i, err)
			}
			if p, err = PatchifyImage(PadResize(img, vc.ImageSize), vc); err != nil {
				return nil, fmt.Errorf("model: frame %d: %w", i, err)
			}
			decoded[i] = p
		}
		out = append(out, p...)
	}
	return out, nil
}

// Patchify decodes a JPEG or PNG of ImageSize² and cuts it into patches (see PatchifyImage).
func Patchify(encoded []byte, vc VisionConfig) ([]float32, error) {
	img, err := decodeFrame(encoded)
	if err != nil {
		return nil, err
	}
	return PatchifyImage(img, vc)
}

// MaxFramePixels is the largest frame, width × height, that VideoPatches and Patchify decode
// (3840×2160, 4K UHD; the web page's video uploads take the same limit). An image's size is
// read from its header before any pixel is: a PNG of one colour packs 8000×8000 pixels into
// 187 KB and took 5.8 s and 500 MB to decode.
const MaxFramePixels = 3840 * 2160

// ErrFrameTooLarge is a frame of more than MaxFramePixels pixels.
var ErrFrameTooLarge = errors.New("frame too large")

// decodeFrame decodes a JPEG or PNG of at most MaxFramePixels pixels.
func decodeFrame(encoded []byte) (image.Image, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(encoded))
	if err != nil {
		return nil, err
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > MaxFramePixels {
		return nil, fmt.Errorf("%w: %dx%d is %d pixels, more than the %d (3840x2160) allowed", ErrFrameTooLarge, cfg.Width, cfg.Height, px, MaxFramePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(encoded))
	return img, err
}

// PatchifyImage cuts an ImageSize² image into patches in row-major patch order, each patch's
// pixels row-major with RGB interleaved, normalised with CLIP's mean and std.
func PatchifyImage(img image.Image, vc VisionConfig) ([]float32, error) {
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

// PadResize centres img on a square of its longer side filled with PadColor, as the seed's 'pad'
// aspect mode does, and box-filters it down (or nearest-neighbour up) to size². An image that is
// already size² comes back unchanged.
func PadResize(img image.Image, size int) image.Image {
	b := img.Bounds()
	if b.Dx() == size && b.Dy() == size {
		return img
	}
	side := max(b.Dx(), b.Dy())
	ox, oy := (side-b.Dx())/2, (side-b.Dy())/2
	out := image.NewRGBA(image.Rect(0, 0, size, size))
	fill := color.RGBA{PadColor[0], PadColor[1], PadColor[2], 255}
	for y := 0; y < size; y++ {
		y0, y1 := y*side/size, max((y+1)*side/size, y*side/size+1)
		for x := 0; x < size; x++ {
			x0, x1 := x*side/size, max((x+1)*side/size, x*side/size+1)
			var r, g, bl, n uint32
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					px, py := sx-ox, sy-oy
					var c color.Color = fill
					if px >= 0 && py >= 0 && px < b.Dx() && py < b.Dy() {
						c = img.At(b.Min.X+px, b.Min.Y+py)
					}
					cr, cg, cb, _ := c.RGBA()
					r, g, bl, n = r+cr>>8, g+cg>>8, bl+cb>>8, n+1
				}
			}
			out.SetRGBA(x, y, color.RGBA{uint8(r / n), uint8(g / n), uint8(bl / n), 255})
		}
	}
	return out
}
