package model

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vrlaif/vrlaif/model/safetensors"
)

// LoRAConfig is a PEFT-style adapter configuration (adapter_config.json).
type LoRAConfig struct {
	PeftType      string   `json:"peft_type"` // "LORA"
	Rank          int      `json:"r"`
	Alpha         float32  `json:"lora_alpha"`
	TargetModules []string `json:"target_modules"` // of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj
	BaseModel     string   `json:"base_model_name_or_path"`
	// BaseRevision is the WeightsHash of the base the adapter was trained on (PEFT's "revision":
	// the base model's version). AttachLoRA fills it from a loaded base; LoadLoRA refuses a base
	// with other weights, which would take the adapter silently (same shapes, wrong model).
	BaseRevision string `json:"revision,omitempty"`
}

// LoRA holds low-rank adapters: for a target Linear W [out,in], W' = W + (alpha/r)·B·A with
// A [r,in] and B [out,r]. A starts random, B at zero, so an attached adapter changes nothing
// until trained.
type LoRA struct {
	Config LoRAConfig
	Params []Param // lora_A/lora_B under PEFT names: base_model.model.<module>.lora_A.weight
	W, G   []float32
	byName map[string]Param
	tmp    map[string][]float32 // per module: inp·Aᵀ [N,r], kept for backward
}

var loraModules = []string{"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
	"mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"}

// AttachLoRA adds adapters to the target modules of every decoder layer. While attached, the
// base weights of those modules get no gradient (they are frozen) and training updates the
// adapters (see LoRA.Params and NewAdamWFor).
func (m *Model) AttachLoRA(cfg LoRAConfig, seed uint64) error {
	if cfg.Rank <= 0 || cfg.Alpha <= 0 || len(cfg.TargetModules) == 0 {
		return fmt.Errorf("model: bad LoRA config %+v", cfg)
	}
	cfg.PeftType = "LORA"
	if cfg.BaseRevision == "" {
		cfg.BaseRevision = m.Revision
	}
	l := &LoRA{Config: cfg, byName: map[string]Param{}, tmp: map[string][]float32{}}
	off := 0
	for i := 0; i < m.Config.NumHiddenLayers; i++ {
		for _, mod := range loraModules {
			short := mod[strings.Index(mod, ".")+1:]
			if !slices.Contains(cfg.TargetModules, short) {
				continue
			}
			base := m.byName[fmt.Sprintf("model.layers.%d.%s.weight", i, mod)]
			out, in := base.Shape[0], base.Shape[1]
			prefix := fmt.Sprintf("base_model.model.model.layers.%d.%s.", i, mod)
			for _, p := range []Param{{Name: prefix + "lora_A.weight", Shape: []int{cfg.Rank, in}}, {Name: prefix + "lora_B.weight", Shape: []int{out, cfg.Rank}}} {
				p.Size = p.Shape[0] * p.Shape[1]
				p.Offset = off
				off += p.Size
				l.Params = append(l.Params, p)
				l.byName[p.Name] = p
			}
		}
	}
	if len(l.Params) == 0 {
		return fmt.Errorf("model: LoRA targets %v match no module", cfg.TargetModules)
	}
	l.W, l.G = make([]float32, off), make([]float32, off)
	rng := rand.New(rand.NewPCG(seed, 0x10a))
	for _, p := range l.Params {
		if strings.HasSuffix(p.Name, "lora_A.weight") { // Kaiming-uniform bound as PEFT: 1/sqrt(in)
			bound := 1 / math.Sqrt(float64(p.Shape[1]))
			for i := p.Offset; i < p.Offset+p.Size; i++ {
				l.W[i] = float32((2*rng.Float64() - 1) * bound)
			}
		}
	}
	m.LoRA = l
	return nil
}

func (l *LoRA) scale() float32 { return l.Config.Alpha / float32(l.Config.Rank) }

// views returns A, B and their gradients for a module name ("model.layers.0.self_attn.q_proj"),
// or ok=false when the module has no adapter.
func (l *LoRA) views(module string) (a, b, ga, gb []float32, ok bool) {
	pa, okA := l.byName["base_model.model."+module+".lora_A.weight"]
	pb := l.byName["base_model.model."+module+".lora_B.weight"]
	if !okA {
		return nil, nil, nil, nil, false
	}
	return l.W[pa.Offset : pa.Offset+pa.Size], l.W[pb.Offset : pb.Offset+pb.Size],
		l.G[pa.Offset : pa.Offset+pa.Size], l.G[pb.Offset : pb.Offset+pb.Size], true
}

// linear is MatmulForward for decoder module (no bias) plus its adapter, if any:
// out = inp·Wᵀ + s·(inp·Aᵀ)·Bᵀ with s = alpha/r. out [N,OC], inp [N,C].
func (m *Model) linear(module string, out, inp []float32, N, C, OC int) {
	m.linearTo(module, out, OC, inp, N, C, OC)
}

// linearTo is linear with out's rows ldo ≥ OC apart (a column block of a fused activation).
func (m *Model) linearTo(module string, out []float32, ldo int, inp []float32, N, C, OC int) {
	gemm(false, true, N, OC, C, 1, inp, C, m.w(module+".weight"), C, 0, out, ldo)
	if m.LoRA == nil {
		return
	}
	A, B, _, _, ok := m.LoRA.views(module)
	if !ok {
		return
	}
	r := m.LoRA.Config.Rank
	tmp := m.LoRA.tmp[module]
	if len(tmp) < N*r {
		tmp = make([]float32, N*r)
		m.LoRA.tmp[module] = tmp
	}
	MatmulForward(tmp[:N*r], inp, A, nil, N, C, r)
	gemm(false, true, N, OC, r, m.LoRA.scale(), tmp, r, B, r, 1, out, ldo)
}

// linearBackward is linear's gradient, with dout's rows ldd ≥ OC apart and dinp scaled by beta
// first (0: overwritten). Without an adapter: dinp = beta·dinp + dout·W, dW += doutᵀ·inp. With
// one, W is frozen (no dW) and, with g = s·dout: dB += gᵀ·tmp, dtmp = g·B, dA += dtmpᵀ·inp,
// dinp = beta·dinp + dout·W + dtmp·A.
func (m *Model) linearBackward(module string, dinp []float32, beta float32, dout []float32, ldd int, inp []float32, N, C, OC int) {
	var A, B, gA, gB []float32
	ok := false
	if m.LoRA != nil {
		A, B, gA, gB, ok = m.LoRA.views(module)
	}
	if !ok {
		matmulBackward(dinp, beta, m.g(module+".weight"), nil, dout, ldd, inp, m.w(module+".weight"), N, C, OC)
		return
	}
	matmulBackward(dinp, beta, nil, nil, dout, ldd, inp, m.w(module+".weight"), N, C, OC)
	r, s := m.LoRA.Config.Rank, m.LoRA.scale()
	g := make([]float32, N*OC)
	for n := 0; n < N; n++ {
		for o, v := range dout[n*ldd : n*ldd+OC] {
			g[n*OC+o] = s * v
		}
	}
	dtmp := make([]float32, N*r)
	MatmulBackward(dtmp, gB, nil, g, m.LoRA.tmp[module][:N*r], B, N, r, OC)
	MatmulBackward(dinp, gA, nil, dtmp, inp, A, N, C, r)
}

// MergeLoRA folds the adapters into the base weights (W += s·B·A) and detaches them.
func (m *Model) MergeLoRA() {
	if m.LoRA == nil {
		return
	}
	s := m.LoRA.scale()
	for i := 0; i < m.Config.NumHiddenLayers; i++ {
		for _, mod := range loraModules {
			module := fmt.Sprintf("model.layers.%d.%s", i, mod)
			A, B, _, _, ok := m.LoRA.views(module)
			if !ok {
				continue
			}
			p := m.byName[module+".weight"]
			out, in := p.Shape[0], p.Shape[1]
			gemm(false, false, out, in, m.LoRA.Config.Rank, s, B, m.LoRA.Config.Rank, A, in, 1, m.W[p.Offset:p.Offset+p.Size], in)
		}
	}
	m.LoRA = nil
}

// Adapter files, in the PEFT layout.
const (
	AdapterConfigFile  = "adapter_config.json"
	AdapterWeightsFile = "adapter_model.safetensors"
)

// SaveLoRA writes the attached adapters apart from the base: adapter_config.json and
// adapter_model.safetensors.
func SaveLoRA(dir string, m *Model) error {
	if m.LoRA == nil {
		return fmt.Errorf("model: no LoRA attached")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	var ts []safetensors.Tensor
	for _, p := range m.LoRA.Params {
		ts = append(ts, safetensors.F32(p.Name, p.Shape, m.LoRA.W[p.Offset:p.Offset+p.Size]))
	}
	if err := safetensors.WriteFile(filepath.Join(dir, AdapterWeightsFile), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m.LoRA.Config, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, AdapterConfigFile), append(b, '\n'), 0o644)
}

// LoadLoRA attaches the adapters saved in dir to m.
func LoadLoRA(dir string, m *Model) error {
	b, err := os.ReadFile(filepath.Join(dir, AdapterConfigFile))
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	var cfg LoRAConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("model: %s: %w", AdapterConfigFile, err)
	}
	if cfg.BaseRevision != "" && m.Revision != "" && cfg.BaseRevision != m.Revision {
		return fmt.Errorf("model: the adapter in %s was trained on a base whose weights hash is %s (%s), but this base's is %s: give the checkpoint it was trained on",
			dir, cfg.BaseRevision, cfg.BaseModel, m.Revision)
	}
	if err := m.AttachLoRA(cfg, 0); err != nil {
		return err
	}
	return LoadLoRAWeights(dir, m)
}

// LoadLoRAWeights copies the adapter weights saved in dir into m's attached LoRA (same config).
func LoadLoRAWeights(dir string, m *Model) error {
	if m.LoRA == nil {
		return fmt.Errorf("model: no LoRA attached")
	}
	f, err := safetensors.ReadFile(filepath.Join(dir, AdapterWeightsFile))
	if err != nil {
		return err
	}
	for _, p := range m.LoRA.Params {
		t, ok := f.Tensor(p.Name)
		if !ok || !sameShape(t.Shape, p.Shape) {
			return fmt.Errorf("model: adapter lacks %s %v", p.Name, p.Shape)
		}
		v, err := t.Float32()
		if err != nil {
			return err
		}
		copy(m.LoRA.W[p.Offset:p.Offset+p.Size], v)
	}
	return nil
}
