package frames

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// wav writes a one-second 8 kHz mono PCM WAV file: a real media file with no video stream.
func wav(t *testing.T, path string) {
	t.Helper()
	const rate, n = 8000, 8000
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, 36+n*2)
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1) // PCM
	b = binary.LittleEndian.AppendUint16(b, 1) // mono
	b = binary.LittleEndian.AppendUint32(b, rate)
	b = binary.LittleEndian.AppendUint32(b, rate*2)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, n*2)
	for i := 0; i < n; i++ {
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(8000*((i/20)%2*2-1))))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// badFiles writes the bad-input set into dir and returns each file's expected error kind.
func badFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	good := writeFixture(t, dir, fixture{name: "source.mp4", codec: "libx264", w: 128, h: 96, fps: 25, n: 75, gop: 25}, stripes)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(good)
	rng := rand.New(rand.NewPCG(7, 7))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	flipped := append([]byte(nil), data...)
	// Flip bits throughout the media data (the mdat box), every 61st byte; the index stays intact,
	// so the file opens and the damage shows only when decoding.
	mdat := bytes.Index(flipped, []byte("mdat"))
	if mdat < 0 {
		t.Fatal("fixture has no mdat box")
	}
	size := int(binary.BigEndian.Uint32(flipped[mdat-4:]))
	for i := mdat + 64; i < mdat-4+size; i += 61 {
		flipped[i] ^= 0x5a
	}
	files := map[string][]byte{
		"empty.mp4":     nil,
		"random.mp4":    random,
		"notes.txt":     []byte("this is a text file, not a video\n"),
		"truncated.mp4": data[:len(data)*6/10],
		"flipped.mp4":   flipped,
	}
	want := map[string]string{
		"empty.mp4": "not_a_video", "random.mp4": "not_a_video", "notes.txt": "not_a_video",
		"truncated.mp4": "corrupt", "flipped.mp4": "corrupt", "audio.wav": "no_video_stream",
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wav(t, filepath.Join(dir, "audio.wav"))
	return want
}

func TestBadInputGetsATypedError(t *testing.T) {
	dir := t.TempDir()
	want := badFiles(t, dir)
	p := DefaultParams()
	for name, kind := range want {
		t.Run(name, func(t *testing.T) {
			_, err := ExtractFile(t.Context(), filepath.Join(dir, name), p)
			if err == nil {
				t.Fatalf("no error")
			}
			if got := Kind(err); got != kind {
				t.Errorf("kind %q (%v), want %q", got, err, kind)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error is %T, want *frames.Error", err)
			}
			t.Logf("%s: %v; FFmpeg log: %q", name, err, fe.Log)
		})
	}
}

func TestFFmpegLogIsCapturedPerFile(t *testing.T) {
	dir := t.TempDir()
	badFiles(t, dir)
	_, err := ExtractFile(t.Context(), filepath.Join(dir, "truncated.mp4"), DefaultParams())
	var fe *Error
	if !errors.As(err, &fe) || fe.Log == "" {
		t.Fatalf("truncated mp4: want FFmpeg's complaint in the error's log, got %v / %q", err, fe)
	}
}

func TestLimits(t *testing.T) {
	dir := t.TempDir()
	path := writeFixture(t, dir, fixture{name: "ok.mp4", codec: "libx264", w: 128, h: 96, fps: 25, n: 50, gop: 25}, stripes)
	tests := []struct {
		name  string
		limit func(*Limits)
	}{
		{"pixels", func(l *Limits) { l.MaxPixels = 128*96 - 1 }},
		{"duration", func(l *Limits) { l.MaxDuration = time.Second }},
		{"decode time", func(l *Limits) { l.MaxDecodeTime = time.Nanosecond }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultParams()
			tt.limit(&p.Limits)
			_, err := ExtractFile(t.Context(), path, p)
			if Kind(err) != "over_limit" {
				t.Errorf("got %v (kind %q), want over_limit", err, Kind(err))
			}
		})
	}
	if _, err := ExtractFile(t.Context(), path, DefaultParams()); err != nil {
		t.Errorf("within limits: %v", err)
	}
}

func TestMissingFileIsUnreadable(t *testing.T) {
	_, err := ExtractFile(t.Context(), filepath.Join(t.TempDir(), "nope.mp4"), DefaultParams())
	if Kind(err) != "unreadable" {
		t.Errorf("got %v (kind %q), want unreadable", err, Kind(err))
	}
}
