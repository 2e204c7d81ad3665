package frames

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/schemas"
)

// A seed-style frame folder (mixed JPEG and PNG, not square) becomes a clip of p.Frames padded,
// resized JPEG frames picked with the uniform rule; a broken frame is a dead letter's error.
func TestExtractImages(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := range 10 {
		img := image.NewRGBA(image.Rect(0, 0, 80, 40))
		for p := range img.Pix {
			img.Pix[p] = uint8(i * 20)
		}
		img.Set(0, 0, color.RGBA{255, 0, 0, 255})
		var buf bytes.Buffer
		name := filepath.Join(dir, fmt.Sprintf("image_%02d.jpg", i+1))
		if i%2 == 1 {
			name = filepath.Join(dir, fmt.Sprintf("image_%02d.png", i+1))
			png.Encode(&buf, img)
		} else {
			jpeg.Encode(&buf, img, nil)
		}
		os.WriteFile(name, buf.Bytes(), 0o644)
		paths = append(paths, name)
	}
	p := DefaultParams()
	p.Frames, p.Size = 4, 32
	clip, err := ExtractImages(context.Background(), paths, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(clip.Frames) != 4 || clip.FrameWidth != 32 || clip.FrameHeight != 32 || clip.Width != 80 || clip.Codec != "images" || clip.ID == "" {
		t.Fatalf("clip %+v", clip)
	}
	// Frames 0, 3, 6, 9 (linspace(0, 9, 4) truncated): their grey levels 0, 60, 120, 180 survive
	// JPEG at the centre of the padded square (±8 levels: two JPEG round trips).
	for k, i := range []int{0, 3, 6, 9} {
		img, err := jpeg.Decode(bytes.NewReader(clip.Frames[k]))
		if err != nil {
			t.Fatal(err)
		}
		r, _, _, _ := img.At(16, 16).RGBA()
		if got, want := int(r>>8), i*20; got < want-8 || got > want+8 {
			t.Errorf("frame %d: grey %d, want about %d", k, got, want)
		}
	}
	again, _ := ExtractImages(context.Background(), paths, p)
	if again.ID != clip.ID {
		t.Error("the same folder got a different clip id")
	}
	os.WriteFile(paths[3], []byte("not an image"), 0o644)
	if _, err := ExtractImages(context.Background(), paths, p); !errors.Is(err, ErrNotVideo) {
		t.Errorf("a broken frame: %v", err)
	}
	if _, err := ExtractTask(context.Background(), schemas.Task{ID: "x"}, p); !errors.Is(err, ErrUnreadable) {
		t.Errorf("a task with nothing to read: %v", err)
	}
}

// A frame whose header claims more pixels than the limit is refused from the header, before it is
// decoded: here a 100 000 × 100 000 PNG of 33 bytes (its header alone), which decoding would
// report as a truncated file (not_a_video) after trying to read the image.
func TestExtractImagesRefusesHugeFrameFromItsHeader(t *testing.T) {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2, 2)))
	b := buf.Bytes()[:33] // signature (8) + IHDR chunk (4 length, 4 type, 13 data, 4 CRC)
	binary.BigEndian.PutUint32(b[16:], 100000)
	binary.BigEndian.PutUint32(b[20:], 100000)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	path := filepath.Join(t.TempDir(), "image_01.png")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ExtractImages(context.Background(), []string{path}, DefaultParams())
	if !errors.Is(err, ErrOverLimit) || !strings.Contains(err.Error(), "100000x100000") {
		t.Fatalf("error %v, want ErrOverLimit naming 100000x100000", err)
	}
}
