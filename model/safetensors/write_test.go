package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBytes writes tensors and metadata to memory, failing the test on error.
func writeBytes(t testing.TB, tensors []Tensor, metadata map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, tensors, metadata); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestWriteErrors(t *testing.T) {
	ok := F32("ok", []int{1}, []float32{1})
	tests := []struct {
		name     string
		tensors  []Tensor
		metadata map[string]string
		want     string
	}{
		{"duplicate name", []Tensor{ok, ok}, nil, `duplicate tensor name "ok"`},
		{"reserved name", []Tensor{F32(metadataKey, nil, []float32{1})}, nil, "is reserved"},
		{"unknown dtype", []Tensor{{Name: "x", DType: "F8_E4M3", Shape: []int{1}, Data: []byte{0}}}, nil, "unknown dtype"},
		{"lowercase dtype", []Tensor{{Name: "x", DType: "f32", Shape: []int{1}, Data: make([]byte, 4)}}, nil, "unknown dtype"},
		{"data too long", []Tensor{F32("x", []int{2}, []float32{1, 2, 3})}, nil, "12 bytes of data, want 8"},
		{"data too short", []Tensor{{Name: "x", DType: "I64", Shape: []int{2, 2}, Data: make([]byte, 31)}}, nil, "31 bytes of data, want 32"},
		{"negative dimension", []Tensor{{Name: "x", DType: "U8", Shape: []int{-1}}}, nil, "negative dimension"},
		{"shape overflow", []Tensor{{Name: "x", DType: "F64", Shape: []int{1 << 62, 4}}}, nil, "overflows"},
		{"invalid UTF-8 name", []Tensor{F32("\xff", nil, []float32{1})}, nil, "not valid UTF-8"},
		{"invalid UTF-8 metadata", []Tensor{ok}, map[string]string{"k": "\xc3"}, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Write(&b, tt.tensors, tt.metadata)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "safetensors: ") {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", b.Len())
			}
		})
	}
}

func TestWriteHeaderLayout(t *testing.T) {
	tensors := []Tensor{
		{Name: "z", DType: "U8", Shape: []int{3}, Data: []byte{1, 2, 3}},
		F32("a", []int{1, 1}, []float32{1}),
		{Name: "scalar", DType: "I16", Shape: []int{}, Data: []byte{7, 0}},
		{Name: "empty", DType: "F32", Shape: []int{0, 5}},
	}
	meta := map[string]string{"b": "2", "a": "1", "q": "\"\\\n\x01é"}
	out := writeBytes(t, tensors, meta)
	n := binary.LittleEndian.Uint64(out)
	header := string(out[8 : 8+n])
	want := `{"__metadata__":{"a":"1","b":"2","q":"\"\\\n\u0001é"},` +
		`"a":{"dtype":"F32","shape":[1,1],"data_offsets":[3,7]},` +
		`"empty":{"dtype":"F32","shape":[0,5],"data_offsets":[9,9]},` +
		`"scalar":{"dtype":"I16","shape":[],"data_offsets":[7,9]},` +
		`"z":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}`
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	if strings.TrimRight(header, " ") != want || len(header)-len(want) >= 8 {
		t.Errorf("header\n got %q\nwant %q + padding", header, want)
	}
	if data := out[8+n:]; !bytes.Equal(data, []byte{1, 2, 3, 0, 0, 0x80, 0x3f, 7, 0}) {
		t.Errorf("buffer = %v", data)
	}
}

func TestWriteDeterministic(t *testing.T) {
	tensors := []Tensor{
		F32("w", []int{2}, []float32{1, 2}),
		F32("b", []int{1}, []float32{3}),
		{Name: "m", DType: "BOOL", Shape: []int{2}, Data: []byte{0, 1}},
	}
	meta := map[string]string{"format": "pt", "step": "10", "a": "", "z": "zz", "m": "mm"}
	first := writeBytes(t, tensors, meta)
	for range 20 { // map iteration order changes from run to run
		if again := writeBytes(t, tensors, meta); !bytes.Equal(first, again) {
			t.Fatalf("second write differs:\n%q\n%q", first, again)
		}
	}
}

func TestWriteEmpty(t *testing.T) {
	// From the reference implementation's tests: no tensors, no metadata.
	want := []byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '}
	if got := writeBytes(t, nil, nil); !bytes.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	f, err := Read(bytes.NewReader(want), int64(len(want)))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Names()) != 0 || f.Metadata() != nil {
		t.Errorf("names %v, metadata %v", f.Names(), f.Metadata())
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		return w.after, errors.New("disk full")
	}
	w.after -= len(p)
	return len(p), nil
}

func TestWriteIOError(t *testing.T) {
	big := F32("big", []int{1 << 16}, make([]float32, 1<<16))
	err := Write(&failWriter{after: 1000}, []Tensor{big}, nil)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("got %v, want the writer's error", err)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	tensors := []Tensor{F32("w", []int{2}, []float32{1, 2})}
	if err := WriteFile(path, tensors, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	// A failed write leaves the old file and no temporary file.
	if err := WriteFile(path, []Tensor{F32("w", []int{3}, nil)}, nil); err == nil {
		t.Fatal("WriteFile of a bad tensor succeeded")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "model.safetensors" {
		t.Errorf("directory holds %v, want only model.safetensors", entries)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w, ok := f.Tensor("w")
	if !ok || !bytes.Equal(w.Data, tensors[0].Data) || f.Metadata()["format"] != "pt" {
		t.Errorf("read back %+v, metadata %v", w, f.Metadata())
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.safetensors"), tensors, nil); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

func TestWriteJSONString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "model.embed_tokens.weight", `"model.embed_tokens.weight"`},
		{"empty", "", `""`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"other controls", "\x00\x1f", `"\u0000\u001f"`},
		{"not escaped", "/<>&\x7f", `"/<>&` + "\x7f" + `"`},
		{"non-ASCII verbatim", "é\u2028😀", `"é` + "\u2028" + `😀"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeJSONString(&b, tt.in)
			if b.String() != tt.want {
				t.Errorf("got %s, want %s", b.String(), tt.want)
			}
			var back string
			if err := json.Unmarshal(b.Bytes(), &back); err != nil || back != tt.in {
				t.Errorf("decodes to %q, %v", back, err)
			}
		})
	}
}

func TestDTypeSize(t *testing.T) {
	tests := []struct {
		dtype string
		want  int
		ok    bool
	}{
		{"F64", 8, true}, {"F32", 4, true}, {"F16", 2, true}, {"BF16", 2, true},
		{"I64", 8, true}, {"I32", 4, true}, {"I16", 2, true}, {"I8", 1, true},
		{"U8", 1, true}, {"BOOL", 1, true}, {"U16", 0, false}, {"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.dtype, func(t *testing.T) {
			if got, ok := DTypeSize(tt.dtype); got != tt.want || ok != tt.ok {
				t.Errorf("DTypeSize(%q) = %d, %v; want %d, %v", tt.dtype, got, ok, tt.want, tt.ok)
			}
		})
	}
}
