package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/vrlaif/vrlaif/pipelines/eval"
	"github.com/vrlaif/vrlaif/pipelines/train"
)

// promptOverlaps warns about every model whose adapter is a PPO policy (PPO_DIR/checkpoint/policy)
// trained on prompts from the clips an evaluation scored (scored: eval.Result.ClipIDs): its scores
// there are not held out. A PPO run from before prompt_videos.json, or an adapter elsewhere, is
// not checked.
func promptOverlaps(models []eval.ModelSpec, scored []string) ([]string, error) {
	var warnings []string
	for _, m := range models {
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
