package safetensors

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"testing"
)

// FuzzRead checks that Read never panics, and that whatever it accepts is self-consistent and
// survives a Write/Read round trip unchanged.
func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	if err := Write(&b, sampleTensors(), map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add(pythonFile)
	f.Add(rawFile(`{"x":{"dtype":"F64","shape":[0],"data_offsets":[1,1]},"y":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}))
	f.Add(rawFile(`{"__metadata__":null}`, nil))
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})

	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		names := file.Names()
		if !slices.IsSorted(names) {
			t.Fatalf("names not sorted: %q", names)
		}
		tensors := make([]Tensor, 0, len(names))
		total := 0
		for _, name := range names {
			tn, ok := file.Tensor(name)
			if !ok || tn.Name != name {
				t.Fatalf("Tensor(%q) = %+v, %v", name, tn, ok)
			}
			if err := tn.validate(); err != nil {
				t.Fatalf("Read returned an invalid tensor: %v", err)
			}
			if tn.DType == "F32" || tn.DType == "F16" || tn.DType == "BF16" {
				if v, err := tn.Float32(); err != nil || len(v) != tn.NumElements() {
					t.Fatalf("Float32: %d values, %v", len(v), err)
				}
			}
			total += len(tn.Data)
			tensors = append(tensors, tn)
		}
		var out bytes.Buffer
		if err := Write(&out, tensors, file.Metadata()); err != nil {
			// Only the name Write reserves may fail, and Read never yields it.
			t.Fatalf("rewriting a file Read accepted: %v", err)
		}
		again, err := Read(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("reading the rewritten file: %v", err)
		}
		checkSameTensors(t, again, tensors)
		if !maps.Equal(again.Metadata(), file.Metadata()) {
			t.Fatalf("metadata %q became %q", file.Metadata(), again.Metadata())
		}
		if total > len(data) {
			t.Fatalf("tensors hold %d bytes, more than the %d-byte file", total, len(data))
		}
	})
}
