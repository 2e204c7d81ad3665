package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestLoRAGradAndFrozenBase(t *testing.T) {
	c := Tiny(24)
	m, _ := New(c, 1)
	rng := rand.New(rand.NewPCG(11, 1))
	for i := range m.W {
		m.W[i] += float32(rng.NormFloat64() * 0.3)
	}
	if err := m.AttachLoRA(LoRAConfig{Rank: 2, Alpha: 2, TargetModules: []string{"q_proj", "v_proj", "down_proj"}}, 3); err != nil {
		t.Fatal(err)
	}
	// B starts at zero; make it non-zero so every path carries gradient. Kept moderate (0.1):
	// with larger adapters the loss curves enough over a 1e-2 step that the central difference's
	// O(eps²) truncation error passes the tolerance (it shrinks with eps: checked at 3e-3).
	for i := range m.LoRA.W {
		m.LoRA.W[i] += float32(rng.NormFloat64() * 0.1)
	}
	b := tinyBatch(c, rng, 2, c.VideoTokens()+5)
	loss := func() float64 { l, _ := m.Forward(b); return float64(l) }
	loss()
	m.ZeroGrad()
	clear(m.LoRA.G)
	m.Backward(b)
	for _, p := range m.LoRA.Params {
		checkGrad(t, p.Name, m.LoRA.W[p.Offset:p.Offset+p.Size], append([]float32(nil), m.LoRA.G[p.Offset:p.Offset+p.Size]...), loss)
	}
	if g := m.g("model.layers.0.self_attn.q_proj.weight"); anyNonZero(g) {
		t.Error("a module with an adapter got a base-weight gradient")
	}
	if g := m.g("model.layers.0.self_attn.k_proj.weight"); !anyNonZero(g) {
		t.Error("a module without an adapter got no gradient")
	}
}

func anyNonZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return true
		}
	}
	return false
}

// Merging must not change the function: logits before and after agree to float32 rounding
// (1e-4 relative to their scale: the merged weights round differently from the two products).
func TestLoRAMergeAndSaveLoad(t *testing.T) {
	c := Tiny(24)
	m, _ := New(c, 2)
	rng := rand.New(rand.NewPCG(12, 1))
	m.AttachLoRA(LoRAConfig{Rank: 4, Alpha: 8, TargetModules: []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}}, 5)
	for i := range m.LoRA.W {
		m.LoRA.W[i] += float32(rng.NormFloat64() * 0.05)
	}
	b := tinyBatch(c, rng, 1, c.VideoTokens()+4)
	m.Forward(b)
	before := append([]float32(nil), m.acts.logits...)
	dir := t.TempDir()
	if err := SaveLoRA(dir, m); err != nil {
		t.Fatal(err)
	}
	saved := append([]float32(nil), m.LoRA.W...)
	m.MergeLoRA()
	m.Forward(b)
	for i, v := range m.acts.logits {
		if math.Abs(float64(v-before[i])) > 1e-4*(1+math.Abs(float64(before[i]))) {
			t.Fatalf("logit %d: %g merged, %g with the adapter", i, v, before[i])
		}
	}
	fresh, _ := New(c, 2)
	if err := LoadLoRA(dir, fresh); err != nil {
		t.Fatal(err)
	}
	for i, v := range fresh.LoRA.W {
		if math.Float32bits(v) != math.Float32bits(saved[i]) {
			t.Fatal("adapter weights differ after save/load")
		}
	}
	if fresh.LoRA.Config.PeftType != "LORA" || fresh.LoRA.Config.Rank != 4 {
		t.Errorf("adapter config %+v", fresh.LoRA.Config)
	}
}

func TestHeadsGrad(t *testing.T) {
	c := Tiny(24)
	c.ValueHead, c.RewardHead = true, true
	m, _ := New(c, 3)
	rng := rand.New(rand.NewPCG(13, 1))
	for i := range m.W {
		m.W[i] += float32(rng.NormFloat64() * 0.3)
	}
	b := tinyBatch(c, rng, 2, c.VideoTokens()+4)
	dv, dr := randn(rng, b.B*b.T, 1), make([]float32, b.B*b.T)
	dr[b.T-1], dr[2*b.T-1] = 1, -1 // a reward at each row's last token
	loss := func() float64 {
		l, _ := m.Forward(b)
		return 0.5*float64(l) + dotLoss(dv, m.HeadOutputs("value_head")) + dotLoss(dr, m.HeadOutputs("reward_head"))
	}
	loss()
	m.ZeroGrad()
	m.BackwardHeads(b, 0.5, map[string][]float32{"value_head": dv, "reward_head": dr})
	ana := append([]float32(nil), m.G...)
	for _, name := range []string{"value_head.weight", "value_head.bias", "reward_head.weight", "reward_head.bias",
		"model.layers.1.mlp.up_proj.weight", "model.embed_tokens.weight", "vision_tower.patch_embed.weight"} {
		p := m.byName[name]
		checkGrad(t, name, m.W[p.Offset:p.Offset+p.Size], ana[p.Offset:p.Offset+p.Size], loss)
	}
}

// An adapter records the weights hash of the base it was trained on and is refused by a base
// with other weights (same shapes: it would otherwise merge silently into the wrong model).
func TestAdapterRefusesAnotherBase(t *testing.T) {
	c := Tiny(24)
	checkpoint := func(seed uint64) string {
		m, _ := New(c, seed)
		dir := t.TempDir()
		if err := Save(dir, m); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	baseDir, otherDir := checkpoint(2), checkpoint(3)
	base, err := Load(baseDir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := WeightsHash(baseDir)
	if base.Revision != want || len(want) != 16 {
		t.Fatalf("loaded revision %q, weights hash %q", base.Revision, want)
	}
	if err := base.AttachLoRA(LoRAConfig{Rank: 2, Alpha: 4, TargetModules: []string{"q_proj"}, BaseModel: baseDir}, 1); err != nil {
		t.Fatal(err)
	}
	adapter := t.TempDir()
	if err := SaveLoRA(adapter, base); err != nil {
		t.Fatal(err)
	}
	same, _ := Load(baseDir)
	if err := LoadLoRA(adapter, same); err != nil {
		t.Errorf("the adapter's own base: %v", err)
	}
	other, _ := Load(otherDir)
	err = LoadLoRA(adapter, other)
	if err == nil || !strings.Contains(err.Error(), "trained on a base whose weights hash is "+want) {
		t.Errorf("another base: %v", err)
	}
	// A model built in memory has no revision to compare (tests, a base being trained).
	if err := LoadLoRA(adapter, mustNew(t, c)); err != nil {
		t.Errorf("in-memory base: %v", err)
	}
}

func mustNew(t *testing.T, c Config) *Model {
	t.Helper()
	m, err := New(c, 9)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
