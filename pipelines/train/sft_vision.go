package train

import (
	"context"
	"errors"
	"time"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/synth"
)

// VisionResult is what vision pretraining did: steps, videos (each training clip whole and in
// thirds), the loss and the share of targets right at its first and last step, and seconds.
type VisionResult struct {
	Steps         int     `json:"steps"`
	Videos        int     `json:"videos"`
	FirstLoss     float32 `json:"first_loss"`
	FinalLoss     float32 `json:"final_loss"`
	FirstAccuracy float32 `json:"first_accuracy"`
	FinalAccuracy float32 `json:"final_accuracy"`
	Seconds       float64 `json:"seconds"`
	// Train and Heldout score the trained head by kind of target (model.VisionScores) on the
	// training clips' videos and on the held-out clips' (whole and in thirds): whether what the
	// vision learned carries over to clips it never saw.
	Train   map[string]VisionGroup `json:"train,omitempty"`
	Heldout map[string]VisionGroup `json:"heldout,omitempty"`
}

// VisionGroup is one kind of vision target's score: the share right, of the positives found, and
// the balanced accuracy (the mean of the shares of positives and of negatives right).
type VisionGroup struct {
	Targets  int     `json:"targets"`
	Accuracy float64 `json:"accuracy"`
	Recall   float64 `json:"recall"`
	Balanced float64 `json:"balanced"`
}

func visionGroups(s map[string]model.VisionGroupScore) map[string]VisionGroup {
	if len(s) == 0 {
		return nil
	}
	out := map[string]VisionGroup{}
	for k, g := range s {
		out[k] = VisionGroup{Targets: g.Targets, Accuracy: g.Accuracy(), Recall: g.Recall(), Balanced: g.Balanced()}
	}
	return out
}

// WorldPalette is the synthetic world's drawing colours, for vision pretraining's targets.
func WorldPalette() model.VisionPalette {
	var p model.VisionPalette
	for _, c := range synth.Colors {
		p.Objects = append(p.Objects, synth.ColorRGB[c])
	}
	for _, c := range synth.Backgrounds {
		p.Backgrounds = append(p.Backgrounds, synth.BackgroundRGB[c])
	}
	return p
}

// pretrainVision runs model.PretrainVision on the training clips' videos (whole and thirds, in
// the examples' order: deterministic), with SFT's batch size and learning rate. report, if set,
// sees every step as a StepInfo of phase "vision" (not written to metrics.jsonl).
func pretrainVision(ctx context.Context, m *model.Model, cfg SFTConfig, examples []Example, videos map[string]*ClipVideo,
	report func(StepInfo)) (*VisionResult, error) {
	var pix, held [][]float32
	seen := map[string]bool{}
	for _, e := range examples {
		v := videos[e.ClipID]
		if v == nil || seen[e.ClipID] {
			continue
		}
		seen[e.ClipID] = true
		if e.Split == "train" {
			pix = append(pix, v.Full, v.Thirds[0], v.Thirds[1], v.Thirds[2])
		} else {
			held = append(held, v.Full, v.Thirds[0], v.Thirds[1], v.Thirds[2])
		}
	}
	if len(pix) == 0 {
		return nil, errors.New("train: the world has no training clip to pretrain the vision on")
	}
	start := time.Now()
	var scores model.VisionScores
	first, last, err := m.PretrainVision(ctx, pix, WorldPalette(),
		model.VisionPretrainConfig{Steps: cfg.VisionSteps, BatchSize: cfg.BatchSize, LR: cfg.LR, Seed: cfg.Seed, Heldout: held},
		func(p model.VisionProgress) {
			if report != nil {
				report(StepInfo{Step: p.Step, Loss: p.Loss, Accuracy: p.Accuracy, LR: cfg.LR, Phase: "vision"})
			}
		}, &scores)
	if err != nil {
		return nil, err
	}
	return &VisionResult{Steps: cfg.VisionSteps, Videos: len(pix), FirstLoss: first.Loss, FinalLoss: last.Loss,
		FirstAccuracy: first.Accuracy, FinalAccuracy: last.Accuracy, Seconds: time.Since(start).Seconds(),
		Train: visionGroups(scores.Train), Heldout: visionGroups(scores.Heldout)}, nil
}
