package safetensors

import (
	"bytes"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"testing"
)

// specialFloat32s are the values a lossy encoder would get wrong: NaNs with payloads and both
// signs, signed zeros, subnormals and the extremes.
var specialFloat32s = []uint32{
	0x00000000, 0x80000000, // ±0
	0x00000001, 0x80000001, 0x007fffff, 0x00400000, // subnormals
	0x00800000, 0x7f7fffff, 0xff7fffff, // min normal, ±max
	0x7f800000, 0xff800000, // ±inf
	0x7fc00000, 0xffc00000, 0x7fc00001, 0x7f800001, 0x7fbfffff, 0xff812345, // quiet and signalling NaNs
	0x3f800000, 0xbf800000, 0x3eaaaaab, // 1, -1, 1/3
}

func sampleTensors() []Tensor {
	f32 := make([]float32, len(specialFloat32s))
	for i, b := range specialFloat32s {
		f32[i] = math.Float32frombits(b)
	}
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*37 + 11)
		}
		return b
	}
	return []Tensor{
		F32("model.layers.0.weight", []int{4, 5}, f32),
		{Name: "half", DType: "F16", Shape: []int{3}, Data: []byte{0x01, 0x00, 0x00, 0x80, 0x01, 0x7e}},
		{Name: "brain", DType: "BF16", Shape: []int{2, 1}, Data: []byte{0xc1, 0xff, 0x01, 0x00}},
		{Name: "f64", DType: "F64", Shape: []int{3}, Data: bytesOf(24)},
		{Name: "i64", DType: "I64", Shape: []int{1, 1, 1}, Data: bytesOf(8)},
		{Name: "i32", DType: "I32", Shape: []int{}, Data: bytesOf(4)},
		{Name: "i16", DType: "I16", Shape: []int{3}, Data: bytesOf(6)},
		{Name: "i8", DType: "I8", Shape: []int{5}, Data: bytesOf(5)},
		{Name: "u8", DType: "U8", Shape: []int{2, 3}, Data: bytesOf(6)},
		{Name: "mask", DType: "BOOL", Shape: []int{3}, Data: []byte{1, 0, 1}},
		{Name: "empty", DType: "F32", Shape: []int{0}},
		{Name: "ünïcode \"name\"\t", DType: "U8", Shape: []int{1}, Data: []byte{42}},
	}
}

// checkSameTensors fails the test unless f holds exactly want, bit for bit.
func checkSameTensors(t testing.TB, f *File, want []Tensor) {
	t.Helper()
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = w.Name
	}
	slices.Sort(names)
	if got := f.Names(); !slices.Equal(got, names) {
		t.Fatalf("names %q, want %q", got, names)
	}
	for _, w := range want {
		got, ok := f.Tensor(w.Name)
		if !ok || got.Name != w.Name || got.DType != w.DType || !slices.Equal(got.Shape, w.Shape) || !bytes.Equal(got.Data, w.Data) {
			t.Errorf("tensor %q:\n got %+v\nwant %+v", w.Name, got, w)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	tensors := sampleTensors()
	meta := map[string]string{"format": "pt", "note": "ünïcode\n\"quoted\"", "": "empty key"}
	tests := []struct {
		name     string
		metadata map[string]string
		reverse  bool
	}{
		{"with metadata", meta, false},
		{"without metadata", nil, false},
		{"reversed order", meta, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tensors)
			if tt.reverse {
				slices.Reverse(in)
			}
			out := writeBytes(t, in, tt.metadata)
			f, err := Read(bytes.NewReader(out), int64(len(out)))
			if err != nil {
				t.Fatal(err)
			}
			checkSameTensors(t, f, in)
			if !maps.Equal(f.Metadata(), tt.metadata) {
				t.Errorf("metadata %q, want %q", f.Metadata(), tt.metadata)
			}
			// Writing what was read gives the same bytes back.
			again := make([]Tensor, len(in))
			for i, tn := range in {
				again[i], _ = f.Tensor(tn.Name)
			}
			if out2 := writeBytes(t, again, f.Metadata()); !bytes.Equal(out, out2) {
				t.Error("rewriting the file changed its bytes")
			}
		})
	}
}

func TestRoundTripFloat32Values(t *testing.T) {
	out := writeBytes(t, sampleTensors(), nil)
	f, err := Read(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := f.Tensor("model.layers.0.weight")
	got, err := w.Float32()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range specialFloat32s {
		if math.Float32bits(got[i]) != want {
			t.Errorf("element %d: got %#08x, want %#08x", i, math.Float32bits(got[i]), want)
		}
	}
}

func TestRoundTripFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rt.safetensors")
	tensors := sampleTensors()
	if err := WriteFile(path, tensors, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkSameTensors(t, f, tensors)
}
