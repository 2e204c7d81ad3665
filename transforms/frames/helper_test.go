package frames

import (
	"bytes"
	"image"
	"image/jpeg"
	"path/filepath"
	"testing"

	"github.com/asticode/go-astiav"
	"github.com/vrlaif/vrlaif/internal/av"
)

// fixture describes a generated test video.
type fixture struct {
	name     string
	codec    string
	format   string // container; "" guesses from the name
	w, h     int
	fps      int
	n        int // frames
	gop      int
	pixfmt   astiav.PixelFormat
	opts     map[string]string
	rotation int
}

// stripes draws frame i: the left half encodes the frame index (red = 8·(i mod 32),
// green = 8·(i div 32), steps large enough to survive lossy coding), the right half is blue.
func stripes(w, h, i int) []byte {
	b := make([]byte, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := (y*w + x) * 3
			if x < w/2 {
				b[o], b[o+1], b[o+2] = byte(8*(i%32)), byte(8*(i/32)), 64
			} else {
				b[o], b[o+1], b[o+2] = 20, 40, 220
			}
		}
	}
	return b
}

// frameIndexAt reads back the frame index that stripes drew, from a pixel of the left half.
func frameIndexAt(img image.Image, x, y int) int {
	r, g, _ := rgbAt(img, x, y)
	return (r+4)/8 + 32*((g+4)/8)
}

// writeFixture encodes f into dir and returns its path.
func writeFixture(t testing.TB, dir string, f fixture, draw func(w, h, i int) []byte) string {
	t.Helper()
	path := filepath.Join(dir, f.name)
	opts := f.opts
	if opts == nil && (f.codec == "libx264" || f.codec == "libx265") {
		opts = map[string]string{"preset": "ultrafast"}
	}
	e, err := av.NewEncoder(path, av.EncoderParams{Codec: f.codec, Format: f.format, Width: f.w, Height: f.h,
		FPS: f.fps, GOP: f.gop, PixFmt: f.pixfmt, Options: opts, Rotation: f.rotation})
	if err != nil {
		t.Fatalf("encoder %s: %v", f.codec, err)
	}
	for i := 0; i < f.n; i++ {
		if err := e.WriteRGB(draw(f.w, f.h, i)); err != nil {
			t.Fatalf("encoding %s frame %d: %v", f.name, i, err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatalf("closing %s: %v", f.name, err)
	}
	return path
}

func decodeJPEG(t testing.TB, b []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding JPEG: %v", err)
	}
	return img
}

func rgbAt(img image.Image, x, y int) (int, int, int) {
	r, g, b, _ := img.At(x, y).RGBA()
	return int(r >> 8), int(g >> 8), int(b >> 8)
}
