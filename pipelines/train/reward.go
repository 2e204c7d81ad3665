package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/model/safetensors"
	"github.com/vrlaif/vrlaif/model/tokenizer"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
)

// Files of a reward-model checkpoint, beside the LoRA adapter files.
const (
	RMConfigFile = "rm_config.json"
	HeadFile     = "reward_head.safetensors"
)

// RMCheckpoint describes a reward model: a base checkpoint, a LoRA adapter and a reward head.
type RMCheckpoint struct {
	Base string `json:"base"` // the SFT checkpoint folder (absolute)
	// BaseRelative is Base relative to the reward model's folder, so that a folder holding both
	// (a demo's) can be moved or copied elsewhere; the adapter's base weights hash tells which to use.
	BaseRelative string           `json:"base_relative,omitempty"`
	LoRA         model.LoRAConfig `json:"lora"`     // also in adapter_config.json
	Template     string           `json:"template"` // the evaluation prompt (prompts.Reward)
	// FactualPrompt is the convention for the seed's {factual_prompt} slot: "removed" (the
	// evaluation prompt has no slot; the same text in RM training and PPO).
	FactualPrompt string `json:"factual_prompt"`
}

// RewardModel scores a response to a question about a video: the reward head at the last token
// of question ⊕ response ⊕ evaluation turn ⊕ answer prefix (reference §3.2).
type RewardModel struct {
	M   *model.Model
	Tok *tokenizer.Tokenizer
	CK  RMCheckpoint
}

// NewRewardModel loads base with a reward head and attaches a fresh LoRA (for training).
func NewRewardModel(base string, lora model.LoRAConfig, seed uint64) (*RewardModel, error) {
	m, err := model.LoadWithHeads(base, false, true, seed)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(filepath.Join(base, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	if err := m.AttachLoRA(lora, seed); err != nil {
		return nil, err
	}
	return &RewardModel{M: m, Tok: tok, CK: RMCheckpoint{Base: base, LoRA: lora, Template: prompts.Reward, FactualPrompt: "removed"}}, nil
}

// LoadRewardModel opens a reward-model checkpoint written by Save.
func LoadRewardModel(dir string) (*RewardModel, error) {
	b, err := os.ReadFile(filepath.Join(dir, RMConfigFile))
	if err != nil {
		return nil, fmt.Errorf("train: %s is not a reward model: %w", dir, err)
	}
	var ck RMCheckpoint
	if err := json.Unmarshal(b, &ck); err != nil {
		return nil, fmt.Errorf("train: %s: %w", RMConfigFile, err)
	}
	base := resolveBase(dir, ck)
	ck.Base = base
	m, err := model.LoadWithHeads(base, false, true, 0)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(filepath.Join(base, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	if err := model.LoadLoRA(dir, m); err != nil {
		return nil, err
	}
	f, err := safetensors.ReadFile(filepath.Join(dir, HeadFile))
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"reward_head.weight", "reward_head.bias"} {
		t, ok := f.Tensor(name)
		p, _ := m.Param(name)
		if !ok {
			return nil, fmt.Errorf("train: %s lacks %s", HeadFile, name)
		}
		v, err := t.Float32()
		if err != nil || len(v) != p.Size {
			return nil, fmt.Errorf("train: %s: %s: bad tensor (%v)", HeadFile, name, err)
		}
		copy(m.W[p.Offset:p.Offset+p.Size], v)
	}
	return &RewardModel{M: m, Tok: tok, CK: ck}, nil
}

// resolveBase finds a reward model's base: the recorded path, or the one relative to dir (the
// folders were moved together). Where both hold a checkpoint, the one whose weights hash is the
// adapter's recorded base revision wins; LoadLoRA refuses a wrong base whichever is returned.
func resolveBase(dir string, ck RMCheckpoint) string {
	var candidates []string
	for _, p := range []string{ck.Base, ck.BaseRelative} {
		if p == "" {
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if _, err := os.Stat(filepath.Join(p, model.WeightsFile)); err == nil && (len(candidates) == 0 || filepath.Clean(candidates[0]) != filepath.Clean(p)) {
			candidates = append(candidates, p)
		}
	}
	switch len(candidates) {
	case 0:
		return ck.Base // the error names the recorded path
	case 1:
		return candidates[0] // nothing to choose between (LoadLoRA checks the revision)
	}
	var lc model.LoRAConfig
	if b, err := os.ReadFile(filepath.Join(dir, model.AdapterConfigFile)); err == nil && json.Unmarshal(b, &lc) == nil && lc.BaseRevision != "" {
		for _, p := range candidates {
			if rev, err := model.WeightsHash(p); err == nil && rev == lc.BaseRevision {
				return p
			}
		}
	}
	return candidates[0]
}

// Save writes the adapter, the head and rm_config.json to dir.
func (r *RewardModel) Save(dir string) error {
	if err := model.SaveLoRA(dir, r.M); err != nil {
		return err
	}
	var ts []safetensors.Tensor
	for _, name := range []string{"reward_head.weight", "reward_head.bias"} {
		p, _ := r.M.Param(name)
		ts = append(ts, safetensors.F32(name, p.Shape, r.M.W[p.Offset:p.Offset+p.Size]))
	}
	if err := safetensors.WriteFile(filepath.Join(dir, HeadFile), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	ck := r.CK
	if abs, err := filepath.Abs(ck.Base); err == nil {
		ck.Base = abs
		if absDir, err := filepath.Abs(dir); err == nil {
			ck.BaseRelative, _ = filepath.Rel(absDir, abs)
		}
	}
	b, _ := json.MarshalIndent(ck, "", "  ")
	return os.WriteFile(filepath.Join(dir, RMConfigFile), append(b, '\n'), 0o644)
}

// Encode renders the reward model's input for one response: question turn with the video,
// the response as the assistant's turn, the evaluation turn, and the answer prefix. Video
// positions are −1 from the returned index.
func (r *RewardModel) Encode(question, response string) (tokens []int32, videoAt int) {
	conv := []schemas.Turn{{From: "human", Value: "<video>\n" + question}, {From: "gpt", Value: response},
		{From: "human", Value: prompts.MustRender(r.CK.Template, prompts.Fields{})}}
	ids, _ := r.Tok.EncodeChat(conv)
	ids = append(ids, r.Tok.Encode(prompts.RewardAnswerPrefix)...)
	videoAt = -1
	for _, id := range ids {
		if id == r.Tok.VideoID() {
			videoAt = len(tokens)
			for j := 0; j < r.M.Config.VideoTokens(); j++ {
				tokens = append(tokens, -1)
			}
			continue
		}
		tokens = append(tokens, int32(id))
	}
	return tokens, videoAt
}

// rmInput is one sequence for the reward head.
type rmInput struct {
	tokens  []int32
	videoAt int
	patches []float32
}

// batch pads sequences (right, to a multiple of 64) into one model batch and returns the index
// of each sequence's last token in the flattened batch.
func (r *RewardModel) batch(in []rmInput) (*model.Batch, []int, error) {
	T := 0
	for _, s := range in {
		T = max(T, len(s.tokens))
	}
	T = (T + 63) / 64 * 64
	if T > r.M.Config.MaxPositionEmbeddings {
		T = r.M.Config.MaxPositionEmbeddings
	}
	b := &model.Batch{B: len(in), T: T, Tokens: make([]int32, len(in)*T), Targets: make([]int32, len(in)*T)}
	last := make([]int, len(in))
	for i, s := range in {
		if len(s.tokens) > T {
			return nil, nil, fmt.Errorf("train: reward input of %d tokens exceeds the model's %d positions", len(s.tokens), T)
		}
		for j := range T {
			b.Targets[i*T+j] = model.IgnoreIndex
			b.Tokens[i*T+j] = int32(r.Tok.PadID())
		}
		copy(b.Tokens[i*T:], s.tokens)
		b.VideoAt = append(b.VideoAt, s.videoAt)
		b.Patches = append(b.Patches, s.patches...)
		last[i] = i*T + len(s.tokens) - 1
	}
	return b, last, nil
}

// Scores returns the reward of each (question, response) about its video's patches.
func (r *RewardModel) Scores(patches [][]float32, questions, responses []string) ([]float32, error) {
	in := make([]rmInput, len(questions))
	for i := range in {
		in[i].tokens, in[i].videoAt = r.Encode(questions[i], responses[i])
		in[i].patches = patches[i]
	}
	b, last, err := r.batch(in)
	if err != nil {
		return nil, err
	}
	if _, err := r.M.Forward(b); err != nil {
		return nil, err
	}
	h := r.M.HeadOutputs("reward_head")
	out := make([]float32, len(in))
	for i, n := range last {
		out[i] = h[n]
	}
	return out, nil
}
