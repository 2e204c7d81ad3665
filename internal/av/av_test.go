package av

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/asticode/go-astiav"
)

func encode(t *testing.T, path string, n, gop int) {
	t.Helper()
	e, err := NewEncoder(path, EncoderParams{Codec: "libx264", Width: 64, Height: 48, FPS: 10, GOP: gop,
		Options: map[string]string{"preset": "ultrafast"}})
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 64*48*3)
	for i := 0; i < n; i++ {
		frame[0] = byte(i)
		if err := e.WriteRGB(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, path string) (*astiav.FormatContext, *astiav.Stream) {
	t.Helper()
	fc := astiav.AllocFormatContext()
	if err := fc.OpenInput(path, nil, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fc.CloseInput(); fc.Free() })
	if err := fc.FindStreamInfo(nil); err != nil {
		t.Fatal(err)
	}
	return fc, fc.Streams()[0]
}

func TestKeyframeIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.mp4")
	encode(t, path, 50, 10)
	_, st := open(t, path)
	kf := KeyframeIndex(st)
	// 10 fps in the muxer's time base: keyframes every second.
	want := []int64{0, 1, 2, 3, 4}
	for i := range kf {
		kf[i] = int64(float64(kf[i]) * st.TimeBase().Float64())
	}
	if !slices.Equal(kf, want) {
		t.Errorf("keyframes at %v s, want %v", kf, want)
	}
	if IsAttachedPicture(st) {
		t.Error("a video stream reported as cover art")
	}
}

func TestLogRoutesLinesToTheirFile(t *testing.T) {
	var a, b Log
	fa, fb := astiav.AllocFormatContext(), astiav.AllocFormatContext()
	defer fa.Free()
	defer fb.Free()
	Attach(fa, &a)
	Attach(fb, &b)
	astiav.Log(fa, astiav.LogLevelError, "%s", "trouble in a")
	astiav.Log(fb, astiav.LogLevelWarning, "%s", "trouble in b")
	astiav.Log(fa, astiav.LogLevelInfo, "%s", "chatter below the level") // filtered
	Detach(fa)
	Detach(fb)
	if got := a.String(); !strings.Contains(got, "error: trouble in a") || strings.Contains(got, "trouble in b") {
		t.Errorf("log a = %q", got)
	}
	if got := b.Lines(); len(got) != 1 || !strings.Contains(got[0], "warning: trouble in b") {
		t.Errorf("log b = %q", got)
	}
	if strings.Contains(a.String(), "chatter") {
		t.Error("info line captured below the warning level")
	}
}

func TestEncoderRejectsBadInput(t *testing.T) {
	if _, err := NewEncoder(filepath.Join(t.TempDir(), "x.mp4"), EncoderParams{Codec: "no-such-codec", Width: 64, Height: 48, FPS: 10}); err == nil {
		t.Error("unknown encoder accepted")
	}
	e, err := NewEncoder(filepath.Join(t.TempDir(), "y.mp4"), EncoderParams{Codec: "libx264", Width: 64, Height: 48, FPS: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.WriteRGB(make([]byte, 10)); err == nil {
		t.Error("short frame accepted")
	}
}
