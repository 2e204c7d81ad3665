package model

import (
	"encoding/json"
	"fmt"
	"os"
)

// Config is the model's Hugging Face style config.json.
type Config struct {
	ModelType             string       `json:"model_type"`
	Architectures         []string     `json:"architectures"`
	VocabSize             int          `json:"vocab_size"`
	HiddenSize            int          `json:"hidden_size"`       // C
	IntermediateSize      int          `json:"intermediate_size"` // H, the SwiGLU width
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	NumKeyValueHeads      int          `json:"num_key_value_heads"`
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	RopeTheta             float64      `json:"rope_theta"`
	RMSNormEps            float32      `json:"rms_norm_eps"`
	BOSTokenID            int          `json:"bos_token_id"`
	EOSTokenID            int          `json:"eos_token_id"`
	PadTokenID            int          `json:"pad_token_id"`
	VideoTokenID          int          `json:"video_token_index"`
	Vision                VisionConfig `json:"vision_config"`
	// Scalar heads on the final hidden states: a value per position (PPO's critic) and a reward
	// (read at a sequence's last token).
	ValueHead  bool `json:"value_head,omitempty"`
	RewardHead bool `json:"reward_head,omitempty"`
}

// VisionConfig is the video front end: each frame (ImageSize², RGB) is cut into patches, embedded,
// passed through residual GELU MLP blocks, projected by a 2-layer GELU projector into the decoder's
// width and pooled into NumFrames temporal + Patches() spatial tokens.
type VisionConfig struct {
	ImageSize        int `json:"image_size"`
	PatchSize        int `json:"patch_size"`
	NumFrames        int `json:"num_frames"`
	HiddenSize       int `json:"hidden_size"`
	IntermediateSize int `json:"intermediate_size"`
	NumHiddenLayers  int `json:"num_hidden_layers"`
}

// Patches is the number of patches per frame.
func (v VisionConfig) Patches() int { return (v.ImageSize / v.PatchSize) * (v.ImageSize / v.PatchSize) }

// PatchDim is the number of values in one patch (RGB).
func (v VisionConfig) PatchDim() int { return 3 * v.PatchSize * v.PatchSize }

// VideoTokens is how many decoder positions one video takes.
func (c Config) VideoTokens() int { return c.Vision.NumFrames + c.Vision.Patches() }

// HeadDim is the size of one attention head.
func (c Config) HeadDim() int { return c.HiddenSize / c.NumAttentionHeads }

// Tiny is a configuration for tests (well under a million parameters).
func Tiny(vocab int) Config {
	return Config{ModelType: "vrlaif_video_llama", Architectures: []string{"VrlaifVideoLlamaForCausalLM"},
		VocabSize: vocab, HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4,
		NumKeyValueHeads: 2, MaxPositionEmbeddings: 128, RopeTheta: 10000, RMSNormEps: 1e-5,
		BOSTokenID: 1, EOSTokenID: 2, PadTokenID: 0, VideoTokenID: 3,
		Vision: VisionConfig{ImageSize: 8, PatchSize: 4, NumFrames: 2, HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 1}}
}

// Small is the demo's default: about 1.5 M parameters with a 2048-token vocabulary.
func Small(vocab int) Config {
	return Config{ModelType: "vrlaif_video_llama", Architectures: []string{"VrlaifVideoLlamaForCausalLM"},
		VocabSize: vocab, HiddenSize: 128, IntermediateSize: 352, NumHiddenLayers: 4, NumAttentionHeads: 4,
		NumKeyValueHeads: 2, MaxPositionEmbeddings: 512, RopeTheta: 10000, RMSNormEps: 1e-5,
		BOSTokenID: 1, EOSTokenID: 2, PadTokenID: 0, VideoTokenID: 3,
		Vision: VisionConfig{ImageSize: 32, PatchSize: 8, NumFrames: 8, HiddenSize: 96, IntermediateSize: 192, NumHiddenLayers: 2}}
}

// Validate reports the first inconsistency.
func (c Config) Validate() error {
	v := c.Vision
	switch {
	case c.VocabSize <= 0 || c.HiddenSize <= 0 || c.IntermediateSize <= 0 || c.NumHiddenLayers <= 0:
		return fmt.Errorf("model: sizes must be positive: %+v", c)
	case c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0 || c.HeadDim()%2 != 0:
		return fmt.Errorf("model: hidden size %d must split into %d heads of even size", c.HiddenSize, c.NumAttentionHeads)
	case c.NumKeyValueHeads <= 0 || c.NumAttentionHeads%c.NumKeyValueHeads != 0:
		return fmt.Errorf("model: %d heads do not group into %d key/value heads", c.NumAttentionHeads, c.NumKeyValueHeads)
	case v.PatchSize <= 0 || v.ImageSize%v.PatchSize != 0 || v.NumFrames <= 0 || v.HiddenSize <= 0 || v.IntermediateSize <= 0:
		return fmt.Errorf("model: bad vision config %+v", v)
	case c.VideoTokens() >= c.MaxPositionEmbeddings:
		return fmt.Errorf("model: %d video tokens do not fit %d positions", c.VideoTokens(), c.MaxPositionEmbeddings)
	}
	return nil
}

// SaveConfig writes config.json.
func SaveConfig(path string, c Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// LoadConfig reads and validates config.json.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("model: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("model: %s: %w", path, err)
	}
	return c, c.Validate()
}
