package frames

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/asticode/go-astiav"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
)

func mustExtract(t *testing.T, path string, p Params) schemas.Clip {
	t.Helper()
	clip, err := ExtractFile(t.Context(), path, p)
	if err != nil {
		var log string
		if fe, ok := err.(*Error); ok {
			log = fe.Log
		}
		t.Fatalf("ExtractFile(%s): %v\nFFmpeg log:\n%s", filepath.Base(path), err, log)
	}
	return clip
}

// Timestamps are exact multiples of 1/fps, so on a constant-frame-rate file the sampled times
// must equal the planned ones to float rounding (1e-6 s: both are rounded to microseconds).
const timeTol = 1e-6

func TestSampledTimestampsMatchPlan(t *testing.T) {
	dir := t.TempDir()
	wp := synth.DefaultParams()
	for i := 0; i < 4; i++ {
		truth := synth.Scene(wp, i)
		path := filepath.Join(dir, truth.ClipID+".mp4")
		if err := synth.Render(truth, path); err != nil {
			t.Fatal(err)
		}
		for _, k := range []int{8, 50} {
			p := DefaultParams()
			p.Frames = k
			clip := mustExtract(t, path, p)
			if clip.FrameCount != int64(truth.FrameCount) {
				t.Fatalf("%s: frame count %d, truth %d", truth.ClipID, clip.FrameCount, truth.FrameCount)
			}
			idx := UniformIndices(int64(truth.FrameCount), k)
			if len(clip.Frames) != k || len(clip.TimestampsSeconds) != k {
				t.Fatalf("%s: %d frames, %d timestamps, want %d", truth.ClipID, len(clip.Frames), len(clip.TimestampsSeconds), k)
			}
			for j, x := range idx {
				want := float64(x) / float64(truth.FPS)
				if math.Abs(clip.PlannedSeconds[j]-want) > timeTol || math.Abs(clip.TimestampsSeconds[j]-want) > timeTol {
					t.Errorf("%s k=%d sample %d: planned %.6f, sampled %.6f, want frame %d at %.6f",
						truth.ClipID, k, j, clip.PlannedSeconds[j], clip.TimestampsSeconds[j], x, want)
				}
			}
		}
	}
}

// nearestColor names the palette or background colour closest to (r, g, b).
func nearestColor(r, g, b int) string {
	best, bestD := "", math.MaxFloat64
	for name, c := range synth.ColorRGB {
		if d := sq(r-int(c[0])) + sq(g-int(c[1])) + sq(b-int(c[2])); d < bestD {
			best, bestD = name, d
		}
	}
	for name, c := range synth.BackgroundRGB {
		if d := sq(r-int(c[0])) + sq(g-int(c[1])) + sq(b-int(c[2])); d < bestD {
			best, bestD = "bg:"+name, d
		}
	}
	return best
}

func sq(x int) float64 { return float64(x * x) }

func TestObjectColorsMatchTruth(t *testing.T) {
	dir := t.TempDir()
	wp := synth.DefaultParams()
	p := DefaultParams()
	p.Frames = 12
	p.Size, p.Pad = 0, false // native 128×128: truth coordinates are pixel coordinates
	checked := 0
	for i := 0; i < 8; i++ {
		truth := synth.Scene(wp, i)
		path := filepath.Join(dir, truth.ClipID+".mp4")
		if err := synth.Render(truth, path); err != nil {
			t.Fatal(err)
		}
		clip := mustExtract(t, path, p)
		for j, jpg := range clip.Frames {
			img := decodeJPEG(t, jpg)
			at := clip.TimestampsSeconds[j]
			for k, o := range truth.Objects {
				if !o.Visible(at) {
					continue
				}
				cx, cy := o.Position(at)
				if coveredLater(truth, k, at, cx, cy) {
					continue
				}
				r, g, b := rgbAt(img, int(cx), int(cy))
				if got := nearestColor(r, g, b); got != o.Color {
					t.Errorf("%s at %.3f s: pixel (%d,%d) of the %s %s is (%d,%d,%d) ≈ %s",
						truth.ClipID, at, int(cx), int(cy), o.Color, o.Shape, r, g, b, got)
				}
				checked++
			}
			// A corner far from every object shows the background.
			if free := cornerFree(truth, at); free != nil {
				r, g, b := rgbAt(img, free[0], free[1])
				if got := nearestColor(r, g, b); got != "bg:"+truth.Background {
					t.Errorf("%s at %.3f s: background pixel %v is %s, want %s", truth.ClipID, at, free, got, truth.Background)
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d object pixels checked", checked)
	}
}

// coveredLater reports whether an object drawn after object k covers (x, y) at time at.
func coveredLater(truth schemas.Truth, k int, at, x, y float64) bool {
	for _, o := range truth.Objects[k+1:] {
		if o.Visible(at) {
			ox, oy := o.Position(at)
			if synth.Inside(o.Shape, x-ox, y-oy, float64(o.Pixels)/2+3) {
				return true
			}
		}
	}
	return false
}

func cornerFree(truth schemas.Truth, at float64) []int {
	for _, c := range [][]int{{3, 3}, {int(truth.Width) - 4, 3}, {3, int(truth.Height) - 4}, {int(truth.Width) - 4, int(truth.Height) - 4}} {
		free := true
		for _, o := range truth.Objects {
			ox, oy := o.Position(at)
			if o.Visible(at) && math.Hypot(float64(c[0])-ox, float64(c[1])-oy) < float64(o.Pixels)+4 {
				free = false
			}
		}
		if free {
			return c
		}
	}
	return nil
}

func TestSeekingTakesTheSameFramesAsOnePass(t *testing.T) {
	dir := t.TempDir()
	// 40 s at 25 fps with a keyframe every 2 s: 8 samples are ~5.7 s apart, far more than a GOP.
	path := writeFixture(t, dir, fixture{name: "long.mp4", codec: "libx264", w: 192, h: 108, fps: 25, n: 1000, gop: 50}, stripes)
	p := DefaultParams()
	p.Frames, p.Size, p.Pad = 8, 0, false
	p.Seek = SeekNever
	seq := mustExtract(t, path, p)
	p.Seek = SeekAuto
	sk := mustExtract(t, path, p)
	if seq.Seeks != 0 || sk.Seeks == 0 {
		t.Fatalf("seeks: sequential %d (want 0), auto %d (want > 0)", seq.Seeks, sk.Seeks)
	}
	if sk.DecodedFrames*3 > seq.DecodedFrames {
		t.Errorf("seeking decoded %d frames, one pass %d: want at most a third", sk.DecodedFrames, seq.DecodedFrames)
	}
	for j, x := range UniformIndices(1000, 8) {
		if sk.TimestampsSeconds[j] != seq.TimestampsSeconds[j] {
			t.Errorf("sample %d: seek took %.3f s, one pass %.3f s", j, sk.TimestampsSeconds[j], seq.TimestampsSeconds[j])
		}
		if got := frameIndexAt(decodeJPEG(t, sk.Frames[j]), 20, 54); got != int(x) {
			t.Errorf("sample %d: the seeking path's frame shows index %d, want %d", j, got, x)
		}
		if !bytes.Equal(sk.Frames[j], seq.Frames[j]) {
			t.Errorf("sample %d: JPEG differs between seeking and one pass", j)
		}
	}
}

func TestCodecCoverage(t *testing.T) {
	tests := []fixture{
		{name: "h264.mp4", codec: "libx264"},
		{name: "h264-10bit.mp4", codec: "libx264", pixfmt: astiav.PixelFormatYuv420P10Le},
		{name: "h264-444.mp4", codec: "libx264", pixfmt: astiav.PixelFormatYuv444P},
		{name: "hevc.mp4", codec: "libx265", opts: map[string]string{"preset": "ultrafast", "x265-params": "log-level=error"}},
		{name: "hevc-10bit.mkv", codec: "libx265", pixfmt: astiav.PixelFormatYuv420P10Le, opts: map[string]string{"preset": "ultrafast", "x265-params": "log-level=error"}},
		{name: "vp9.webm", codec: "libvpx-vp9", opts: map[string]string{"deadline": "realtime", "cpu-used": "8"}},
		{name: "mpeg2.mpg", codec: "mpeg2video", format: "mpeg"},
		{name: "mpeg2.ts", codec: "mpeg2video", format: "mpegts"},
		{name: "av1.mkv", codec: "libsvtav1", opts: map[string]string{"preset": "12"}},
		{name: "mpeg4.avi", codec: "mpeg4"},
	}
	dir := t.TempDir()
	for _, f := range tests {
		t.Run(f.name, func(t *testing.T) {
			if astiav.FindEncoderByName(f.codec) == nil {
				t.Skipf("this FFmpeg cannot encode %s, so no fixture can be made", f.codec)
			}
			f.w, f.h, f.fps, f.n, f.gop = 128, 96, 25, 60, 25
			path := writeFixture(t, dir, f, stripes)
			p := DefaultParams()
			p.Frames, p.Size, p.Pad = 5, 0, false
			clip := mustExtract(t, path, p)
			if clip.FrameWidth != 128 || clip.FrameHeight != 96 {
				t.Errorf("frames are %dx%d, want 128x96", clip.FrameWidth, clip.FrameHeight)
			}
			for j, x := range UniformIndices(clip.FrameCount, 5) {
				if got := frameIndexAt(decodeJPEG(t, clip.Frames[j]), 20, 48); got != int(x) {
					t.Errorf("sample %d (%.3f s): frame shows index %d, want %d (frame count %d)", j, clip.TimestampsSeconds[j], got, x, clip.FrameCount)
				}
			}
			t.Logf("%s: codec %s, %s, %d frames, seeks %d", f.name, clip.Codec, clip.PixelFormat, clip.FrameCount, clip.Seeks)
		})
	}
}

// halves draws the top half red and the bottom half blue.
func halves(w, h, _ int) []byte {
	b := make([]byte, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if y < h/2 {
				b[(y*w+x)*3] = 230
			} else {
				b[(y*w+x)*3+2] = 230
			}
		}
	}
	return b
}

func TestRotationMetadataIsHonoured(t *testing.T) {
	dir := t.TempDir()
	// Where the red half ends up after the display rotation, in the 96×160 (or 160×96) output.
	tests := []struct {
		rot  int
		w, h int32
		redX int
		redY int
	}{
		{90, 96, 160, 80, 80},  // clockwise: the top goes right
		{180, 160, 96, 80, 80}, // the top goes down
		{270, 96, 160, 15, 80}, // counter-clockwise: the top goes left
	}
	for _, tt := range tests {
		path := writeFixture(t, dir, fixture{name: "rot.mp4", codec: "libx264", w: 160, h: 96, fps: 10, n: 5, rotation: tt.rot}, halves)
		p := DefaultParams()
		p.Frames, p.Size, p.Pad = 1, 0, false
		clip := mustExtract(t, path, p)
		if clip.Rotation != int32(tt.rot) || clip.FrameWidth != tt.w || clip.FrameHeight != tt.h {
			t.Fatalf("rotation %d: got rotation %d, %dx%d; want %dx%d", tt.rot, clip.Rotation, clip.FrameWidth, clip.FrameHeight, tt.w, tt.h)
		}
		img := decodeJPEG(t, clip.Frames[0])
		if r, _, b := rgbAt(img, tt.redX, tt.redY); r < 180 || b > 60 {
			t.Errorf("rotation %d: pixel (%d,%d) is r=%d b=%d, want red", tt.rot, tt.redX, tt.redY, r, b)
		}
		if cli, err := exec.LookPath("ffmpeg"); err == nil { // the ffmpeg CLI autorotates: we must agree
			raw := filepath.Join(dir, "cli.rgb")
			out, err := exec.Command(cli, "-v", "error", "-y", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", raw).CombinedOutput()
			if err != nil {
				t.Fatalf("ffmpeg: %v: %s", err, out)
			}
			b, _ := os.ReadFile(raw)
			o := (tt.redY*int(tt.w) + tt.redX) * 3
			if len(b) != int(tt.w*tt.h*3) || b[o] < 180 {
				t.Errorf("rotation %d: the ffmpeg CLI disagrees (%d bytes, red %d at the same pixel)", tt.rot, len(b), b[min(o, len(b)-1)])
			}
		} else {
			t.Log("ffmpeg CLI not installed: skipping the cross-check with its autorotation")
		}
	}
}

func TestPadToSquareUsesSeedFill(t *testing.T) {
	dir := t.TempDir()
	path := writeFixture(t, dir, fixture{name: "wide.mp4", codec: "libx264", w: 160, h: 96, fps: 10, n: 5}, halves)
	p := DefaultParams()
	p.Frames, p.Size, p.Pad = 1, 224, true
	clip := mustExtract(t, path, p)
	if clip.FrameWidth != 224 || clip.FrameHeight != 224 {
		t.Fatalf("padded frame is %dx%d", clip.FrameWidth, clip.FrameHeight)
	}
	img := decodeJPEG(t, clip.Frames[0])
	// Content is 224×134 centred: rows 0..44 and 179..223 are padding.
	for _, y := range []int{5, 40, 185, 220} {
		r, g, b := rgbAt(img, 112, y)
		// JPEG (quality 90, 4:2:0) keeps a flat area within a few levels; 6 allows for ringing.
		if abs(r-122) > 6 || abs(g-116) > 6 || abs(b-104) > 6 {
			t.Errorf("padding at y=%d is (%d,%d,%d), want (122,116,104)", y, r, g, b)
		}
	}
	if r, _, _ := rgbAt(img, 112, 60); r < 180 {
		t.Errorf("content row 60 should be red, r=%d", r)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestSkippingNonReferenceFramesChangesNothing(t *testing.T) {
	dir := t.TempDir()
	// veryfast uses B-frames, some of which nothing references: those are what skipping drops.
	path := writeFixture(t, dir, fixture{name: "b.mp4", codec: "libx264", w: 128, h: 96, fps: 25, n: 200, gop: 250,
		opts: map[string]string{"preset": "veryfast"}}, stripes)
	p := DefaultParams()
	p.Frames, p.Size, p.Pad = 16, 0, false
	skip := mustExtract(t, path, p)
	p.noSkip = true
	full := mustExtract(t, path, p)
	if full.DecodedFrames != 200 || skip.DecodedFrames >= full.DecodedFrames {
		t.Errorf("decoded %d frames with skipping, %d without (want fewer, and 200)", skip.DecodedFrames, full.DecodedFrames)
	}
	for j := range full.Frames {
		if !bytes.Equal(skip.Frames[j], full.Frames[j]) || skip.TimestampsSeconds[j] != full.TimestampsSeconds[j] {
			t.Errorf("sample %d differs when non-reference frames are skipped", j)
		}
	}
}
