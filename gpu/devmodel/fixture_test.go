package devmodel_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/vrlaif/vrlaif/model"
)

// BenchConfig and the batch shape are what the GPU benchmark (BenchmarkDecoderStepCUDA) and
// scripts/gpu/torch_step.py both run: the demo's small model and a PPO-sized batch of 16 rows.
func BenchConfig() model.Config { return model.Small(2048) }

const benchB, benchT = 16, 256

// TestWriteFixture writes, into $VRLAIF_GPU_FIXTURE, what the PyTorch step benchmark and the
// transformers logits check read (make gpu-check sets it): checkpoint/ (model.Save of the bench
// model, seed 11, matrices ×5), batch.json (B, T and the first batch's tokens and targets, the benchmark's),
// and logits.f32 (row 0's logits from model.Forward: T×V float32, little-endian).
func TestWriteFixture(t *testing.T) {
	dir := os.Getenv("VRLAIF_GPU_FIXTURE")
	if dir == "" {
		t.Skip("VRLAIF_GPU_FIXTURE is not set (make gpu-check sets it)")
	}
	m, err := model.New(BenchConfig(), 11)
	if err != nil {
		t.Fatal(err)
	}
	// At initialisation (std 0.02) attention is nearly uniform, and logits would barely depend on
	// RoPE or the causal mask; matrices 5× larger make both matter to the logits checks.
	for _, p := range m.Params {
		if len(p.Shape) == 2 {
			for i := range m.W[p.Offset : p.Offset+p.Size] {
				m.W[p.Offset+i] *= 5
			}
		}
	}
	if err := model.Save(filepath.Join(dir, "checkpoint"), m); err != nil {
		t.Fatal(err)
	}
	b := TextBatch(m.Config, benchB, benchT, 0)
	if _, err := m.Forward(b); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(map[string]any{"B": b.B, "T": b.T, "tokens": b.Tokens, "targets": b.Targets, "weights": b.Weights, "ignore_index": model.IgnoreIndex})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "batch.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	V := m.Config.VocabSize
	raw := make([]byte, 0, 4*b.T*V)
	for n := 0; n < b.T; n++ {
		for _, v := range m.Logits(n) {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "logits.f32"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (config, %d weights, a %d×%d batch, row 0's logits)", dir, m.NumParams(), b.B, b.T)
}
