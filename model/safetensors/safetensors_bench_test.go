package safetensors

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
)

// benchTensors returns 64 MiB of F32: 16 tensors of 1024×1024.
func benchTensors() []Tensor {
	const n = 1024 * 1024
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i) * 0.5
	}
	ts := make([]Tensor, 16)
	for i := range ts {
		ts[i] = F32(fmt.Sprintf("model.layers.%d.weight", i), []int{1024, 1024}, v)
	}
	return ts
}

func BenchmarkWrite(b *testing.B) {
	ts := benchTensors()
	var buf bytes.Buffer
	buf.Grow(65 << 20)
	b.SetBytes(64 << 20)
	for b.Loop() {
		buf.Reset()
		if err := Write(&buf, ts, map[string]string{"format": "pt"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteFile(b *testing.B) {
	ts := benchTensors()
	path := filepath.Join(b.TempDir(), "bench.safetensors")
	b.SetBytes(64 << 20)
	for b.Loop() {
		if err := WriteFile(path, ts, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.safetensors")
	if err := WriteFile(path, benchTensors(), nil); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, err := ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	if err := Write(&buf, benchTensors(), map[string]string{"format": "pt"}); err != nil {
		b.Fatal(err)
	}
	file := buf.Bytes()
	b.SetBytes(64 << 20)
	for b.Loop() {
		f, err := Read(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			b.Fatal(err)
		}
		if len(f.Names()) != 16 {
			b.Fatal("wrong tensor count")
		}
	}
}

func BenchmarkFloat32(b *testing.B) {
	ts := benchTensors()
	b.SetBytes(int64(len(ts[0].Data)))
	for b.Loop() {
		if _, err := ts[0].Float32(); err != nil {
			b.Fatal(err)
		}
	}
}
