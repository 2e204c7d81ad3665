package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSaveLoadIsBitExact(t *testing.T) {
	m, err := New(Tiny(40), 7)
	if err != nil {
		t.Fatal(err)
	}
	// Values a lossy path would change: -0, a NaN payload, denormals, extremes.
	m.W[0], m.W[1], m.W[2], m.W[3] = float32(math.Copysign(0, -1)), math.Float32frombits(0x7fc00123), math.Float32frombits(1), math.MaxFloat32
	dir := t.TempDir()
	if err := Save(dir, m); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config.VocabSize != 40 || len(got.W) != len(m.W) {
		t.Fatalf("config or size differs")
	}
	for i := range m.W {
		if math.Float32bits(got.W[i]) != math.Float32bits(m.W[i]) {
			t.Fatalf("weight %d: %x, want %x", i, math.Float32bits(got.W[i]), math.Float32bits(m.W[i]))
		}
	}
	// The optimizer state round-trips too.
	o := NewAdamW(m, 0.1)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range m.G {
		m.G[i] = float32(rng.NormFloat64())
	}
	o.Step(m.W, m.G, 1e-3)
	if err := SaveOptimizer(dir, o); err != nil {
		t.Fatal(err)
	}
	o2 := NewAdamW(m, 0.1)
	if err := LoadOptimizer(dir, o2); err != nil {
		t.Fatal(err)
	}
	m1, v1, s1 := o.State()
	m2, v2, s2 := o2.State()
	if s1 != s2 || !slices.Equal(m1, m2) || !slices.Equal(v1, v2) {
		t.Error("optimizer state differs after a round trip")
	}
}

func TestHuggingFaceTensorNames(t *testing.T) {
	m, _ := New(Tiny(40), 1)
	want := []string{"model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight",
		"model.norm.weight", "lm_head.weight", "model.mm_projector.0.weight"}
	for _, n := range want {
		if _, ok := m.byName[n]; !ok {
			t.Errorf("no tensor %s", n)
		}
	}
	p := m.byName["model.layers.0.self_attn.k_proj.weight"]
	if !slices.Equal(p.Shape, []int{16, 32}) { // 2 key/value heads of 8 × hidden 32
		t.Errorf("k_proj shape %v", p.Shape)
	}
}

func TestTrainingLowersLossOnATinyTask(t *testing.T) {
	c := Tiny(16)
	m, _ := New(c, 3)
	rng := rand.New(rand.NewPCG(5, 5))
	b := tinyBatch(c, rng, 4, c.VideoTokens()+8)
	// A learnable task: each target is the current token (copy), which needs attention + MLP.
	for n := range b.Targets {
		if b.Targets[n] != IgnoreIndex {
			b.Targets[n] = b.Tokens[n]
		}
	}
	o := NewAdamW(m, 0)
	first, _ := m.Forward(b)
	var last float32
	for step := 0; step < 150; step++ {
		l, err := m.Forward(b)
		if err != nil {
			t.Fatal(err)
		}
		m.ZeroGrad()
		m.Backward(b)
		ClipGradNorm(m.G, 1)
		o.Step(m.W, m.G, 1e-2)
		last = l
	}
	// Untrained, the loss is about ln(16) ≈ 2.77; a working model memorises this batch.
	if !(first > 2.5 && last < 0.3) {
		t.Errorf("loss %.3f → %.3f, want from ≈2.77 to below 0.3", first, last)
	}
}

func TestGreedyIsDeterministic(t *testing.T) {
	c := Tiny(16)
	m, _ := New(c, 9)
	rng := rand.New(rand.NewPCG(1, 1))
	b := tinyBatch(c, rng, 1, c.VideoTokens()+3)
	a1, err := m.Greedy(b.Tokens, b.VideoAt[0], b.Patches, 5, -1)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := m.Greedy(b.Tokens, b.VideoAt[0], b.Patches, 5, -1)
	if len(a1) != 5 || !slices.Equal(a1, a2) {
		t.Errorf("greedy outputs %v and %v", a1, a2)
	}
}

// An SFT checkpoint loads into a model with reward and value heads: every shared tensor is the
// same, and the new heads start with a zero bias.
func TestLoadWithHeads(t *testing.T) {
	c := Tiny(40)
	m, _ := New(c, 3)
	dir := t.TempDir()
	if err := Save(dir, m); err != nil {
		t.Fatal(err)
	}
	h, err := LoadWithHeads(dir, true, true, 9)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params {
		q, _ := h.Param(p.Name)
		for i := 0; i < p.Size; i++ {
			if m.W[p.Offset+i] != h.W[q.Offset+i] {
				t.Fatalf("%s differs after loading", p.Name)
			}
		}
	}
	for _, name := range []string{"reward_head.bias", "value_head.bias"} {
		p, ok := h.Param(name)
		if !ok || h.W[p.Offset] != 0 {
			t.Errorf("%s: present %v, value %v", name, ok, h.W[p.Offset])
		}
	}
}
