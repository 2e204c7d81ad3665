package model

// Vision pretraining's scores by kind of target: the overall share of targets right hides what
// matters, since most targets are 0 (a colour absent from a frame) and a head that answers 0
// everywhere is already right on most of them.

// VisionScores is the trained head's scores on the training videos and on held-out ones.
type VisionScores struct {
	Train, Heldout map[string]VisionGroupScore
}

// Vision target groups (VisionTargets): an object colour in a frame (temporal tokens), an object
// colour in a patch over the frames (spatial tokens), the background, and a patch holding an
// object in a given frame.
const (
	GroupFrameColour = "frame_colour"
	GroupPatchColour = "patch_colour"
	GroupBackground  = "background"
	GroupPatchFrame  = "patch_frame"
)

// VisionGroupScore counts one group's targets: all of them, those right (probability on the right
// side of ½), the positives (target 1) and the positives found.
type VisionGroupScore struct {
	Targets, Right, Positives, Found int
}

// Accuracy is the share of targets right.
func (g VisionGroupScore) Accuracy() float64 { return ratio(g.Right, g.Targets) }

// Recall is the share of positives found.
func (g VisionGroupScore) Recall() float64 { return ratio(g.Found, g.Positives) }

// Balanced is the mean of the recall and the share of negatives right: ½ for a head that answers
// the same everywhere.
func (g VisionGroupScore) Balanced() float64 {
	negRight := g.Right - g.Found
	return (g.Recall() + ratio(negRight, g.Targets-g.Positives)) / 2
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// visionGroup names the group of target k of video token t.
func visionGroup(t, k, frames, nObj, nc int) string {
	switch {
	case k < nObj && t < frames:
		return GroupFrameColour
	case k < nObj:
		return GroupPatchColour
	case k < nc:
		return GroupBackground
	}
	return GroupPatchFrame
}

// scoreVisionHead scores the head (weights hw [K,C], biases hb) on videos against their targets
// and masks (VisionTargets), bs at a time.
func (m *Model) scoreVisionHead(videos, ys, masks [][]float32, pal VisionPalette, hw, hb []float32, bs int) map[string]VisionGroupScore {
	v, C, vt := m.Config.Vision, m.Config.HiddenSize, m.Config.VideoTokens()
	K, pd := pal.targets(v.NumFrames), v.NumFrames*v.Patches()*v.PatchDim()
	nObj, nc := len(pal.Objects), len(pal.Objects)+len(pal.Backgrounds)
	out := map[string]VisionGroupScore{}
	a := m.ensureActs(bs, vt)
	b := &Batch{B: bs, T: vt, Patches: make([]float32, bs*pd)}
	logits := make([]float32, bs*vt*K)
	for i := 0; i < len(videos); i += bs {
		n := min(bs, len(videos)-i)
		clear(b.Patches)
		for r := range n {
			copy(b.Patches[r*pd:(r+1)*pd], videos[i+r])
		}
		m.visionForward(a, b)
		MatmulForward(logits, a.vtok, hw, hb, bs*vt, C, K)
		for r := range n {
			y, mask := ys[i+r], masks[i+r]
			for t := range vt {
				for k := range K {
					j := t*K + k
					if mask[j] == 0 {
						continue
					}
					name := visionGroup(t, k, v.NumFrames, nObj, nc)
					g := out[name]
					pos, said := y[j] > 0.5, logits[r*vt*K+j] > 0 // sigmoid(z) > ½ ⇔ z > 0
					g.Targets++
					if pos == said {
						g.Right++
					}
					if pos {
						g.Positives++
						if said {
							g.Found++
						}
					}
					out[name] = g
				}
			}
		}
	}
	return out
}
