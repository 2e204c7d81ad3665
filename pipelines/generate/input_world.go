package generate

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
)

// isWorld says whether spec is a synthetic world's folder (it holds truth/).
func isWorld(spec string) bool {
	if st, err := os.Stat(spec); err != nil || !st.IsDir() {
		return false
	}
	_, err := os.Stat(filepath.Join(spec, "truth"))
	return err == nil
}

// worldTasks makes a task of every clip of the world in dir (of split only, unless it is ""), and
// counts the held-out clips it took: read whole, a world gives PPO's prompts the clips eval scores.
func worldTasks(dir, split string) (tasks []schemas.Task, dead []schemas.DeadLetter, heldOut int, err error) {
	truths, err := synth.LoadTruth(dir)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("generate: %w", err)
	}
	for _, t := range truths {
		if split != "" && t.Split != split {
			continue
		}
		if t.Split == "heldout" && split == "" {
			heldOut++
		}
		task := schemas.Task{ID: t.ClipID, VideoURI: filepath.Join(dir, t.VideoPath)}
		for _, q := range t.QA {
			task.Questions = append(task.Questions, schemas.Question{ID: q.ID, Text: q.Question})
		}
		tasks = append(tasks, task)
	}
	return tasks, nil, heldOut, nil
}
