package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/vrlaif/vrlaif/internal/runsettings"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/model/safetensors"
)

// A reward-model run is resumable. The first run records the settings that decide the weights
// (DIR/settings.json: the hyper-parameters, the base by its weights hash and the pairs by a hash
// of their contents, so a moved folder still resumes); a run with other settings is refused. While
// training, the adapter, the head and both optimizers' state are saved every SaveEvery steps and
// when the run is interrupted, each save as one folder .rm-step-NNNNNN made by a rename (so any
// such folder is whole); a resume restores the latest and replays the split and the epochs'
// shuffles up to it, so it trains exactly the steps an uninterrupted run would. A finished run
// (rm_result.json beside a matching record) is not trained again.
const (
	RMResultFile   = "rm_result.json"
	rmStepPrefix   = ".rm-step-"
	rmStagingDir   = ".rm-step.tmp"
	rmProgressFile = "progress.safetensors"
	rmCommand      = "train rm"
)

// rmSettings are the settings that decide a reward model's weights. Left out: the folders (the
// base and the pairs are recorded by their contents) and how often progress is saved.
func rmSettings(cfg RMConfig, baseRevision, dataRevision string) map[string]any {
	s := runsettings.Omit(cfg, "data", "clips", "image_folder", "base", "output", "save_every")
	s["base_revision"], s["data_revision"] = baseRevision, dataRevision
	return s
}

// checkRMSettings records cfg's settings in cfg.Output on a fresh run and refuses a run with
// other settings. fresh says whether the folder had no record, so whatever it holds (an older
// version's reward model, which recorded nothing) cannot be taken for this run's.
func checkRMSettings(cfg RMConfig, baseRevision string, pairs []RMPair) (fresh bool, err error) {
	_, err = os.Stat(filepath.Join(cfg.Output, runsettings.File))
	fresh = errors.Is(err, os.ErrNotExist)
	if err := os.MkdirAll(cfg.Output, 0o755); err != nil {
		return false, fmt.Errorf("train: %w", err)
	}
	if fresh { // before the record is written: a kill in between must not leave an old result beside it
		if err := discardEarlierRM(cfg.Output); err != nil {
			return false, err
		}
	}
	if err := runsettings.Check(cfg.Output, rmCommand, rmSettings(cfg, baseRevision, pairsRevision(pairs))); err != nil {
		return false, fmt.Errorf("train: %w", err)
	}
	return fresh, nil
}

// pairsRevision is the first 16 hex digits of a SHA-256 over the pairs in the order given: ids,
// questions, responses, choices and video patches. RunRM gives them in splitPairs' order (sorted by
// id, then shuffled by the seed), so the hash does not depend on the order shards were read in.
func pairsRevision(pairs []RMPair) string {
	h := sha256.New()
	for _, p := range pairs {
		hashString(h, p.ID)
		hashString(h, p.Question)
		hashString(h, p.Out[0])
		hashString(h, p.Out[1])
		hashInt(h, int64(p.Chosen))
		hashFloats(h, p.Patches)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// finishedRM is the result a finished run wrote in dir, with its adapter and head present.
func finishedRM(dir string) (RMResult, bool) {
	b, err := os.ReadFile(filepath.Join(dir, RMResultFile))
	if err != nil {
		return RMResult{}, false
	}
	var res RMResult
	if json.Unmarshal(b, &res) != nil || res.Steps == 0 {
		return RMResult{}, false
	}
	for _, f := range []string{model.AdapterWeightsFile, HeadFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return RMResult{}, false
		}
	}
	return res, true
}

// discardEarlierRM removes the result and progress saves a folder without a settings record
// holds (an older version's run), so that an interrupted first run there is not taken for a
// finished one. The adapter and head are overwritten when this run finishes.
func discardEarlierRM(dir string) error {
	if err := os.Remove(filepath.Join(dir, RMResultFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("train: %w", err)
	}
	return removeRMProgress(dir, -1)
}

// rmState is what a progress save holds: the trainable weights and both optimizers.
type rmState struct {
	rm               *RewardModel
	head             []model.Param
	optLoRA, optHead *model.AdamW
}

// save writes the state after step into dir/.rm-step-NNNNNN and removes earlier saves.
func (s rmState) save(dir string, step int) error {
	staging := filepath.Join(dir, rmStagingDir)
	if err := os.RemoveAll(staging); err != nil {
		return fmt.Errorf("train: saving progress: %w", err)
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return fmt.Errorf("train: saving progress: %w", err)
	}
	lm, lv, lstep := s.optLoRA.State()
	hm, hv, hstep := s.optHead.State()
	ts := []safetensors.Tensor{
		safetensors.F32("lora.weight", []int{len(s.rm.M.LoRA.W)}, s.rm.M.LoRA.W),
		safetensors.F32("lora.exp_avg", []int{len(lm)}, lm),
		safetensors.F32("lora.exp_avg_sq", []int{len(lv)}, lv),
	}
	for _, p := range s.head { // the head optimizer's moments span the whole model; only the head's are kept
		span := func(x []float32) []float32 { return x[p.Offset : p.Offset+p.Size] }
		ts = append(ts, safetensors.F32(p.Name, p.Shape, span(s.rm.M.W)),
			safetensors.F32(p.Name+".exp_avg", []int{p.Size}, span(hm)),
			safetensors.F32(p.Name+".exp_avg_sq", []int{p.Size}, span(hv)))
	}
	meta := map[string]string{"step": strconv.Itoa(step), "lora_optimizer_step": strconv.Itoa(lstep), "head_optimizer_step": strconv.Itoa(hstep)}
	if err := safetensors.WriteFile(filepath.Join(staging, rmProgressFile), ts, meta); err != nil {
		return fmt.Errorf("train: saving progress: %w", err)
	}
	if err := syncDir(staging); err != nil {
		return fmt.Errorf("train: saving progress: %w", err)
	}
	if err := os.Rename(staging, filepath.Join(dir, fmt.Sprintf("%s%06d", rmStepPrefix, step))); err != nil {
		return fmt.Errorf("train: saving progress: %w", err)
	}
	return removeRMProgress(dir, step)
}

// load restores the latest progress save in dir and returns its step (0 when there is none).
func (s rmState) load(dir string) (int, error) {
	steps, err := rmProgressSteps(dir)
	if err != nil || len(steps) == 0 {
		return 0, err
	}
	step := steps[len(steps)-1]
	path := filepath.Join(dir, fmt.Sprintf("%s%06d", rmStepPrefix, step), rmProgressFile)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("train: resuming the reward model: %w", err)
	}
	read := func(name string, into []float32) error {
		t, ok := f.Tensor(name)
		if !ok {
			return fmt.Errorf("train: resuming the reward model: %s lacks %s", path, name)
		}
		v, err := t.Float32()
		if err != nil || len(v) != len(into) {
			return fmt.Errorf("train: resuming the reward model: %s: %s holds %d values, want %d (%v)", path, name, len(v), len(into), err)
		}
		copy(into, v)
		return nil
	}
	lm, lv, _ := s.optLoRA.State()
	hm, hv, _ := s.optHead.State()
	for name, into := range map[string][]float32{"lora.weight": s.rm.M.LoRA.W, "lora.exp_avg": lm, "lora.exp_avg_sq": lv} {
		if err := read(name, into); err != nil {
			return 0, err
		}
	}
	for _, p := range s.head {
		span := func(x []float32) []float32 { return x[p.Offset : p.Offset+p.Size] }
		for name, into := range map[string][]float32{p.Name: span(s.rm.M.W), p.Name + ".exp_avg": span(hm), p.Name + ".exp_avg_sq": span(hv)} {
			if err := read(name, into); err != nil {
				return 0, err
			}
		}
	}
	meta := f.Metadata()
	lstep, err1 := strconv.Atoi(meta["lora_optimizer_step"])
	hstep, err2 := strconv.Atoi(meta["head_optimizer_step"])
	if saved, err3 := strconv.Atoi(meta["step"]); err1 != nil || err2 != nil || err3 != nil || saved != step {
		return 0, fmt.Errorf("train: resuming the reward model: %s: bad step metadata %v", path, meta)
	}
	s.optLoRA.SetState(lm, lv, lstep)
	s.optHead.SetState(hm, hv, hstep)
	return step, nil
}

// rmProgressSteps lists the steps of dir's progress saves, ascending.
func rmProgressSteps(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	var steps []int
	for _, e := range entries {
		if rest, ok := strings.CutPrefix(e.Name(), rmStepPrefix); ok && e.IsDir() {
			if n, err := strconv.Atoi(rest); err == nil {
				steps = append(steps, n)
			}
		}
	}
	sort.Ints(steps)
	return steps, nil
}

// removeRMProgress removes dir's progress saves other than keep's (all of them for keep < 0) and
// an abandoned staging folder.
func removeRMProgress(dir string, keep int) error {
	steps, err := rmProgressSteps(dir)
	if err != nil {
		return err
	}
	for _, s := range steps {
		if s != keep {
			if err := os.RemoveAll(filepath.Join(dir, fmt.Sprintf("%s%06d", rmStepPrefix, s))); err != nil {
				return fmt.Errorf("train: %w", err)
			}
		}
	}
	if keep < 0 {
		if err := os.RemoveAll(filepath.Join(dir, rmStagingDir)); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	return nil
}
