package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Vision pretraining: the vision tower and the projector learn to tell, from the pooled video
// tokens alone, which colours a video shows, its background, and in which frames each patch holds
// an object. Real video models start from a pretrained image encoder (CLIP); trained only through
// the language loss, our small tower gives the decoder nothing it can use, and SFT squeezes its
// tokens into one near-constant vector (see the README). The targets come from the pixels, by the
// nearest colour of the palette the synthetic world draws with, so no label is needed.

// VisionPalette is the exact colours a synthetic world draws: its object colours and backgrounds.
type VisionPalette struct {
	Objects, Backgrounds [][3]byte
}

// targets is the number of targets per video token: one per object colour, one per background and,
// for the spatial tokens only, one per frame (the patch holds an object in that frame).
func (p VisionPalette) targets(frames int) int { return len(p.Objects) + len(p.Backgrounds) + frames }

// VisionTargets gives one video's targets and mask [VideoTokens·targets] from its patches (as
// Patchify makes them): each pixel takes the nearest palette colour; a patch holds a colour when
// at least an eighth of its pixels have it. A temporal token (a frame) has an object colour when
// its frame has at least a sixteenth of a patch's pixels of it, counted over all its patches (4
// pixels for the small model: a small object split between patches counts, which the patch rule
// missed in a quarter of its frames); a spatial token (a patch position) when the patch has it
// in any frame, and its frame bits say in which frames the patch holds an object. Every token
// has the video's background (its most common background colour).
func VisionTargets(v VisionConfig, patches []float32, pal VisionPalette) (y, mask []float32) {
	F, P, pd := v.NumFrames, v.Patches(), v.PatchDim()
	nObj, nBg := len(pal.Objects), len(pal.Backgrounds)
	nc, K, px := nObj+nBg, pal.targets(F), pd/3
	refs := make([][3]float32, 0, nc)
	for _, c := range append(append([][3]byte{}, pal.Objects...), pal.Backgrounds...) {
		var r [3]float32
		for i := range r {
			r[i] = (float32(c[i])/255 - clipMean[i]) / clipStd[i]
		}
		refs = append(refs, r)
	}
	count := make([]int, F*P*nc) // pixels of each palette colour in each frame's patch
	for fp := 0; fp < F*P; fp++ {
		pat := patches[fp*pd : (fp+1)*pd]
		for i := 0; i < px; i++ {
			best, bd := 0, float32(math.MaxFloat32)
			for k, r := range refs {
				d0, d1, d2 := pat[3*i]-r[0], pat[3*i+1]-r[1], pat[3*i+2]-r[2]
				if d := d0*d0 + d1*d1 + d2*d2; d < bd {
					best, bd = k, d
				}
			}
			count[fp*nc+best]++
		}
	}
	bg, bgPixels := 0, make([]int, nBg)
	for fp := 0; fp < F*P; fp++ {
		for k := range bgPixels {
			bgPixels[k] += count[fp*nc+nObj+k]
		}
	}
	for k := range bgPixels {
		if bgPixels[k] > bgPixels[bg] {
			bg = k
		}
	}
	has := func(f, p, k int) bool { return count[(f*P+p)*nc+k] >= max(1, px/8) }
	vt := F + P
	y, mask = make([]float32, vt*K), make([]float32, vt*K)
	for t := 0; t < vt; t++ {
		row, m := y[t*K:(t+1)*K], mask[t*K:(t+1)*K]
		row[nObj+bg] = 1
		for k := 0; k < nc; k++ {
			m[k] = 1
		}
		if t < F { // temporal token: frame t, counting the colour's pixels over all its patches
			for k := 0; k < nObj; k++ {
				n := 0
				for p := 0; p < P; p++ {
					n += count[(t*P+p)*nc+k]
				}
				if n >= max(1, px/16) {
					row[k] = 1
				}
			}
			continue
		}
		p := t - F // spatial token: patch p over the frames
		for f := 0; f < F; f++ {
			m[nc+f] = 1
			for k := 0; k < nObj; k++ {
				if has(f, p, k) {
					row[k], row[nc+f] = 1, 1
				}
			}
		}
	}
	return y, mask
}

// IsVisionParam says whether a parameter belongs to the vision tower or the projector.
func IsVisionParam(name string) bool {
	return strings.HasPrefix(name, "vision_tower.") || strings.HasPrefix(name, "model.mm_projector.")
}

// VisionPretrainConfig sets vision pretraining's steps, videos per step, (constant) learning
// rate and seed (the head's initialisation and the batches).
type VisionPretrainConfig struct {
	Steps, BatchSize int
	LR               float32
	Seed             uint64
	// Heldout videos, if any, are scored by the trained head at the end (VisionScores), as are
	// the training videos.
	Heldout [][]float32
}

// VisionProgress is one pretraining step's binary cross-entropy and the share of targets it got
// right (probability on the right side of ½).
type VisionProgress struct {
	Step           int
	Loss, Accuracy float32
}

// PretrainVision trains the vision tower and the projector, through a linear sigmoid head on
// every video token (dropped afterwards), to predict VisionTargets on videos (each as a Batch's
// Patches row). Only vision parameters change. progress, if set, sees every step; the first and
// last are returned.
// scores, if not nil, receives the trained head's per-group scores on the training and the held-out
// videos (cfg.Heldout).
func (m *Model) PretrainVision(ctx context.Context, videos [][]float32, pal VisionPalette, cfg VisionPretrainConfig,
	progress func(VisionProgress), scores *VisionScores) (first, last VisionProgress, err error) {
	if len(videos) == 0 || cfg.Steps <= 0 || cfg.BatchSize <= 0 || cfg.LR <= 0 {
		return first, last, fmt.Errorf("model: vision pretraining needs videos, steps, a batch size and a learning rate (%d videos, %+v)", len(videos), cfg)
	}
	v, C, vt := m.Config.Vision, m.Config.HiddenSize, m.Config.VideoTokens()
	K, B, pd := pal.targets(v.NumFrames), cfg.BatchSize, v.NumFrames*v.Patches()*v.PatchDim()
	ys, masks := make([][]float32, len(videos)), make([][]float32, len(videos))
	for i, p := range videos {
		ys[i], masks[i] = VisionTargets(v, p, pal)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7615))
	head := make([]float32, K*C+K) // weights [K,C], then biases [K]
	hw, hb := head[:K*C], head[K*C:]
	for k := range K { // drawn target by target, weights then bias
		for j := range C {
			hw[k*C+j] = float32(rng.NormFloat64() * 0.02)
		}
		hb[k] = float32(rng.NormFloat64() * 0.02)
	}
	dhead := make([]float32, len(head))
	headOpt := NewAdamWFor([]Param{{Name: "vision_pretrain_head", Shape: []int{len(head)}, Size: len(head)}}, len(head), 0)
	var visionParams []Param
	for _, p := range m.Params {
		if IsVisionParam(p.Name) {
			visionParams = append(visionParams, p)
		}
	}
	opt := NewAdamWFor(visionParams, len(m.W), 0.01)
	a := m.ensureActs(B, vt)
	b := &Batch{B: B, T: vt, Patches: make([]float32, B*pd)}
	pick := make([]int, B)
	logits := make([]float32, B*vt*K) // the head's output, then the loss's gradient with respect to it
	for step := 0; step < cfg.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return first, last, err
		}
		for r := range pick {
			pick[r] = rng.IntN(len(videos))
			copy(b.Patches[r*pd:(r+1)*pd], videos[pick[r]])
		}
		m.visionForward(a, b)
		MatmulForward(logits, a.vtok, hw, hb, B*vt, C, K)
		var loss float64
		n, right := 0, 0
		for r, i := range pick {
			for tk := 0; tk < vt*K; tk++ {
				z, target := float64(logits[r*vt*K+tk]), float64(ys[i][tk])
				logits[r*vt*K+tk] = 0
				if masks[i][tk] == 0 {
					continue
				}
				p := 1 / (1 + math.Exp(-z))
				// softplus forms of −log p and −log(1−p): exact for large |z|
				loss += softplus(-z)*target + softplus(z)*(1-target)
				if (p > 0.5) == (target > 0.5) {
					right++
				}
				n++
				logits[r*vt*K+tk] = float32(p - target)
			}
		}
		inv := 1 / float32(n)
		for i := range logits {
			logits[i] *= inv // the mean over the unmasked targets
		}
		clear(dhead)
		clear(a.dvtok)
		MatmulBackward(a.dvtok[:B*vt*C], dhead[:K*C], dhead[K*C:], logits, a.vtok[:B*vt*C], hw, B*vt, C, K)
		m.ZeroGrad()
		m.visionBackward(a, b)
		ClipGradNorm(m.G, 1)
		ClipGradNorm(dhead, 1)
		opt.Step(m.W, m.G, cfg.LR)
		headOpt.Step(head, dhead, cfg.LR)
		last = VisionProgress{Step: step + 1, Loss: float32(loss / float64(n)), Accuracy: float32(right) / float32(n)}
		if step == 0 {
			first = last
		}
		if progress != nil {
			progress(last)
		}
	}
	m.ZeroGrad()
	if scores != nil {
		scores.Train = m.scoreVisionHead(videos, ys, masks, pal, hw, hb, B)
		if len(cfg.Heldout) > 0 {
			hys, hmasks := make([][]float32, len(cfg.Heldout)), make([][]float32, len(cfg.Heldout))
			for i, p := range cfg.Heldout {
				hys[i], hmasks[i] = VisionTargets(v, p, pal)
			}
			scores.Heldout = m.scoreVisionHead(cfg.Heldout, hys, hmasks, pal, hw, hb, B)
		}
	}
	return first, last, nil
}

func softplus(z float64) float64 {
	if z > 30 {
		return z
	}
	return math.Log1p(math.Exp(z))
}
