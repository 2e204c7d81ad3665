package safetensors

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// halfReference converts binary16 bits to float32 straight from the definition:
// (-1)^s · 2^(e-15) · (1 + m/1024) for normals, (-1)^s · 2^-14 · m/1024 for subnormals.
func halfReference(h uint16) float32 {
	s, e, m := h>>15, int(h>>10)&0x1f, float64(h&0x3ff)
	var v float64
	switch {
	case e == 0x1f && m == 0:
		v = math.Inf(1)
	case e == 0x1f:
		return float32(math.NaN()) // compared by class only
	case e == 0:
		v = math.Ldexp(m/1024, -14)
	default:
		v = math.Ldexp(1+m/1024, e-15)
	}
	if s == 1 {
		v = math.Copysign(v, -1)
	}
	return float32(v)
}

func u16Data(vs ...uint16) []byte {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return b
}

func TestFloat32F16Exhaustive(t *testing.T) {
	all := make([]uint16, 1<<16)
	for i := range all {
		all[i] = uint16(i)
	}
	got, err := Tensor{Name: "h", DType: "F16", Shape: []int{len(all)}, Data: u16Data(all...)}.Float32()
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, h := range all {
		g, want := got[i], halfReference(h)
		gb := math.Float32bits(g)
		ok := gb == math.Float32bits(want)
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 { // NaN: sign, quiet bit and payload move up
			ok = gb == uint32(h&0x8000)<<16|0x7f800000|uint32(h&0x3ff)<<13
		}
		if !ok {
			if bad++; bad <= 5 {
				t.Errorf("F16 %#04x: got %v (%#08x), want %v (%#08x)", h, g, gb, want, math.Float32bits(want))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of 65536 F16 values wrong", bad)
	}
}

func TestFloat32Cases(t *testing.T) {
	tests := []struct {
		name  string
		dtype string
		bits  uint16
		want  uint32 // float32 bits
	}{
		{"F16 one", "F16", 0x3c00, 0x3f800000},
		{"F16 minus two", "F16", 0xc000, 0xc0000000},
		{"F16 max", "F16", 0x7bff, math.Float32bits(65504)},
		{"F16 min normal", "F16", 0x0400, math.Float32bits(float32(math.Ldexp(1, -14)))},
		{"F16 min subnormal", "F16", 0x0001, math.Float32bits(float32(math.Ldexp(1, -24)))},
		{"F16 max subnormal", "F16", 0x03ff, math.Float32bits(float32(math.Ldexp(1023, -24)))},
		{"F16 negative subnormal", "F16", 0x8200, math.Float32bits(float32(-math.Ldexp(1, -15)))},
		{"F16 -0", "F16", 0x8000, 0x80000000},
		{"F16 +inf", "F16", 0x7c00, 0x7f800000},
		{"F16 -inf", "F16", 0xfc00, 0xff800000},
		{"F16 quiet NaN", "F16", 0x7e00, 0x7fc00000},
		{"F16 signalling NaN payload", "F16", 0x7c01, 0x7f802000},
		{"BF16 one", "BF16", 0x3f80, 0x3f800000},
		{"BF16 pi", "BF16", 0x4049, 0x40490000},
		{"BF16 subnormal", "BF16", 0x0001, 0x00010000},
		{"BF16 -0", "BF16", 0x8000, 0x80000000},
		{"BF16 -inf", "BF16", 0xff80, 0xff800000},
		{"BF16 NaN payload", "BF16", 0xffc1, 0xffc10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Tensor{DType: tt.dtype, Shape: []int{}, Data: u16Data(tt.bits)}.Float32()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || math.Float32bits(got[0]) != tt.want {
				t.Errorf("got %v (%#08x), want %#08x", got, math.Float32bits(got[0]), tt.want)
			}
		})
	}
}

func TestFloat32BF16Exhaustive(t *testing.T) {
	all := make([]uint16, 1<<16)
	for i := range all {
		all[i] = uint16(i)
	}
	got, err := Tensor{DType: "BF16", Shape: []int{256, 256}, Data: u16Data(all...)}.Float32()
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		if math.Float32bits(g) != uint32(i)<<16 {
			t.Fatalf("BF16 %#04x: got %#08x", i, math.Float32bits(g))
		}
	}
}

func TestF32BitExact(t *testing.T) {
	vals := []uint32{0, 0x80000000, 1, 0x807fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffbfffff, 0x3f800000}
	v := make([]float32, len(vals))
	for i, b := range vals {
		v[i] = math.Float32frombits(b)
	}
	shape := []int{2, 5}
	tn := F32("x", shape, v)
	shape[0] = 99 // F32 must copy the shape
	if tn.DType != "F32" || tn.Shape[0] != 2 || len(tn.Data) != 40 || tn.NumElements() != 10 {
		t.Fatalf("F32 = %+v", tn)
	}
	got, err := tn.Float32()
	if err != nil {
		t.Fatal(err)
	}
	for i := range vals {
		if math.Float32bits(got[i]) != vals[i] {
			t.Errorf("element %d: got %#08x, want %#08x", i, math.Float32bits(got[i]), vals[i])
		}
	}
}

func TestFloat32Errors(t *testing.T) {
	tests := []struct {
		name   string
		tensor Tensor
		want   string
	}{
		{"integer dtype", Tensor{DType: "I32", Shape: []int{1}, Data: make([]byte, 4)}, "cannot convert I32"},
		{"unknown dtype", Tensor{DType: "F8", Shape: []int{1}, Data: make([]byte, 1)}, "unknown dtype"},
		{"short data", Tensor{DType: "F32", Shape: []int{2}, Data: make([]byte, 7)}, "7 bytes of data, want 8"},
		{"negative dim", Tensor{DType: "F16", Shape: []int{-1}}, "negative dimension"},
		{"overflow", Tensor{DType: "F32", Shape: []int{1 << 40, 1 << 40}}, "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.tensor.Float32()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "safetensors: ") {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNumElements(t *testing.T) {
	tests := []struct {
		name    string
		shape   []int
		want    int
		wantErr bool
	}{
		{"scalar", nil, 1, false},
		{"vector", []int{7}, 7, false},
		{"matrix", []int{3, 4}, 12, false},
		{"zero dim", []int{3, 0, 4}, 0, false},
		{"zero after overflow", []int{math.MaxInt, 4, 0}, 0, false},
		{"overflow", []int{math.MaxInt, 2}, 0, true},
		{"negative", []int{2, -2}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := numElements(tt.shape)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("numElements(%v) = %d, %v; want %d, error %v", tt.shape, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
