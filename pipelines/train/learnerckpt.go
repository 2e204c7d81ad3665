package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/model/safetensors"
)

// LearnerState is what a learner checkpoint records besides the weights: the step it completed,
// the policy version it published, and the id of every rollout it has applied (so a rollout
// redelivered after a crash is acknowledged, not applied twice).
type LearnerState struct {
	Step    int      `json:"step"`
	Version int      `json:"version"`
	Applied []string `json:"applied"`
	Dropped []string `json:"dropped_stale"` // ids of rollouts dropped as too stale (acked, not applied)
}

// Checkpoint layout under the learner's output folder.
const (
	ckptDir     = "checkpoint"
	policyDir   = "policy"     // the policy LoRA (PEFT files): what actors load
	valueDir    = "value"      // the value LoRA + value_head.safetensors
	stateFile   = "state.json" // LearnerState
	optFile     = "optimizer.safetensors"
	valueHeadFn = "value_head.safetensors"
)

// PolicyDir is where the current policy adapter of a learner output folder is.
func PolicyDir(out string) string { return filepath.Join(out, ckptDir, policyDir) }

// Save commits a checkpoint atomically: everything is written to a fresh folder that then
// replaces the previous one by rename, so a crash leaves either the old or the new checkpoint.
func (l *Learner) Save(out string, st LearnerState) error {
	tmp := filepath.Join(out, ckptDir+".tmp")
	os.RemoveAll(tmp)
	if err := model.SaveLoRA(filepath.Join(tmp, policyDir), l.Policy); err != nil {
		return err
	}
	if err := model.SaveLoRA(filepath.Join(tmp, valueDir), l.Value); err != nil {
		return err
	}
	var head []safetensors.Tensor
	for _, p := range l.head {
		head = append(head, safetensors.F32(p.Name, p.Shape, l.Value.W[p.Offset:p.Offset+p.Size]))
	}
	if err := safetensors.WriteFile(filepath.Join(tmp, valueDir, valueHeadFn), head, nil); err != nil {
		return err
	}
	var opt []safetensors.Tensor
	for name, o := range map[string]*model.AdamW{"policy": l.optPol, "value": l.optVal, "head": l.optHead} {
		m, v, step := o.State()
		opt = append(opt, safetensors.F32(name+".m", []int{len(m)}, m), safetensors.F32(name+".v", []int{len(v)}, v),
			safetensors.F32(name+".step", []int{1}, []float32{float32(step)}))
	}
	if err := safetensors.WriteFile(filepath.Join(tmp, optFile), opt, nil); err != nil {
		return err
	}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(tmp, stateFile), b, 0o644); err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	final, old := filepath.Join(out, ckptDir), filepath.Join(out, ckptDir+".old")
	os.RemoveAll(old)
	if _, err := os.Stat(final); err == nil {
		if err := os.Rename(final, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	os.RemoveAll(old)
	return syncDir(out)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Resume loads the last committed checkpoint of out into l; ok is false when there is none. A
// crash between the two renames of Save leaves only checkpoint.old, which is used.
func (l *Learner) Resume(out string) (st LearnerState, ok bool, err error) {
	dir := filepath.Join(out, ckptDir)
	if _, err := os.Stat(dir); err != nil {
		if _, err := os.Stat(dir + ".old"); err != nil {
			return st, false, nil
		}
		dir += ".old"
	}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return st, false, fmt.Errorf("train: learner checkpoint: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("train: learner checkpoint: %w", err)
	}
	if err := model.LoadLoRAWeights(filepath.Join(dir, policyDir), l.Policy); err != nil {
		return st, false, err
	}
	if err := model.LoadLoRAWeights(filepath.Join(dir, valueDir), l.Value); err != nil {
		return st, false, err
	}
	f, err := safetensors.ReadFile(filepath.Join(dir, valueDir, valueHeadFn))
	if err != nil {
		return st, false, err
	}
	for _, p := range l.head {
		t, ok := f.Tensor(p.Name)
		if !ok {
			return st, false, fmt.Errorf("train: checkpoint lacks %s", p.Name)
		}
		v, _ := t.Float32()
		copy(l.Value.W[p.Offset:p.Offset+p.Size], v)
	}
	of, err := safetensors.ReadFile(filepath.Join(dir, optFile))
	if err != nil {
		return st, false, err
	}
	for name, o := range map[string]*model.AdamW{"policy": l.optPol, "value": l.optVal, "head": l.optHead} {
		get := func(k string) []float32 {
			t, _ := of.Tensor(name + "." + k)
			v, _ := t.Float32()
			return v
		}
		m, v, s := get("m"), get("v"), get("step")
		if m == nil || v == nil || len(s) != 1 {
			return st, false, fmt.Errorf("train: checkpoint optimizer %s incomplete", name)
		}
		o.SetState(m, v, int(s[0]))
	}
	return st, true, nil
}
