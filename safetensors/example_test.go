package safetensors_test

import (
	"bytes"
	"fmt"
	"log"

	"papscope/safetensors"
)

func Example() {
	kernel, err := safetensors.F32("dense/kernel", []int{2, 2}, []float32{1, 2, 3, 4})
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	err = safetensors.Encode(&buf, &safetensors.File{
		Metadata: map[string]string{"format": "pt"},
		Tensors:  []safetensors.Tensor{kernel},
	})
	if err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.Decode(buf.Bytes(), safetensors.Limits{})
	if err != nil {
		log.Fatal(err)
	}
	t, ok := f.Tensor("dense/kernel")
	if !ok {
		log.Fatal("no dense/kernel")
	}
	values, err := t.Float32s()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Metadata["format"], t.DType, t.Shape, values)
	// Output: pt F32 [2 2] [1 2 3 4]
}

func ExampleDecode_truncated() {
	var buf bytes.Buffer
	t, _ := safetensors.F32("w", []int{3}, []float32{1, 2, 3})
	if err := safetensors.Encode(&buf, &safetensors.File{Tensors: []safetensors.Tensor{t}}); err != nil {
		log.Fatal(err)
	}
	_, err := safetensors.Decode(buf.Bytes()[:buf.Len()-1], safetensors.Limits{})
	fmt.Println(err)
	// Output: safetensors: tensor "w": data_offsets [0 12] run past the end of the 11-byte data section: file truncated
}
