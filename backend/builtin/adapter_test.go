package builtin

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/model/tokenizer"
)

// A checkpoint opened with an adapter (the way eval opens a PPO policy) scores exactly as the same
// model with the adapter attached in memory, differs from the checkpoint alone, and names both in
// its revision.
func TestLoadWithAdapter(t *testing.T) {
	ckpt := backendtest.Checkpoint(t)
	m, err := model.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	m.AttachLoRA(model.LoRAConfig{Rank: 4, Alpha: 8, TargetModules: []string{"q_proj", "v_proj", "down_proj"}}, 3)
	rng := rand.New(rand.NewPCG(4, 4))
	for i := range m.LoRA.W {
		m.LoRA.W[i] += float32(rng.NormFloat64() * 0.2)
	}
	adapter := filepath.Join(t.TempDir(), "policy")
	if err := model.SaveLoRA(adapter, m); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(filepath.Join(ckpt, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	inMemory, _ := New(m, tok, backend.Info{Model: "mem"})
	merged, err := LoadWithAdapter(ckpt, adapter, "")
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := Load(ckpt, "")
	req := &backend.ScoreRequest{Messages: backendtest.Question(backendtest.Frames(t, 4), 1, 1).Messages, Continuations: []string{"A", "B", "red"}}
	want, _ := inMemory.Score(t.Context(), req)
	got, err := merged.Score(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := plain.Score(t.Context(), req)
	differs := false
	for i := range want.LogProbs {
		// merging W += s·B·A changes the float32 rounding of the products: 1e-4 relative, the
		// model package's merge tolerance
		if math.Abs(got.LogProbs[i]-want.LogProbs[i]) > 1e-4*(1+math.Abs(want.LogProbs[i])) {
			t.Errorf("continuation %d: %v merged, %v with the adapter attached", i, got.LogProbs[i], want.LogProbs[i])
		}
		differs = differs || math.Abs(base.LogProbs[i]-want.LogProbs[i]) > 1e-3
	}
	if !differs {
		t.Error("the adapter changed nothing: the test proves nothing")
	}
	info := merged.Info()
	if !strings.HasPrefix(info.Revision, plain.Info().Revision+"+") || info.Model != "tiny+policy" {
		t.Errorf("info %+v", info)
	}
	if _, err := backend.Open(t.Context(), backend.Config{Name: "builtin", Model: ckpt, Adapter: filepath.Join(t.TempDir(), "none")}); err == nil {
		t.Error("a missing adapter folder opened")
	}
}
