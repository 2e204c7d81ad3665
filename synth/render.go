package synth

import (
	"fmt"

	"github.com/vrlaif/vrlaif/internal/av"
	"github.com/vrlaif/vrlaif/schemas"
)

// DrawFrame returns frame i of the clip as packed RGB24 rows.
func DrawFrame(t schemas.Truth, i int) []byte {
	w, h := int(t.Width), int(t.Height)
	img := make([]byte, w*h*3)
	bg := BackgroundRGB[t.Background]
	for p := 0; p < w*h; p++ {
		copy(img[p*3:p*3+3], bg[:])
	}
	at := float64(i) / float64(t.FPS)
	for _, o := range t.Objects {
		if !o.Visible(at) {
			continue
		}
		cx, cy := o.Position(at)
		r := float64(o.Pixels) / 2
		col := ColorRGB[o.Color]
		x0, x1 := max(0, int(cx-r)-1), min(w-1, int(cx+r)+1)
		y0, y1 := max(0, int(cy-r)-1), min(h-1, int(cy+r)+1)
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				if Inside(o.Shape, float64(x)+0.5-cx, float64(y)+0.5-cy, r) {
					copy(img[(y*w+x)*3:], col[:])
				}
			}
		}
	}
	return img
}

// Inside reports whether the offset (dx, dy) from a shape's centre lies in the shape of
// radius (half side) r. Triangles point up.
func Inside(shape string, dx, dy, r float64) bool {
	switch shape {
	case "circle":
		return dx*dx+dy*dy <= r*r
	case "square":
		return dx >= -r && dx <= r && dy >= -r && dy <= r
	case "triangle":
		return dy >= -r && dy <= r && 2*abs(dx) <= dy+r
	}
	return false
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// Render encodes the clip as H.264 (libx264, yuv420p, a keyframe every second) in an MP4 at path.
func Render(t schemas.Truth, path string) error {
	e, err := av.NewEncoder(path, av.EncoderParams{Codec: "libx264", Width: int(t.Width), Height: int(t.Height),
		FPS: int(t.FPS), GOP: int(t.FPS), Options: map[string]string{"preset": "veryfast", "crf": "20"}})
	if err != nil {
		return fmt.Errorf("synth: rendering %s: %w", t.ClipID, err)
	}
	for i := 0; i < int(t.FrameCount); i++ {
		if err := e.WriteRGB(DrawFrame(t, i)); err != nil {
			e.Close()
			return fmt.Errorf("synth: rendering %s frame %d: %w", t.ClipID, i, err)
		}
	}
	if err := e.Close(); err != nil {
		return fmt.Errorf("synth: rendering %s: %w", t.ClipID, err)
	}
	return nil
}
