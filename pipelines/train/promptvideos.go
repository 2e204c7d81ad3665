package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/vrlaif/vrlaif/internal/atomicfile"
)

// PromptVideosFile, in a PPO run's folder, lists the source videos (for a synthetic world, its
// clip ids) whose questions its actors were given as prompts, over every resume of the run, so
// that an evaluation can tell when it scores the policy on videos it trained on.
const PromptVideosFile = "prompt_videos.json"

type promptVideos struct {
	Videos []string `json:"videos"`
}

// RecordPromptVideos adds the prompts' source videos to ppoDir's PromptVideosFile (a prompt
// without a video id counts by its clip id).
func RecordPromptVideos(ppoDir string, prompts []RLPrompt) error {
	videos, err := ReadPromptVideos(ppoDir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, p := range prompts {
		if p.VideoID != "" {
			videos = append(videos, p.VideoID)
		} else {
			videos = append(videos, p.ClipID)
		}
	}
	slices.Sort(videos)
	b, err := json.MarshalIndent(promptVideos{Videos: slices.Compact(videos)}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(ppoDir, PromptVideosFile, append(b, '\n'))
}

// ReadPromptVideos reads ppoDir's PromptVideosFile (an error satisfying os.IsNotExist when the
// run has none: one made before the file existed, or not a PPO run).
func ReadPromptVideos(ppoDir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(ppoDir, PromptVideosFile))
	if err != nil {
		return nil, err
	}
	var pv promptVideos
	if err := json.Unmarshal(b, &pv); err != nil {
		return nil, fmt.Errorf("train: %s: %w", filepath.Join(ppoDir, PromptVideosFile), err)
	}
	return pv.Videos, nil
}
