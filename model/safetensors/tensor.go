package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// dtypeSizes maps each supported dtype to its element size in bytes.
var dtypeSizes = map[string]int{
	"F64":  8,
	"F32":  4,
	"F16":  2,
	"BF16": 2,
	"I64":  8,
	"I32":  4,
	"I16":  2,
	"I8":   1,
	"U8":   1,
	"BOOL": 1,
}

// DTypeSize returns the size in bytes of one element of dtype, and false if the dtype is not
// supported.
func DTypeSize(dtype string) (int, bool) {
	n, ok := dtypeSizes[dtype]
	return n, ok
}

// Tensor is one named tensor: its dtype (such as "F32"), its shape (empty for a scalar) and its
// data, little-endian and row-major.
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// F32 returns an F32 tensor holding v. It copies shape and encodes v bit for bit. It does not
// check that len(v) matches shape; Write does.
func F32(name string, shape []int, v []float32) Tensor {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: "F32", Shape: append([]int{}, shape...), Data: data}
}

// NumElements returns the number of elements the shape describes: the product of its
// dimensions, 1 for a scalar.
func (t Tensor) NumElements() int {
	n, _ := numElements(t.Shape)
	return n
}

// Float32 returns the tensor's elements as float32. It converts F32 (bit for bit, NaN payloads
// included), F16 and BF16 (exactly, subnormals, infinities and NaN payloads included); other
// dtypes are an error, as is data whose length does not match the shape.
func (t Tensor) Float32() ([]float32, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	size := dtypeSizes[t.DType]
	out := make([]float32, len(t.Data)/size)
	switch t.DType {
	case "F32":
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case "F16":
		for i := range out {
			out[i] = math.Float32frombits(halfToFloatBits(binary.LittleEndian.Uint16(t.Data[2*i:])))
		}
	case "BF16":
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.Data[2*i:])) << 16)
		}
	default:
		return nil, fmt.Errorf("safetensors: tensor %q: cannot convert %s to float32", t.Name, t.DType)
	}
	return out, nil
}

// halfToFloatBits converts IEEE 754 binary16 bits to binary32 bits. Every half value is exactly
// representable as a float32; NaN payloads move to the top of the float32 mantissa.
func halfToFloatBits(h uint16) uint32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN
		return sign | 0x7f800000 | mant<<13
	case exp != 0: // normal: rebias the exponent from 15 to 127
		return sign | (exp+127-15)<<23 | mant<<13
	case mant == 0: // signed zero
		return sign
	}
	// Subnormal: mant·2⁻²⁴. Shift the leading one into the implicit bit position.
	e := uint32(127 - 14)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return sign | e<<23 | (mant&0x3ff)<<13
}

// validate checks the dtype, the shape and that the data has exactly the size they require.
func (t Tensor) validate() error {
	size, ok := dtypeSizes[t.DType]
	if !ok {
		return fmt.Errorf("safetensors: tensor %q: unknown dtype %q", t.Name, t.DType)
	}
	n, err := numElements(t.Shape)
	if err != nil {
		return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
	}
	if n > math.MaxInt/size {
		return fmt.Errorf("safetensors: tensor %q: shape %v of %s overflows", t.Name, t.Shape, t.DType)
	}
	if len(t.Data) != n*size {
		return fmt.Errorf("safetensors: tensor %q: %d bytes of data, want %d for %s %v",
			t.Name, len(t.Data), n*size, t.DType, t.Shape)
	}
	return nil
}

// numElements returns the product of the dimensions. A zero dimension gives zero whatever the
// others are; otherwise a product that overflows int is an error.
func numElements(shape []int) (int, error) {
	n := uint64(1)
	overflow := false
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d == 0 {
			return 0, nil
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			overflow = true
		}
		n = lo
	}
	if overflow {
		return 0, fmt.Errorf("shape %v overflows", shape)
	}
	return int(n), nil
}
