package frames

import (
	"testing"
)

func TestSmoke(t *testing.T) {
	dir := t.TempDir()
	path := writeFixture(t, dir, fixture{name: "a.mp4", codec: "libx264", w: 160, h: 96, fps: 10, n: 30, gop: 10}, stripes)
	p := DefaultParams()
	p.Frames = 8
	clip, err := Extract(t.Context(), path, p)
	if err != nil {
		t.Fatalf("%v (%s)", err, err.(*Error).Log)
	}
	t.Logf("%+v", clip.TimestampsSeconds)
	t.Logf("%v %v %d %d seeks=%d decoded=%d", clip.PlannedSeconds, clip.Codec, clip.FrameWidth, clip.FrameHeight, clip.Seeks, clip.DecodedFrames)
	for i, f := range clip.Frames {
		img := decodeJPEG(t, f)
		r, g, b := rgbAt(img, 60, 112)
		t.Logf("frame %d: %d bytes, %v, left %d %d %d", i, len(f), img.Bounds(), r, g, b)
	}
}
