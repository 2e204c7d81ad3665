package safetensors_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/vrlaif/vrlaif/model/safetensors"
)

func Example() {
	tensors := []safetensors.Tensor{
		safetensors.F32("lm_head.weight", []int{2, 2}, []float32{1, 2, 3, 4}),
		safetensors.F32("lm_head.bias", []int{2}, []float32{0.5, -0.5}),
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, tensors, map[string]string{"format": "pt"}); err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range f.Names() {
		t, _ := f.Tensor(name)
		v, err := t.Float32()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, t.DType, t.Shape, v)
	}
	fmt.Println(f.Metadata())
	// Output:
	// lm_head.bias F32 [2] [0.5 -0.5]
	// lm_head.weight F32 [2 2] [1 2 3 4]
	// map[format:pt]
}
