package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Param is one named tensor, a view into a Model's flat parameter buffer.
type Param struct {
	Name   string // Hugging Face style, e.g. model.layers.0.self_attn.q_proj.weight
	Shape  []int
	Offset int
	Size   int
}

// layout lists every parameter of cfg in a fixed order; the flat buffers follow it.
func layout(c Config) []Param {
	var ps []Param
	off := 0
	add := func(name string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		ps = append(ps, Param{Name: name, Shape: shape, Offset: off, Size: n})
		off += n
	}
	v := c.Vision
	add("vision_tower.patch_embed.weight", v.HiddenSize, v.PatchDim())
	add("vision_tower.patch_embed.bias", v.HiddenSize)
	add("vision_tower.pos_embed", v.Patches(), v.HiddenSize)
	for l := 0; l < v.NumHiddenLayers; l++ {
		p := fmt.Sprintf("vision_tower.layers.%d.", l)
		add(p+"norm.weight", v.HiddenSize)
		add(p+"fc1.weight", v.IntermediateSize, v.HiddenSize)
		add(p+"fc1.bias", v.IntermediateSize)
		add(p+"fc2.weight", v.HiddenSize, v.IntermediateSize)
		add(p+"fc2.bias", v.HiddenSize)
	}
	add("vision_tower.post_norm.weight", v.HiddenSize)
	add("model.mm_projector.0.weight", c.HiddenSize, v.HiddenSize)
	add("model.mm_projector.0.bias", c.HiddenSize)
	add("model.mm_projector.2.weight", c.HiddenSize, c.HiddenSize)
	add("model.mm_projector.2.bias", c.HiddenSize)
	add("model.embed_tokens.weight", c.VocabSize, c.HiddenSize)
	hs, kvd := c.HeadDim(), c.NumKeyValueHeads*c.HeadDim()
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		add(p+"input_layernorm.weight", c.HiddenSize)
		add(p+"self_attn.q_proj.weight", c.NumAttentionHeads*hs, c.HiddenSize)
		add(p+"self_attn.k_proj.weight", kvd, c.HiddenSize)
		add(p+"self_attn.v_proj.weight", kvd, c.HiddenSize)
		add(p+"self_attn.o_proj.weight", c.HiddenSize, c.NumAttentionHeads*hs)
		add(p+"post_attention_layernorm.weight", c.HiddenSize)
		add(p+"mlp.gate_proj.weight", c.IntermediateSize, c.HiddenSize)
		add(p+"mlp.up_proj.weight", c.IntermediateSize, c.HiddenSize)
		add(p+"mlp.down_proj.weight", c.HiddenSize, c.IntermediateSize)
	}
	add("model.norm.weight", c.HiddenSize)
	add("lm_head.weight", c.VocabSize, c.HiddenSize)
	if c.ValueHead {
		add("value_head.weight", 1, c.HiddenSize)
		add("value_head.bias", 1)
	}
	if c.RewardHead {
		add("reward_head.weight", 1, c.HiddenSize)
		add("reward_head.bias", 1)
	}
	return ps
}

// initParams fills params: norms with 1, biases and the position embedding with 0 … small,
// weights with N(0, 0.02²), and output projections (o_proj, down_proj, fc2) scaled by
// 1/sqrt(2·layers) as in GPT-2.
func initParams(c Config, ps []Param, data []float32, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	resid := 0.02 / math.Sqrt(2*float64(c.NumHiddenLayers))
	for _, p := range ps {
		v := data[p.Offset : p.Offset+p.Size]
		switch {
		case hasSuffix(p.Name, "norm.weight"), hasSuffix(p.Name, "layernorm.weight"):
			for i := range v {
				v[i] = 1
			}
		case hasSuffix(p.Name, ".bias"):
			clear(v)
		default:
			std := 0.02
			if hasSuffix(p.Name, "o_proj.weight") || hasSuffix(p.Name, "down_proj.weight") || hasSuffix(p.Name, "fc2.weight") {
				std = resid
			}
			for i := range v {
				v[i] = float32(rng.NormFloat64() * std)
			}
		}
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }
