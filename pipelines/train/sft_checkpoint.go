package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/model/tokenizer"
)

// An SFT checkpoint is four files (weights and config, tokenizer, optimizer, trainer state) that
// must come from the same step. Each is written atomically, but a process killed between two of
// them left weights one step ahead of the optimizer and step count, which a resume then mixed
// silently (or, in the first save, weights without a tokenizer, which no resume could open).
// So a save is a small journal: every file goes into stagingDir; the folder is renamed to readyDir
// (atomic: the save is now decided); the files are moved into place; readyDir is removed. A run
// that starts and finds readyDir finishes those moves; a leftover stagingDir is an abandoned save.
const (
	stagingDir = ".checkpoint-staging"
	readyDir   = ".checkpoint-ready"
)

type trainerState struct {
	Step int `json:"step"`
	// Config is the run's settings, so that a resume with other settings is refused. Nil in
	// checkpoints from before it was recorded.
	Config *SFTConfig `json:"config,omitempty"`
	// DataRevision identifies the examples and videos trained on (sftDataRevision), so that a
	// moved or copied data folder, or the same one given by another path, still resumes. Empty in
	// checkpoints from before it was recorded: those compare the data by path.
	DataRevision string `json:"data_revision,omitempty"`
}

func saveAll(dir string, m *model.Model, tok *tokenizer.Tokenizer, opt *model.AdamW, st trainerState) error {
	staging, ready := filepath.Join(dir, stagingDir), filepath.Join(dir, readyDir)
	if err := os.RemoveAll(staging); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := model.Save(staging, m); err != nil {
		return err
	}
	if err := tok.Save(filepath.Join(staging, "tokenizer.json")); err != nil {
		return err
	}
	if err := model.SaveOptimizer(staging, opt); err != nil {
		return err
	}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(staging, "trainer_state.json"), b, 0o644); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := os.Rename(staging, ready); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return finishSave(dir)
}

// finishSave moves a decided save's files into dir and removes the journal folders. It does
// nothing when no save was decided, so it is what a run calls first.
func finishSave(dir string) error {
	ready := filepath.Join(dir, readyDir)
	entries, err := os.ReadDir(ready)
	if errors.Is(err, os.ErrNotExist) {
		return os.RemoveAll(filepath.Join(dir, stagingDir))
	}
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") { // not a writer's temporary file
			if err := os.Rename(filepath.Join(ready, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("train: checkpoint: %w", err)
			}
		}
	}
	if err := os.RemoveAll(ready); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return os.RemoveAll(filepath.Join(dir, stagingDir))
}

func loadState(dir string) (trainerState, error) {
	var st trainerState
	b, err := os.ReadFile(filepath.Join(dir, "trainer_state.json"))
	if err != nil {
		return st, fmt.Errorf("train: resuming: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("train: resuming: %s: %w", filepath.Join(dir, "trainer_state.json"), err)
	}
	return st, nil
}

// checkResume refuses to resume a checkpoint written with other settings: it would go on
// training another model, or on other data, under this run's name. The folder to write to and how
// often to evaluate and save may change, and --steps may grow (training goes on from the
// checkpoint; the learning-rate schedule then spans the new length). The data is compared by its
// contents (dataRevision) where the checkpoint recorded them, else by its path.
func checkResume(dir string, st trainerState, cfg SFTConfig, dataRevision string) error {
	if err := checkResumeSteps(dir, st, cfg); err != nil {
		return err
	}
	if st.Config == nil { // a checkpoint from before settings were recorded: the step is all there is
		return nil
	}
	was, now := *st.Config, cfg
	sameData := st.DataRevision != "" && st.DataRevision == dataRevision
	for _, c := range []*SFTConfig{&was, &now} {
		c.Output, c.EvalEvery, c.SaveEvery, c.Steps = "", 0, 0, 0
		if sameData { // the same examples and videos, wherever they are now
			c.World, c.ImageFolder = "", ""
		}
	}
	var diffs []string
	if st.DataRevision != "" && !sameData {
		diffs = append(diffs, fmt.Sprintf("data revision %s (now %s: other examples or videos)", st.DataRevision, dataRevision))
	}
	if len(diffs) == 0 && reflect.DeepEqual(was, now) {
		return nil
	}
	wv, nv := reflect.ValueOf(was), reflect.ValueOf(now)
	for i := range wv.NumField() {
		if !reflect.DeepEqual(wv.Field(i).Interface(), nv.Field(i).Interface()) {
			name := wv.Type().Field(i).Tag.Get("json")
			name, _, _ = strings.Cut(name, ",")
			diffs = append(diffs, fmt.Sprintf("%s %v (now %v)", name, wv.Field(i).Interface(), nv.Field(i).Interface()))
		}
	}
	return fmt.Errorf("train: %s holds a checkpoint (step %d) %w: %s; give a new --output, or the same settings to resume",
		dir, st.Step, ErrOtherSettings, strings.Join(diffs, ", "))
}

// ErrOtherSettings is in the error of a run refused because its output folder holds a checkpoint
// trained with other settings or data (errors.Is).
var ErrOtherSettings = errors.New("trained with other settings")

// checkResumeSteps refuses a checkpoint already past --steps. It needs no data, so RunSFT asks it
// before loading the model and decoding the videos, which take seconds.
func checkResumeSteps(dir string, st trainerState, cfg SFTConfig) error {
	if st.Step > cfg.Steps {
		return fmt.Errorf("train: %s is a checkpoint at step %d, past --steps %d: give a new --output, or --steps ≥ %d to go on",
			dir, st.Step, cfg.Steps, st.Step)
	}
	return nil
}

// sftDataRevision is the first 16 hex digits of a SHA-256 over what SFT trains on: the examples in
// order (clip, video part, kind, split, turns, gold answer), then the video files' bytes in order
// where videoFiles is given (a world's), else the videos' patches by clip id.
func sftDataRevision(examples []Example, videos map[string]*ClipVideo, videoFiles []string) (string, error) {
	h := sha256.New()
	for _, e := range examples {
		hashString(h, e.ClipID)
		hashInt(h, int64(e.Video))
		hashString(h, e.Kind)
		hashString(h, e.Split)
		hashString(h, e.Gold)
		hashInt(h, int64(len(e.Conv)))
		for _, t := range e.Conv {
			hashString(h, t.From)
			hashString(h, t.Value)
		}
	}
	if videoFiles != nil {
		for _, p := range videoFiles {
			b, err := os.ReadFile(p)
			if err != nil {
				return "", fmt.Errorf("train: %w", err)
			}
			hashString(h, string(b))
		}
		return hex.EncodeToString(h.Sum(nil))[:16], nil
	}
	ids := make([]string, 0, len(videos))
	for id := range videos {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		hashString(h, id)
		if v := videos[id]; v != nil {
			for _, part := range append([][]float32{v.Full}, v.Thirds[:]...) {
				hashFloats(h, part)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
