package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"testing"
)

// pythonFile is the file the Python library writes for
//
//	save_file({"a": torch.tensor([1.0, 2.0]), "b": torch.tensor([1.5], dtype=torch.bfloat16)},
//	          "x.safetensors", metadata={"format": "pt"})
//
// built by hand from the spec: the 8-byte little-endian header length, a compact JSON header
// with "__metadata__" first and the tensors in buffer order (the library puts larger dtypes
// first, then sorts by name), padded with spaces to a multiple of 8, then the data.
var pythonFile = slices.Concat(
	// Header length: 140 bytes of JSON + 4 spaces = 144 = 0x90.
	[]byte{0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	[]byte(`{"__metadata__":{"format":"pt"},`+
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},`+
		`"b":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]}}`),
	[]byte("    "),
	[]byte{0x00, 0x00, 0x80, 0x3f}, // a[0] = 1.0f
	[]byte{0x00, 0x00, 0x00, 0x40}, // a[1] = 2.0f
	[]byte{0xc0, 0x3f},             // b[0] = 1.5 as bfloat16 (0x3fc0)
)

func pythonTensors() []Tensor {
	return []Tensor{
		F32("a", []int{2}, []float32{1, 2}),
		{Name: "b", DType: "BF16", Shape: []int{1}, Data: []byte{0xc0, 0x3f}},
	}
}

func TestReadPythonFile(t *testing.T) {
	f, err := Read(bytes.NewReader(pythonFile), int64(len(pythonFile)))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("names %q", got)
	}
	if got := f.Metadata(); len(got) != 1 || got["format"] != "pt" {
		t.Errorf("metadata %v", got)
	}
	a, _ := f.Tensor("a")
	b, _ := f.Tensor("b")
	av, err := a.Float32()
	if err != nil {
		t.Fatal(err)
	}
	bv, err := b.Float32()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(av, []float32{1, 2}) || !slices.Equal(bv, []float32{1.5}) {
		t.Errorf("a = %v, b = %v", av, bv)
	}
	if !slices.Equal(a.Shape, []int{2}) || b.DType != "BF16" || !slices.Equal(b.Shape, []int{1}) {
		t.Errorf("a = %+v, b = %+v", a, b)
	}
}

func TestWriteMatchesPython(t *testing.T) {
	got := writeBytes(t, pythonTensors(), map[string]string{"format": "pt"})
	if !bytes.Equal(got, pythonFile) {
		t.Errorf("Write output differs from the Python library's\n got %q\nwant %q", got, pythonFile)
	}
}

// miniTensor is a tensor as the minimal parser below sees it.
type miniTensor struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
	data        []byte
}

// miniParse is a deliberately separate, minimal reading of the spec: header length, JSON
// header into a map, and slices of the buffer.
func miniParse(t *testing.T, file []byte) (map[string]miniTensor, map[string]string) {
	t.Helper()
	n := int64(binary.LittleEndian.Uint64(file[:8]))
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(file[8:8+n], &raw); err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	tensors := make(map[string]miniTensor)
	buf := file[8+n:]
	var covered int64
	for k, v := range raw {
		if k == "__metadata__" {
			if err := json.Unmarshal(v, &meta); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var mt miniTensor
		if err := json.Unmarshal(v, &mt); err != nil {
			t.Fatal(err)
		}
		mt.data = buf[mt.DataOffsets[0]:mt.DataOffsets[1]]
		covered += mt.DataOffsets[1] - mt.DataOffsets[0]
		tensors[k] = mt
	}
	if covered != int64(len(buf)) {
		t.Errorf("tensors cover %d bytes of %d", covered, len(buf))
	}
	return tensors, meta
}

func TestWriteParsesIndependently(t *testing.T) {
	tensors := append(pythonTensors(), sampleTensors()...)
	out := writeBytes(t, tensors, map[string]string{"format": "pt", "step": "3"})
	got, meta := miniParse(t, out)
	if len(meta) != 2 || meta["format"] != "pt" || meta["step"] != "3" {
		t.Errorf("metadata %v", meta)
	}
	if len(got) != len(tensors) {
		t.Errorf("%d tensors, want %d", len(got), len(tensors))
	}
	var prevEnd int64
	for _, want := range tensors { // laid out in the order given
		mt, ok := got[want.Name]
		if !ok {
			t.Errorf("tensor %q missing", want.Name)
			continue
		}
		if mt.DataOffsets[0] != prevEnd {
			t.Errorf("tensor %q starts at %d, want %d", want.Name, mt.DataOffsets[0], prevEnd)
		}
		prevEnd = mt.DataOffsets[1]
		if mt.DType != want.DType || !slices.Equal(mt.Shape, want.Shape) || !bytes.Equal(mt.data, want.Data) {
			t.Errorf("tensor %q: got %s %v %v, want %+v", want.Name, mt.DType, mt.Shape, mt.data, want)
		}
	}
	a := got["a"]
	if v := math.Float32frombits(binary.LittleEndian.Uint32(a.data[4:])); v != 2 {
		t.Errorf("a[1] = %v, want 2", v)
	}
}
