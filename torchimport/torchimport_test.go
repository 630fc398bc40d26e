package torchimport

import (
	"bytes"
	"errors"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"papscope/nn"
	"papscope/safetensors"
)

// export is Import's inverse, for the tests: papscope weights as the twin's
// state_dict (torch names and layouts, num_batches_tracked included).
func export(t *testing.T, w *nn.Weights) map[string]safetensors.Tensor {
	t.Helper()
	layers, err := mapping()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]safetensors.Tensor{}
	for _, l := range layers {
		for _, tm := range l.tensors {
			keras := w.Tensor(tm.param.Name)
			v := make([]float32, len(keras))
			if tm.perm == nil {
				copy(v, keras)
			} else {
				// permute is a gather: find each torch index's Keras position by permuting an index ramp.
				ramp := make([]float32, len(keras))
				for i := range ramp {
					ramp[i] = float32(i)
				}
				for k, src := range permute(ramp, tm.shape, tm.perm) {
					v[int(src)] = keras[k]
				}
			}
			st, err := safetensors.F32(tm.torch, tm.shape, v)
			if err != nil {
				t.Fatal(err)
			}
			out[tm.torch] = st
		}
		if l.layer.Kind == nn.BatchNorm {
			n := l.module + ".num_batches_tracked"
			out[n] = safetensors.Tensor{Name: n, DType: "I64", Shape: []int{}, Data: make([]byte, 8)}
		}
	}
	return out
}

// encode writes tensors (with metadata) as a safetensors file.
func encode(t *testing.T, tensors map[string]safetensors.Tensor, md map[string]string) []byte {
	t.Helper()
	f := &safetensors.File{Metadata: md}
	for _, k := range slices.Sorted(maps.Keys(tensors)) {
		f.Tensors = append(f.Tensors, tensors[k])
	}
	var b bytes.Buffer
	if err := safetensors.Encode(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func initWeights(t *testing.T) *nn.Weights {
	t.Helper()
	w, err := nn.InitWeights(nn.DefaultMetadata(nn.Dims{Height: 64, Width: 64}), 5)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestMappingCoversEveryParameterOnce(t *testing.T) {
	layers, err := mapping()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	torchNames := map[string]bool{}
	n := 0
	for _, l := range layers {
		for _, tm := range l.tensors {
			if seen[tm.param.Name] || torchNames[tm.torch] {
				t.Errorf("%s / %s mapped twice", tm.param.Name, tm.torch)
			}
			seen[tm.param.Name], torchNames[tm.torch] = true, true
			n += tm.param.Size()
		}
	}
	if want := nn.CountParams().Total; n != want {
		t.Errorf("mapped %d scalars, the network has %d", n, want)
	}
	for _, p := range nn.Params() {
		if !seen[p.Name] {
			t.Errorf("parameter %s has no torch tensor", p.Name)
		}
	}
}

func TestPermute(t *testing.T) {
	tests := []struct {
		name      string
		v         []float32
		ts, perm  []int
		want      []float32
		wantShape []int
	}{
		{"dense [out,in]→[in,out]", []float32{1, 2, 3, 4, 5, 6}, []int{2, 3}, []int{1, 0}, []float32{1, 4, 2, 5, 3, 6}, []int{3, 2}},
		{"conv [O,I,1,1]→[1,1,I,O]", []float32{1, 2, 3, 4, 5, 6}, []int{3, 2, 1, 1}, []int{2, 3, 1, 0}, []float32{1, 3, 5, 2, 4, 6}, []int{1, 1, 2, 3}},
		{"depthwise [C,1,1,2]→[1,2,C,1]", []float32{1, 2, 3, 4}, []int{2, 1, 1, 2}, []int{2, 3, 0, 1}, []float32{1, 3, 2, 4}, []int{1, 2, 2, 1}},
		{"vector", []float32{7, 8}, []int{2}, nil, []float32{7, 8}, []int{2}},
	}
	for _, tt := range tests {
		if got := permute(tt.v, tt.ts, tt.perm); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestImportRoundTrip(t *testing.T) {
	w := initWeights(t)
	for _, prefix := range []string{"", "module.", "_orig_mod."} {
		tensors := export(t, w)
		prefixed := map[string]safetensors.Tensor{}
		for k, v := range tensors {
			v.Name = prefix + k
			prefixed[prefix+k] = v
		}
		got, err := Import(encode(t, prefixed, map[string]string{"format": "pt", "input_shape": "[64,80,3]", "source": "test", "epochs": "3"}), Options{})
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		for _, p := range nn.Params() {
			if !slices.Equal(got.Tensor(p.Name), w.Tensor(p.Name)) {
				t.Errorf("prefix %q: %s differs after export and import", prefix, p.Name)
			}
		}
		if got.Meta().Input != (nn.Dims{Height: 64, Width: 80}) || !strings.Contains(got.Meta().Source, "PyTorch") || got.Meta().Extra["epochs"] != "3" {
			t.Errorf("prefix %q: metadata %+v", prefix, got.Meta())
		}
	}
}

func TestImportInputSize(t *testing.T) {
	data := encode(t, export(t, initWeights(t)), nil)
	tests := []struct {
		opt  Options
		want nn.Dims
	}{
		{Options{}, nn.Dims{Height: nn.DefaultInputSize, Width: nn.DefaultInputSize}},
		{Options{Input: nn.Dims{Height: 96, Width: 128}}, nn.Dims{Height: 96, Width: 128}},
	}
	for _, tt := range tests {
		w, err := Import(data, tt.opt)
		if err != nil {
			t.Fatal(err)
		}
		if w.Meta().Input != tt.want {
			t.Errorf("options %+v: input %v, want %v", tt.opt, w.Meta().Input, tt.want)
		}
	}
}

// want is what an error should name: papscope's layer (its *LayerError), the
// state_dict tensor (its *TensorError) and the metadata key (its
// *MetadataError); "" where the error has no such part.
type want struct{ layer, tensor, key string }

// check reports where err does not name what w says.
func (w want) check(t *testing.T, err error) {
	t.Helper()
	var le *LayerError
	var te *TensorError
	var me *MetadataError
	got := want{}
	if errors.As(err, &le) {
		got.layer = le.Layer
	}
	if errors.As(err, &te) {
		got.tensor = te.Name
	}
	if errors.As(err, &me) {
		got.key = me.Key
	}
	if got != w {
		t.Errorf("error %q names %+v, want %+v", err, got, w)
	}
}

func TestImportRefusesOtherArchitectures(t *testing.T) {
	w := initWeights(t)
	f32 := func(name string, shape ...int) safetensors.Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		st, err := safetensors.F32(name, shape, make([]float32, n))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	tests := []struct {
		name   string
		change func(m map[string]safetensors.Tensor, md map[string]string)
		want   want
	}{
		{"dense 128 units", func(m map[string]safetensors.Tensor, _ map[string]string) {
			m["fc1.weight"] = f32("fc1.weight", 128, 256)
		}, want{layer: "dense", tensor: "fc1.weight", key: ""}},
		{"64 channels in block 3", func(m map[string]safetensors.Tensor, _ map[string]string) {
			m["blocks.3.sep_b.pointwise.weight"] = f32("blocks.3.sep_b.pointwise.weight", 64, 128, 1, 1)
		}, want{layer: "separable_conv2d_8", tensor: "blocks.3.sep_b.pointwise.weight", key: ""}},
		{"5x5 depthwise", func(m map[string]safetensors.Tensor, _ map[string]string) {
			m["sep1.depthwise.weight"] = f32("sep1.depthwise.weight", 64, 1, 5, 5)
		}, want{layer: "separable_conv2d", tensor: "sep1.depthwise.weight", key: ""}},
		{"a ninth block", func(m map[string]safetensors.Tensor, _ map[string]string) {
			m["blocks.8.sep_a.depthwise.weight"] = f32("blocks.8.sep_a.depthwise.weight", 128, 1, 3, 3)
		}, want{layer: "", tensor: "blocks.8.sep_a.depthwise.weight", key: ""}},
		{"no second BN in block 7", func(m map[string]safetensors.Tensor, _ map[string]string) {
			for _, s := range []string{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"} {
				delete(m, "blocks.7.bn_b."+s)
			}
		}, want{layer: "batch_normalization_16", tensor: "blocks.7.bn_b.weight", key: ""}},
		{"half precision", func(m map[string]safetensors.Tensor, _ map[string]string) {
			m["fc2.bias"] = safetensors.Tensor{Name: "fc2.bias", DType: "F16", Shape: []int{4}, Data: make([]byte, 8)}
		}, want{layer: "dense_1", tensor: "fc2.bias", key: ""}},
		{"NaN", func(m map[string]safetensors.Tensor, _ map[string]string) {
			st, _ := safetensors.F32("conv1.bias", []int{64}, append([]float32{float32(math.NaN())}, make([]float32, 63)...))
			m["conv1.bias"] = st
		}, want{layer: "conv2d", tensor: "conv1.bias", key: ""}},
		{"other classes", func(_ map[string]safetensors.Tensor, md map[string]string) {
			md["classes"] = `["NILM","LSIL","HSIL","SCC"]`
		}, want{layer: "", tensor: "", key: "classes"}},
		{"papscope weights", func(_ map[string]safetensors.Tensor, md map[string]string) {
			md["format"] = "papscope-xception-lite-v1"
		}, want{layer: "", tensor: "", key: ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := export(t, w)
			md := map[string]string{"format": "pt"}
			tt.change(m, md)
			_, err := Import(encode(t, m, md), Options{})
			if err == nil {
				t.Fatal("imported; want a refusal")
			}
			tt.want.check(t, err)
		})
	}
}

// TestImportCrop checks that a state_dict's crop metadata (train.py --crop)
// becomes the weights' crop, which classify and the browser apply, and that a
// crop out of range is refused rather than silently ignored.
func TestImportCrop(t *testing.T) {
	tensors := export(t, initWeights(t))
	w, err := Import(encode(t, tensors, map[string]string{"format": "pt", "crop": "0.5"}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if w.Meta().Crop != 0.5 || w.Meta().Preprocessing != nn.PreprocessingWithCrop(0.5) || w.Meta().Extra["crop"] != "" {
		t.Errorf("crop 0.5: Crop %g, preprocessing %q, extra %v", w.Meta().Crop, w.Meta().Preprocessing, w.Meta().Extra)
	}
	w, err = Import(encode(t, tensors, map[string]string{"format": "pt"}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if w.Meta().Crop != 0 || w.Meta().Preprocessing != nn.Preprocessing {
		t.Errorf("no crop: Crop %g, preprocessing %q", w.Meta().Crop, w.Meta().Preprocessing)
	}
	for _, bad := range []string{"1.5", "-0.5", "half", "NaN"} {
		_, err := Import(encode(t, tensors, map[string]string{"format": "pt", "crop": bad}), Options{})
		if err == nil {
			t.Fatalf("crop %q imported; want a refusal", bad)
		}
		want{key: "crop"}.check(t, err)
	}
}
