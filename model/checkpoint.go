package model

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vrlaif/vrlaif/model/safetensors"
)

// Checkpoint files in a model folder.
const (
	WeightsFile   = "model.safetensors"
	ConfigFile    = "config.json"
	OptimizerFile = "optimizer.safetensors"
)

// Save writes dir/model.safetensors (float32 tensors under their Hugging Face names) and
// dir/config.json. Loading them back gives bit-identical weights.
func Save(dir string, m *Model) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	ts := make([]safetensors.Tensor, 0, len(m.Params))
	for _, p := range m.Params {
		ts = append(ts, safetensors.F32(p.Name, p.Shape, m.W[p.Offset:p.Offset+p.Size]))
	}
	meta := map[string]string{"format": "pt", "producer": "vrlaif"}
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), ts, meta); err != nil {
		return err
	}
	return SaveConfig(filepath.Join(dir, ConfigFile), m.Config)
}

// Load reads a folder written by Save.
func Load(dir string) (*Model, error) { return load(dir, false, false, 0) }

// LoadWithHeads reads a folder written by Save into a model that also has the scalar heads asked
// for (value, reward): tensors the checkpoint lacks (a head an SFT checkpoint never had) keep their
// initial values, with the head's bias at zero, as the seed initialises its reward head. A
// checkpoint head the new config does not have is an error.
func LoadWithHeads(dir string, value, reward bool, seed uint64) (*Model, error) {
	return load(dir, value, reward, seed)
}

// load builds the model of dir's config (plus any heads asked for) and copies every tensor of the
// checkpoint into it; only a head may be missing, and only when it was asked for.
func load(dir string, value, reward bool, seed uint64) (*Model, error) {
	c, err := LoadConfig(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	addHeads := value && !c.ValueHead || reward && !c.RewardHead
	c.ValueHead, c.RewardHead = c.ValueHead || value, c.RewardHead || reward
	m, err := New(c, seed)
	if err != nil {
		return nil, err
	}
	f, err := safetensors.ReadFile(filepath.Join(dir, WeightsFile))
	if err != nil {
		return nil, err
	}
	for _, p := range m.Params {
		t, ok := f.Tensor(p.Name)
		if !ok {
			if !addHeads || !hasSuffix(p.Name, "_head.weight") && !hasSuffix(p.Name, "_head.bias") {
				return nil, fmt.Errorf("model: %s has no tensor %s", dir, p.Name)
			}
			if hasSuffix(p.Name, ".bias") {
				clear(m.W[p.Offset : p.Offset+p.Size])
			}
			continue
		}
		if !sameShape(t.Shape, p.Shape) {
			return nil, fmt.Errorf("model: tensor %s has shape %v, config says %v", p.Name, t.Shape, p.Shape)
		}
		v, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("model: tensor %s: %w", p.Name, err)
		}
		copy(m.W[p.Offset:p.Offset+p.Size], v)
	}
	if m.Revision, err = WeightsHash(dir); err != nil {
		return nil, err
	}
	return m, nil
}

// WeightsHash identifies the weights of the checkpoint in dir: the first 16 hex digits of the
// SHA-256 of its weights file. It is a model's Revision, and what an adapter records its base by.
func WeightsHash(dir string) (string, error) {
	return FilesHash(filepath.Join(dir, WeightsFile))
}

// FilesHash is the first 16 hex digits of the SHA-256 over the files' contents, in order: the
// identity of trained weights kept in several files (a reward model's adapter and head).
func FilesHash(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("model: %w", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("model: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Param returns the layout entry of a named tensor.
func (m *Model) Param(name string) (Param, bool) {
	p, ok := m.byName[name]
	return p, ok
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// SaveOptimizer writes the AdamW moments and step to dir/optimizer.safetensors.
func SaveOptimizer(dir string, o *AdamW) error {
	m, v, step := o.State()
	ts := []safetensors.Tensor{safetensors.F32("exp_avg", []int{len(m)}, m), safetensors.F32("exp_avg_sq", []int{len(v)}, v)}
	return safetensors.WriteFile(filepath.Join(dir, OptimizerFile), ts, map[string]string{"step": strconv.Itoa(step)})
}

// LoadOptimizer restores what SaveOptimizer wrote.
func LoadOptimizer(dir string, o *AdamW) error {
	f, err := safetensors.ReadFile(filepath.Join(dir, OptimizerFile))
	if err != nil {
		return err
	}
	step, err := strconv.Atoi(f.Metadata()["step"])
	if err != nil {
		return fmt.Errorf("model: optimizer step: %w", err)
	}
	var mv [2][]float32
	for i, name := range []string{"exp_avg", "exp_avg_sq"} {
		t, ok := f.Tensor(name)
		if !ok {
			return fmt.Errorf("model: optimizer state has no %s", name)
		}
		if mv[i], err = t.Float32(); err != nil {
			return err
		}
	}
	m, _, _ := o.State()
	if len(mv[0]) != len(m) || len(mv[1]) != len(m) {
		return fmt.Errorf("model: optimizer state has %d values, the model %d", len(mv[0]), len(m))
	}
	o.SetState(mv[0], mv[1], step)
	return nil
}
