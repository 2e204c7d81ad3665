package model

import (
	"image"
	"image/color"
	"math/rand/v2"
	"slices"
	"testing"
)

var testPalette = VisionPalette{Objects: [][3]byte{{220, 40, 40}, {40, 80, 220}}, Backgrounds: [][3]byte{{15, 15, 15}, {240, 240, 240}}}

// testFrame draws an ImageSize² frame of background bg with a PatchSize² square of colour obj on
// patch p (p < 0: none).
func testFrame(t *testing.T, v VisionConfig, bg, obj [3]byte, p int) []float32 {
	if p < 0 {
		return testSquare(t, v, bg, obj, 0, 0, 0)
	}
	per := v.ImageSize / v.PatchSize
	return testSquare(t, v, bg, obj, p%per*v.PatchSize, p/per*v.PatchSize, v.PatchSize)
}

// testSquare draws an ImageSize² frame of background bg with a side² square of colour obj whose
// top left pixel is (x0, y0).
func testSquare(t *testing.T, v VisionConfig, bg, obj [3]byte, x0, y0, side int) []float32 {
	img := image.NewRGBA(image.Rect(0, 0, v.ImageSize, v.ImageSize))
	for y := 0; y < v.ImageSize; y++ {
		for x := 0; x < v.ImageSize; x++ {
			c := bg
			if x >= x0 && x < x0+side && y >= y0 && y < y0+side {
				c = obj
			}
			img.Set(x, y, color.RGBA{c[0], c[1], c[2], 255})
		}
	}
	out, err := PatchifyImage(img, v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVisionTargetsReadColoursBackgroundAndWhereObjectsAre(t *testing.T) {
	v := Tiny(24).Vision // 2 frames of 2×2 patches: 2 temporal + 4 spatial tokens
	red, white := testPalette.Objects[0], testPalette.Backgrounds[1]
	// frame 0: a red square on patch 0; frame 1: on patch 3 (it moved)
	patches := append(testFrame(t, v, white, red, 0), testFrame(t, v, white, red, 3)...)
	y, mask := VisionTargets(v, patches, testPalette)
	const K = 2 + 2 + 2 // red, blue, black, white, frame 0, frame 1
	want := [][]float32{
		{1, 0, 0, 1, 0, 0}, // frame 0 (temporal): red on white
		{1, 0, 0, 1, 0, 0}, // frame 1
		{1, 0, 0, 1, 1, 0}, // patch 0 (spatial): red, in frame 0
		{0, 0, 0, 1, 0, 0}, // patch 1: empty
		{0, 0, 0, 1, 0, 0}, // patch 2: empty
		{1, 0, 0, 1, 0, 1}, // patch 3: red, in frame 1
	}
	for tok, w := range want {
		if got := y[tok*K : (tok+1)*K]; !slices.Equal(got, w) {
			t.Errorf("token %d targets %v, want %v", tok, got, w)
		}
		wantMask := []float32{1, 1, 1, 1, 1, 1}
		if tok < v.NumFrames { // a temporal token has no frame bits
			wantMask = []float32{1, 1, 1, 1, 0, 0}
		}
		if got := mask[tok*K : (tok+1)*K]; !slices.Equal(got, wantMask) {
			t.Errorf("token %d mask %v, want %v", tok, got, wantMask)
		}
	}
}

// A frame has an object's colour when the frame holds enough of it, even split between patches
// that each hold too little of it to count.
func TestVisionTargetsSeeASmallObjectSplitBetweenPatches(t *testing.T) {
	v := Tiny(24).Vision // 8×8 frames of four 4×4 patches: a patch counts 2 pixels, a frame 1
	red, blue, white := testPalette.Objects[0], testPalette.Objects[1], testPalette.Backgrounds[1]
	// frame 0: a 2×2 red square on the four patches' corner (1 pixel each); frame 1: a 2×2 blue
	// square inside patch 0 (4 pixels)
	y, _ := VisionTargets(v, append(testSquare(t, v, white, red, 3, 3, 2), testSquare(t, v, white, blue, 1, 1, 2)...), testPalette)
	const K = 2 + 2 + 2 // red, blue, black, white, frame 0, frame 1
	want := [][]float32{
		{1, 0, 0, 1, 0, 0}, // frame 0: red, though no patch holds enough of it
		{0, 1, 0, 1, 0, 0}, // frame 1: blue
		{0, 1, 0, 1, 0, 1}, // patch 0: blue, in frame 1
		{0, 0, 0, 1, 0, 0}, // patches 1–3: nothing
		{0, 0, 0, 1, 0, 0},
		{0, 0, 0, 1, 0, 0},
	}
	for tok, w := range want {
		if got := y[tok*K : (tok+1)*K]; !slices.Equal(got, w) {
			t.Errorf("token %d targets %v, want %v", tok, got, w)
		}
	}
}

// Pretraining lowers its loss and changes only the vision tower and the projector.
func TestPretrainVisionLearnsAndLeavesTheDecoderAlone(t *testing.T) {
	c := Tiny(24)
	m, err := New(c, 3)
	if err != nil {
		t.Fatal(err)
	}
	v := c.Vision
	rng := rand.New(rand.NewPCG(5, 5))
	var videos [][]float32
	for range 128 {
		bg := testPalette.Backgrounds[rng.IntN(2)]
		obj := testPalette.Objects[rng.IntN(2)]
		var vid []float32
		for range v.NumFrames {
			vid = append(vid, testFrame(t, v, bg, obj, rng.IntN(v.Patches()+1)-1)...)
		}
		videos = append(videos, vid)
	}
	before := slices.Clone(m.W)
	var scores VisionScores
	first, last, err := m.PretrainVision(t.Context(), videos[:96], testPalette,
		VisionPretrainConfig{Steps: 1000, BatchSize: 8, LR: 3e-3, Seed: 1, Heldout: videos[96:]}, nil, &scores)
	if err != nil {
		t.Fatal(err)
	}
	// every kind of target is learnt (½ is a head that says the same everywhere; the tiny tower
	// reaches 0.72–0.74 on the patch-frame bits, ≥ 0.9 on the rest) and carries over to
	// held-out videos drawn as the training ones are (0.1 leaves room for 32 videos' noise)
	for _, g := range []string{GroupFrameColour, GroupPatchColour, GroupBackground, GroupPatchFrame} {
		tr, ho := scores.Train[g], scores.Heldout[g]
		t.Logf("%s: balanced accuracy train %.3f, held-out %.3f", g, tr.Balanced(), ho.Balanced())
		if tr.Balanced() < 0.65 || ho.Balanced() < tr.Balanced()-0.1 {
			t.Errorf("%s: balanced accuracy train %.2f (%+v), held-out %.2f (%+v)", g, tr.Balanced(), tr, ho.Balanced(), ho)
		}
	}
	// at the start the head guesses (loss ≈ ln 2); the targets are a function of the pixels, so a
	// loss still above half of that after 1000 steps means it did not learn
	if !(last.Loss < first.Loss/2) || !(last.Accuracy > first.Accuracy) || last.Accuracy < 0.9 {
		t.Errorf("pretraining went from loss %.3f (%.2f right) to %.3f (%.2f right)", first.Loss, first.Accuracy, last.Loss, last.Accuracy)
	}
	for _, p := range m.Params {
		changed := !slices.Equal(before[p.Offset:p.Offset+p.Size], m.W[p.Offset:p.Offset+p.Size])
		if changed != IsVisionParam(p.Name) {
			t.Errorf("%s changed: %v", p.Name, changed)
		}
	}
	if anyNonZero(m.G) {
		t.Error("pretraining left gradients behind")
	}
}

// FreezeVision leaves the vision gradients at zero and the decoder's as they are.
func TestFreezeVisionKeepsTheDecoderGradients(t *testing.T) {
	c := Tiny(24)
	m, err := New(c, 4)
	if err != nil {
		t.Fatal(err)
	}
	b := tinyBatch(c, rand.New(rand.NewPCG(6, 6)), 2, c.VideoTokens()+6)
	grads := func(freeze bool) []float32 {
		m.FreezeVision = freeze
		if _, err := m.Forward(b); err != nil {
			t.Fatal(err)
		}
		m.ZeroGrad()
		m.Backward(b)
		return slices.Clone(m.G)
	}
	free, frozen := grads(false), grads(true)
	for _, p := range m.Params {
		f, z := free[p.Offset:p.Offset+p.Size], frozen[p.Offset:p.Offset+p.Size]
		switch {
		case IsVisionParam(p.Name) && anyNonZero(z):
			t.Errorf("%s has a gradient with the vision frozen", p.Name)
		case IsVisionParam(p.Name) && !anyNonZero(f):
			t.Errorf("%s has no gradient unfrozen: the test shows nothing", p.Name)
		case !IsVisionParam(p.Name) && !slices.Equal(f, z):
			t.Errorf("%s's gradient changed with the vision frozen", p.Name)
		}
	}
}

func TestPretrainVisionRefusesNothingToLearn(t *testing.T) {
	m, err := New(Tiny(24), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.PretrainVision(t.Context(), nil, testPalette, VisionPretrainConfig{Steps: 1, BatchSize: 1, LR: 1e-3}, nil, nil); err == nil {
		t.Error("no videos: want an error")
	}
}

// The scores count every unmasked target once, in its group, against VisionTargets: a head that
// says "present" everywhere finds every positive and no negative; one that says "absent" the
// reverse.
func TestScoreVisionHeadCountsByGroup(t *testing.T) {
	c := Tiny(24)
	m, err := New(c, 7)
	if err != nil {
		t.Fatal(err)
	}
	v := c.Vision
	red, blue, white := testPalette.Objects[0], testPalette.Objects[1], testPalette.Backgrounds[1]
	videos := [][]float32{
		append(testFrame(t, v, white, red, 0), testFrame(t, v, white, red, 3)...),
		append(testFrame(t, v, white, blue, 1), testFrame(t, v, white, blue, -1)...),
		append(testFrame(t, v, white, red, -1), testFrame(t, v, white, red, -1)...),
	}
	K, C := testPalette.targets(v.NumFrames), c.HiddenSize
	hw := make([]float32, K*C)
	for _, bias := range []float32{1, -1} {
		hb := make([]float32, K)
		for i := range hb {
			hb[i] = bias
		}
		ys, masks := make([][]float32, len(videos)), make([][]float32, len(videos))
		for i, p := range videos {
			ys[i], masks[i] = VisionTargets(v, p, testPalette)
		}
		got := m.scoreVisionHead(videos, ys, masks, testPalette, hw, hb, 2) // batches of 2: the last is short
		// by hand from the videos above: 3 videos × 2 frames × 2 colours; × 4 patches × 2
		// colours; × 6 tokens × 2 backgrounds; × 4 patches × 2 frames
		want := map[string][2]int{ // targets, positives
			GroupFrameColour: {12, 3},  // red twice in video 0, blue once in video 1
			GroupPatchColour: {24, 3},  // red on patches 0 and 3, blue on patch 1
			GroupBackground:  {36, 18}, // white on every token
			GroupPatchFrame:  {24, 3},
		}
		for g, w := range want {
			s := got[g]
			if s.Targets != w[0] || s.Positives != w[1] {
				t.Errorf("%s: %d targets, %d positives; want %d, %d", g, s.Targets, s.Positives, w[0], w[1])
			}
			wantRight, wantFound := w[1], w[1]
			if bias < 0 {
				wantRight, wantFound = w[0]-w[1], 0
			}
			if s.Right != wantRight || s.Found != wantFound || s.Balanced() != 0.5 {
				t.Errorf("bias %v, %s: %d right, %d found, balanced %v; want %d, %d, 0.5", bias, g, s.Right, s.Found, s.Balanced(), wantRight, wantFound)
			}
		}
	}
}
