package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/vrlaif/vrlaif/pipelines/eval"
	"github.com/vrlaif/vrlaif/pipelines/train"
	"github.com/vrlaif/vrlaif/synth"
)

// promptOverlaps warns about every model whose adapter is a PPO policy (PPO_DIR/checkpoint/policy)
// trained on prompts from clips this evaluation scores: its scores there are not held out. A PPO
// run from before prompt_videos.json, or an adapter elsewhere, is not checked.
func promptOverlaps(cfg eval.Config) ([]string, error) {
	if cfg.World == "" {
		return nil, nil
	}
	var warnings []string
	var scored []string
	for _, m := range cfg.Models {
		if m.Backend.Adapter == "" {
			continue
		}
		ppoDir := filepath.Dir(filepath.Dir(filepath.Clean(m.Backend.Adapter)))
		prompted, err := train.ReadPromptVideos(ppoDir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if scored == nil {
			truths, err := synth.LoadTruth(cfg.World)
			if err != nil {
				return nil, err
			}
			for _, t := range truths { // as eval.Run picks them: the split, in order, up to --limit
				if cfg.Limit > 0 && len(scored) >= cfg.Limit {
					break
				}
				if cfg.Split == "all" || t.Split == cfg.Split {
					scored = append(scored, t.ClipID)
				}
			}
		}
		var both []string
		for _, id := range scored {
			if _, ok := slices.BinarySearch(prompted, id); ok {
				both = append(both, id)
			}
		}
		if len(both) > 0 {
			warnings = append(warnings, fmt.Sprintf("%d of the %d clips evaluated (%s, …) were prompts of the PPO run %s that trained %s's adapter: its scores on them are not held out (generate PPO's prompts with --split train)",
				len(both), len(scored), both[0], ppoDir, m.Name))
		}
	}
	return warnings, nil
}
