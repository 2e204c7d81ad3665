package model

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"
)

// bigPNG is a one-colour PNG of w×h pixels: kilobytes on the wire, w·h bytes once decoded.
func bigPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A frame above MaxFramePixels is refused from its header, before its pixels are decoded, with
// an error that names its size and the limit; frames within it still turn into patches.
func TestVideoPatchesRefusesHugeFrames(t *testing.T) {
	vc := Tiny(24).Vision
	big := bigPNG(t, 3841, 2160) // one column over 3840×2160
	small := bigPNG(t, 40, 30)
	if _, err := VideoPatches([][]byte{small, small}, vc); err != nil {
		t.Fatalf("small frames: %v", err)
	}
	_, err := VideoPatches([][]byte{small, big}, vc)
	if !errors.Is(err, ErrFrameTooLarge) || !strings.Contains(err.Error(), "3841x2160") || !strings.Contains(err.Error(), "frame 1") {
		t.Errorf("VideoPatches with a 3841x2160 frame: %v, want ErrFrameTooLarge naming frame 1 and its size", err)
	}
	if _, err := Patchify(big, vc); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("Patchify of a 3841x2160 frame: %v, want ErrFrameTooLarge", err)
	}
}
