// Package backendtest holds what backend tests share: a small checkpoint on disk, synthetic
// frames, and the conformance suite every backend must pass.
package backendtest

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"path/filepath"
	"testing"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/model/tokenizer"
)

// corpus teaches the test tokenizer the template's words, so prompts stay short.
var corpus = []string{tokenizer.SystemV1, "USER: ASSISTANT: </s>", "A B", "Which response is better? Answer A or B.",
	"What color is the square? The square is red. A blue circle moves left across the frame.",
	"Describe this video in detail.", "Clip 1: a red square. Clip 2: a green triangle appears."}

// Checkpoint writes a randomly initialised model (Tiny, with room for 512 positions) and its
// tokenizer to a temporary folder and returns the folder. Random weights are enough: the suite
// checks determinism and consistency, not quality. Weights are scaled up so that distributions are
// sharp enough for sampling to differ from greedy decoding.
func Checkpoint(t testing.TB) string {
	t.Helper()
	tok, err := tokenizer.Train(corpus, 300)
	if err != nil {
		t.Fatal(err)
	}
	c := model.Tiny(tok.VocabSize())
	c.MaxPositionEmbeddings = 512
	m, err := model.New(c, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.W {
		m.W[i] *= 8
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := model.Save(dir, m); err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Frames returns n JPEG frames of a square moving across a 64×48 picture.
func Frames(t testing.TB, n int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		img := image.NewRGBA(image.Rect(0, 0, 64, 48))
		for y := 0; y < 48; y++ {
			for x := 0; x < 64; x++ {
				c := color.RGBA{30, 30, 60, 255}
				if x >= 4+i*6 && x < 16+i*6 && y >= 18 && y < 30 {
					c = color.RGBA{220, 40, 40, 255}
				}
				img.SetRGBA(x, y, c)
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		out[i] = buf.Bytes()
	}
	return out
}
