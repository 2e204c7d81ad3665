package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawFile assembles a file from a header and a buffer, with the header length in front.
func rawFile(header string, buf []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), buf...)
}

func TestReadErrors(t *testing.T) {
	tensorA := `"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"7 bytes", make([]byte, 7), "too short"},
		{"header length too large", binary.LittleEndian.AppendUint64(nil, 100_000_001), "exceeds 100000000"},
		{"header length huge", binary.LittleEndian.AppendUint64(nil, 1<<63), "exceeds"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 10), "{}"...), "exceeds the 2 bytes"},
		{"zero header", rawFile("", nil), "does not start with '{'"},
		{"leading space", rawFile(" {}", nil), "does not start with '{'"},
		{"array header", rawFile("[]", nil), "does not start with '{'"},
		{"invalid UTF-8", rawFile("{\"\xff\":1}", nil), "not valid UTF-8"},
		{"truncated JSON", rawFile(`{"a":{`, nil), "not well-formed JSON"},
		{"trailing garbage", rawFile(`{} x`, nil), "not well-formed JSON"},
		{"trailing NUL padding", rawFile("{}\x00", nil), "not well-formed JSON"},
		{"duplicate tensor", rawFile(`{`+tensorA+`,`+tensorA+`}`, make([]byte, 8)), `duplicate key "a"`},
		{"duplicate after unescaping", rawFile(`{`+tensorA+`,"\u0061":{}}`, make([]byte, 8)), `duplicate key "a"`},
		{"tensor not an object", rawFile(`{"a":[1]}`, nil), "not a JSON object"},
		{"missing dtype", rawFile(`{"a":{"shape":[],"data_offsets":[0,0]}}`, nil), "missing dtype"},
		{"missing shape", rawFile(`{"a":{"dtype":"U8","data_offsets":[0,0]}}`, nil), "missing shape"},
		{"missing offsets", rawFile(`{"a":{"dtype":"U8","shape":[0]}}`, nil), "missing data_offsets"},
		{"unknown field", rawFile(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":1}}`, nil), `unknown field "x"`},
		{"duplicate field", rawFile(`{"a":{"dtype":"U8","dtype":"U8","shape":[0],"data_offsets":[0,0]}}`, nil), `duplicate key "dtype"`},
		{"unknown dtype", rawFile(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), "unknown dtype"},
		{"dtype not string", rawFile(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, nil), "not a string"},
		{"shape null", rawFile(`{"a":{"dtype":"U8","shape":null,"data_offsets":[0,1]}}`, []byte{0}), "not a JSON array"},
		{"negative dim", rawFile(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}`, nil), "non-negative integers"},
		{"fractional dim", rawFile(`{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, []byte{0}), "non-negative integers"},
		{"exponent dim", rawFile(`{"a":{"dtype":"U8","shape":[1e0],"data_offsets":[0,1]}}`, []byte{0}), "non-negative integers"},
		{"null dim", rawFile(`{"a":{"dtype":"U8","shape":[null],"data_offsets":[0,1]}}`, []byte{0}), "non-negative integers"},
		{"dim too large", rawFile(`{"a":{"dtype":"U8","shape":[99999999999999999999],"data_offsets":[0,1]}}`, []byte{0}), "non-negative integers"},
		{"shape overflow", rawFile(`{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), "overflows"},
		{"one offset", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}`, []byte{0}), "not a pair"},
		{"three offsets", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,1]}}`, []byte{0}), "not a pair"},
		{"null offset", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[null,1]}}`, []byte{0}), "non-negative integers"},
		{"end before begin", rawFile(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}`, []byte{0}), "end before they begin"},
		{"offset past buffer", rawFile(`{`+tensorA+`}`, make([]byte, 7)), "exceed the 7-byte buffer"},
		{"gap at start", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{0, 0}), "leave a gap after offset 0"},
		{"gap between", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}`, make([]byte, 3)), "leave a gap after offset 1"},
		{"overlap", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}`, make([]byte, 3)), "overlap"},
		{"same range", rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, make([]byte, 2)), "overlap"},
		{"size mismatch", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,6]}}`, make([]byte, 6)), "span 6 bytes, but F32 [2] needs 2 elements of 4 bytes"},
		{"trailing bytes", rawFile(`{`+tensorA+`}`, make([]byte, 9)), "cover 8 bytes of the 9-byte buffer"},
		{"data without tensors", rawFile(`{}`, []byte{0}), "cover 0 bytes of the 1-byte buffer"},
		{"metadata not object", rawFile(`{"__metadata__":"x"}`, nil), "not a JSON object"},
		{"metadata number", rawFile(`{"__metadata__":{"k":1}}`, nil), `value of "k" is 1, not a string`},
		{"metadata null value", rawFile(`{"__metadata__":{"k":null}}`, nil), "not a string"},
		{"metadata duplicate", rawFile(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `duplicate key "k"`},
		{"metadata twice", rawFile(`{"__metadata__":{},"__metadata__":{}}`, nil), "duplicate key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Read(bytes.NewReader(tt.file), int64(len(tt.file)))
			if err == nil {
				t.Fatalf("Read succeeded with names %v", f.Names())
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestReadAccepts(t *testing.T) {
	tests := []struct {
		name     string
		file     []byte
		names    []string
		metadata map[string]string
	}{
		{"unpadded header", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{9}), []string{"a"}, nil},
		{"whitespace padding", rawFile("{ \"a\" : {\"dtype\":\"U8\",\"shape\":[ 1 ],\"data_offsets\":[0,1]}}\n\t\r ", []byte{9}), []string{"a"}, nil},
		{"null metadata", rawFile(`{"__metadata__":null}`, nil), nil, nil},
		{"empty metadata", rawFile(`{"__metadata__":{}}`, nil), nil, map[string]string{}},
		{"metadata last", rawFile(`{"b":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]},"__metadata__":{"k":"v"}}`, []byte{1}), []string{"b"}, map[string]string{"k": "v"}},
		{"out of order offsets", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1, 2}), []string{"a", "b"}, nil},
		{"zero-size tensors share an offset", rawFile(`{"x":{"dtype":"F64","shape":[0],"data_offsets":[1,1]},"y":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"z":{"dtype":"I32","shape":[2,0],"data_offsets":[1,1]}}`, []byte{1}), []string{"x", "y", "z"}, nil},
		{"empty name", rawFile(`{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), []string{""}, nil},
		{"escaped name", rawFile(`{"\u00e9\n":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), []string{"é\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Read(bytes.NewReader(tt.file), int64(len(tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Names(); strings.Join(got, ",") != strings.Join(tt.names, ",") || len(got) != len(tt.names) {
				t.Errorf("names %q, want %q", got, tt.names)
			}
			if got := f.Metadata(); len(got) != len(tt.metadata) || (got == nil) != (tt.metadata == nil) {
				t.Errorf("metadata %v, want %v", got, tt.metadata)
			}
			for k, v := range tt.metadata {
				if f.Metadata()[k] != v {
					t.Errorf("metadata[%q] = %q, want %q", k, f.Metadata()[k], v)
				}
			}
		})
	}
}

func TestReadOutOfOrderData(t *testing.T) {
	file := rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"b":{"dtype":"I16","shape":[1],"data_offsets":[2,4]},"c":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}`,
		[]byte{10, 20, 30, 40})
	f, err := Read(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"a": {20}, "b": {30, 40}, "c": {10}} {
		tn, ok := f.Tensor(name)
		if !ok || !bytes.Equal(tn.Data, want) || cap(tn.Data) != len(want) {
			t.Errorf("tensor %q = %+v (cap %d), want data %v", name, tn, cap(tn.Data), want)
		}
	}
	if _, ok := f.Tensor("missing"); ok {
		t.Error("Tensor(missing) reported ok")
	}
	// Callers cannot change the file through the returned shape, names or metadata.
	b, _ := f.Tensor("b")
	b.Shape[0] = 5
	f.Names()[0] = "zzz"
	if b2, _ := f.Tensor("b"); b2.Shape[0] != 1 || f.Names()[0] != "a" {
		t.Error("File state changed through a returned slice")
	}
}

// shortReader claims more bytes than it holds.
type shortReader struct{ r *bytes.Reader }

func (s shortReader) ReadAt(p []byte, off int64) (int, error) { return s.r.ReadAt(p, off) }

func TestReadShortReader(t *testing.T) {
	file := rawFile(`{"a":{"dtype":"U8","shape":[1000000000000],"data_offsets":[0,1000000000000]}}`, nil)
	size := int64(len(file)) + 1_000_000_000_000 // a lie: the reader is tiny
	_, err := Read(shortReader{bytes.NewReader(file)}, size)
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Errorf("got %v, want an EOF error without allocating a terabyte", err)
	}
	_, err = Read(shortReader{bytes.NewReader(file[:12])}, int64(len(file)))
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Errorf("truncated header: got %v, want an EOF error", err)
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(filepath.Join(dir, "missing.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, []byte("not safetensors"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(bad)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: got %v, want ErrInvalid naming the path", err)
	}
}
