package tfjs

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"papscope/internal/golden"
	"papscope/nn"
)

func TestImport(t *testing.T) {
	tests := []struct {
		name   string
		opts   fixtureOptions
		modify func(*fixture)
		input  nn.Dims
		source string
		data   string // expected TrainingData
	}{
		{
			name:   "tfjs save",
			opts:   fixtureOptions{dialect: tfjsSave, names: tfjsNames, seed: 1},
			input:  nn.Dims{Height: 299, Width: 299},
			source: "imported from TF.js layers model (TensorFlow.js tfjs-layers v4.22.0)",
		},
		{
			name:   "keras 2 converter, second session, shuffled, straddling shards",
			opts:   fixtureOptions{dialect: keras2, names: secondSession, seed: 2, shuffle: true, shardSize: 100003},
			input:  nn.Dims{Height: 299, Width: 299},
			source: "imported from TF.js layers model (keras v2.15.0/TensorFlow.js Converter v4.22.0)",
		},
		{
			name: "keras 3 inbound nodes, path-style names, unknown input size",
			opts: fixtureOptions{dialect: keras3, seed: 3, input: []any{nil, nil, nil, 3}, shardSize: 4 << 20,
				weightName: func(w weightNaming) string { return "functional_1/" + w.layer + "/" + w.weight + ":0" }},
			input:  nn.Dims{Height: 299, Width: 299},
			source: "imported from TF.js layers model (keras v3.6.0/TensorFlow.js Converter v4.22.0)",
		},
		{
			name: "keras 3 weights file paths (layers/<class-ordinal>/vars/<i>), second session, swapped add inputs",
			opts: fixtureOptions{dialect: keras3, names: secondSession, seed: 6, shuffle: true,
				weightName: func(w weightNaming) string { return fmt.Sprintf("layers/%s/vars/%d", w.arch, w.index) }},
			modify: func(f *fixture) {
				l := f.layer("add_4")
				l.inputs[0], l.inputs[1] = l.inputs[1], l.inputs[0]
				f.insertAfter(f.layer("dense").name, &fakeLayer{class: "Dropout", name: "dropout_3", config: map[string]any{"rate": 0.5}})
			},
			input:  nn.Dims{Height: 299, Width: 299},
			source: "imported from TF.js layers model (keras v3.6.0/TensorFlow.js Converter v4.22.0)",
		},
		{
			name: "quantized uint8, uint16, float16 at 120x160",
			opts: fixtureOptions{dialect: keras2, seed: 4, input: []any{nil, 120, 160, 3}, shardSize: 65536, shuffle: true,
				quant: map[string]string{"conv2d/kernel": "uint8", "dense/kernel": "uint16",
					"separable_conv2d_5/pointwise_kernel": "float16", "batch_normalization_4/moving_variance": "float16"}},
			input:  nn.Dims{Height: 120, Width: 160},
			source: "imported from TF.js layers model (keras v2.15.0/TensorFlow.js Converter v4.22.0)",
		},
		{
			name: "identity layers, folded activations, rescaling, optimizer weights, metadata",
			opts: fixtureOptions{dialect: tfjsSave, names: tfjsNames, seed: 5,
				weightName: func(w weightNaming) string { return w.layer + "/" + w.weight + "_1" }},
			modify: func(f *fixture) {
				f.insertAfter(f.layer("input_layer").name, &fakeLayer{class: "Rescaling", name: "rescaling",
					config: map[string]any{"scale": 1.0 / 255, "offset": 0}})
				f.layer("conv2d").config["activation"] = "linear"
				f.insertAfter(f.layer("conv2d").name, &fakeLayer{class: "Activation", name: "act",
					config: map[string]any{"activation": "relu"}})
				f.layer("separable_conv2d_7").config["activation"] = nil
				f.insertAfter(f.layer("separable_conv2d_7").name, &fakeLayer{class: "ReLU", name: "relu",
					config: map[string]any{"max_value": nil, "negative_slope": 0, "threshold": 0}})
				f.insertAfter(f.layer("batch_normalization_6").name, &fakeLayer{class: "SpatialDropout2D", name: "sd",
					config: map[string]any{"rate": 0.2}})
				f.insertAfter(f.layer("max_pooling2d").name, &fakeLayer{class: "GaussianNoise", name: "noise"})
				f.insertAfter(f.layer("dense").name, &fakeLayer{class: "Dropout", name: "drop"})
				f.layer("dense_1").config["activation"] = "linear"
				f.insertAfter(f.layer("dense_1").name, &fakeLayer{class: "Softmax", name: "softmax", config: map[string]any{"axis": -1}})
				f.insertAfter("softmax", &fakeLayer{class: "Dropout", name: "drop_out"})
				f.weights = append(f.weights, &fakeWeight{name: "iter", dtype: "int32", group: "optimizer", data: make([]byte, 4)},
					&fakeWeight{name: "dense_Dense1/kernel/m", shape: []int{2}, dtype: "float32", group: "optimizer", data: make([]byte, 8)})
				f.udm = map[string]any{"papscope": map[string]any{"training_data": "Mendeley LBC, 80%", "metrics": map[string]any{"accuracy": 0.94}}}
			},
			input:  nn.Dims{Height: 299, Width: 299},
			source: "imported from TF.js layers model (TensorFlow.js tfjs-layers v4.22.0)",
			data:   "Mendeley LBC, 80%",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(tt.opts)
			if tt.modify != nil {
				tt.modify(f)
			}
			model, files := f.encode()
			w, err := Import(model, opener(files))
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if w.Meta().Input != tt.input {
				t.Errorf("input %+v, want %+v", w.Meta().Input, tt.input)
			}
			if w.Meta().Source != tt.source {
				t.Errorf("source %q, want %q", w.Meta().Source, tt.source)
			}
			wantData := tt.data
			if wantData == "" {
				wantData = "unknown (imported)"
			}
			if w.Meta().TrainingData != wantData {
				t.Errorf("training data %q, want %q", w.Meta().TrainingData, wantData)
			}
			for _, p := range nn.Params() {
				got, want := w.Tensor(p.Name), f.want[p.Name]
				if len(got) != len(want) {
					t.Fatalf("%s: %d values, want %d", p.Name, len(got), len(want))
				}
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s[%d] = %g, want %g", p.Name, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// TestShardsStraddle checks that the multi-shard fixture really splits tensors across shards.
func TestShardsStraddle(t *testing.T) {
	f := newFixture(fixtureOptions{dialect: keras2, seed: 2, shardSize: 100003})
	_, files := f.encode()
	if len(files) < 10 {
		t.Fatalf("%d shards, want many", len(files))
	}
	off, straddles := 0, 0
	for _, w := range f.weights {
		if off/100003 != (off+len(w.data)-1)/100003 {
			straddles++
		}
		off += len(w.data)
	}
	if straddles == 0 {
		t.Fatal("no tensor straddles two shards")
	}
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name   string
		opts   fixtureOptions
		modify func(*fixture)
		model  string // raw model.json instead of the fixture's
		layer  string // the *LayerError's Name; "" when the error names no layer
		tensor string // the *TensorError's Name; "" when the error names no manifest tensor
	}{
		{
			name:   "wrong filters in one sepconv",
			opts:   fixtureOptions{dialect: keras2, names: secondSession},
			modify: func(f *fixture) { f.layer("separable_conv2d_3").config["filters"] = 64 },
			layer:  "separable_conv2d_22",
		},
		{
			name:   "missing add",
			modify: func(f *fixture) { f.remove("add") },
			layer:  "separable_conv2d_3",
		},
		{
			name:   "wrong add inputs",
			modify: func(f *fixture) { f.layer("add_3").inputs = []string{"batch_normalization_8", "separable_conv2d_7"} },
			layer:  "add_3",
		},
		{
			name: "extra dense",
			modify: func(f *fixture) {
				f.insertAfter("dense_1", &fakeLayer{class: "Dense", name: "dense_2",
					config: map[string]any{"units": 4, "activation": "softmax", "use_bias": true}})
				f.weights = append(f.weights,
					&fakeWeight{name: "dense_2/kernel", shape: []int{4, 4}, dtype: "float32", data: make([]byte, 64)},
					&fakeWeight{name: "dense_2/bias", shape: []int{4}, dtype: "float32", data: make([]byte, 16)})
			},
			layer: "dense_2",
		},
		{
			name:   "extra output",
			modify: func(f *fixture) { f.outputs = append(f.outputs, "dense") },
			// neither a layer nor a tensor of the manifest
		},
		{
			name:   "sequential",
			modify: func(f *fixture) { f.modelClass = "Sequential" },
			// neither a layer nor a tensor of the manifest
		},
		{
			name: "wrong shape in one tensor",
			opts: fixtureOptions{names: secondSession},
			modify: func(f *fixture) {
				w := f.weight("batch_normalization_3/moving_mean")
				w.shape, w.data = []int{64}, w.data[:256]
			},
			tensor: "batch_normalization_20/moving_mean",
		},
		{
			name: "missing tensor",
			opts: fixtureOptions{dialect: tfjsSave, names: tfjsNames},
			modify: func(f *fixture) {
				for i, w := range f.weights {
					if w.canonical == "dense/bias" {
						f.weights = append(f.weights[:i], f.weights[i+1:]...)
						break
					}
				}
			},
			tensor: "dense_Dense1/bias",
		},
		{
			name: "extra tensor of a layer",
			modify: func(f *fixture) {
				f.weights = append(f.weights, &fakeWeight{name: "dense/kernel_extra", shape: []int{1}, dtype: "float32", data: make([]byte, 4)})
			},
			tensor: "dense/kernel_extra",
		},
		{
			name: "extra tensor of no layer",
			modify: func(f *fixture) {
				f.weights = append(f.weights, &fakeWeight{name: "stray", shape: []int{}, dtype: "float32", data: make([]byte, 4)})
			},
			tensor: "stray",
		},
		{
			name: "duplicate tensor",
			modify: func(f *fixture) {
				f.weights = append(f.weights, &fakeWeight{name: "model/dense/bias:0", shape: []int{256}, dtype: "float32", data: make([]byte, 1024)})
			},
			tensor: "model/dense/bias:0",
		},
		{
			name:   "truncated shard",
			opts:   fixtureOptions{shardSize: 100003},
			modify: func(f *fixture) { f.trimBytes = 10 },
			tensor: "dense_1/bias",
		},
		{
			name:   "extra shard bytes",
			modify: func(f *fixture) { f.extraBytes = 8 },
			// neither a layer nor a tensor of the manifest
		},
		{
			name:   "path traversal",
			modify: func(f *fixture) { f.pathPrefix = "../" },
			// neither a layer nor a tensor of the manifest
		},
		{
			name:   "absolute path",
			modify: func(f *fixture) { f.pathPrefix = "/tmp/" },
			// neither a layer nor a tensor of the manifest
		},
		{
			name:   "backslash path",
			modify: func(f *fixture) { f.pathPrefix = `..\` },
			// neither a layer nor a tensor of the manifest
		},
		{
			name:   "missing shard file",
			modify: func(f *fixture) { f.pathPrefix = "sub/" },
			// neither a layer nor a tensor of the manifest
		},
		{
			name:   "int32 dtype without quantization",
			modify: func(f *fixture) { f.weight("dense_1/bias").dtype = "int32" },
			tensor: "dense_1/bias",
		},
		{
			name: "unsupported quantization",
			modify: func(f *fixture) {
				f.weight("dense_1/bias").quant = map[string]any{"dtype": "int8", "min": 0, "scale": 1}
			},
			tensor: "dense_1/bias",
		},
		{
			name:  "bad json",
			model: `{"format": "layers-model", "modelTopology": {`,
			// neither a layer nor a tensor of the manifest
		},
		{
			name:  "graph model",
			model: `{"format": "graph-model", "modelTopology": {"node": []}, "weightsManifest": []}`,
			// neither a layer nor a tensor of the manifest
		},
		{
			name:   "softmax missing",
			modify: func(f *fixture) { f.layer("dense_1").config["activation"] = "linear" },
			layer:  "dense_1",
		},
		{
			name:   "bn epsilon",
			modify: func(f *fixture) { f.layer("batch_normalization_5").config["epsilon"] = 1e-5 },
			layer:  "batch_normalization_5",
		},
		{
			name:   "maxpool padding",
			modify: func(f *fixture) { f.layer("max_pooling2d").config["padding"] = "same" },
			layer:  "max_pooling2d",
		},
		{
			name:   "conv stride",
			modify: func(f *fixture) { f.layer("conv2d").config["strides"] = []int{1, 1} },
			layer:  "conv2d",
		},
		{
			name: "rescaling to [-1, 1]",
			modify: func(f *fixture) {
				f.insertAfter("input_layer", &fakeLayer{class: "Rescaling", name: "rescaling",
					config: map[string]any{"scale": 1.0 / 127.5, "offset": -1}})
			},
			layer: "rescaling",
		},
		{
			name: "activation after batch norm",
			modify: func(f *fixture) {
				f.insertAfter("batch_normalization", &fakeLayer{class: "Activation", name: "act", config: map[string]any{"activation": "relu"}})
			},
			layer: "act",
		},
		{
			name: "unknown layer",
			modify: func(f *fixture) {
				f.insertAfter("global_average_pooling2d", &fakeLayer{class: "Flatten", name: "flatten"})
			},
			layer: "flatten",
		},
		{
			name: "rescaling after the first conv",
			modify: func(f *fixture) {
				f.insertAfter("conv2d", &fakeLayer{class: "Rescaling", name: "rescaling", config: map[string]any{"scale": 1.0 / 255}})
			},
			layer: "rescaling",
		},
		{
			name:   "no input layer",
			modify: func(f *fixture) { f.layer("input_layer").class = "Dense" },
			layer:  "input_layer",
		},
		{
			name: "branch before a folded activation",
			modify: func(f *fixture) {
				f.layer("dense").config["activation"] = "linear"
				f.insertAfter("dense", &fakeLayer{class: "Activation", name: "act", config: map[string]any{"activation": "relu"}})
				f.layer("dense_1").inputs = []string{"dense"}
			},
			layer: "dense",
		},
		{
			name:   "rgba input",
			modify: func(f *fixture) { f.layer("input_layer").config["batch_input_shape"] = []any{nil, 299, 299, 4} },
			layer:  "input_layer",
		},
		{
			name:   "tiny input",
			modify: func(f *fixture) { f.layer("input_layer").config["batch_input_shape"] = []any{nil, 5, 5, 3} },
			layer:  "input_layer",
		},
		{
			name: "shared layer",
			modify: func(f *fixture) {
				f.layer("dense").inbound = []any{[]any{[]any{"global_average_pooling2d", 0, 0, map[string]any{}}}, []any{[]any{"global_average_pooling2d", 0, 0, map[string]any{}}}}
			},
			layer: "dense",
		},
		{
			name:   "input from unknown layer",
			modify: func(f *fixture) { f.layer("dense").inputs = []string{"nowhere"} },
			layer:  "dense",
		},
		{
			name: "negative dimension",
			modify: func(f *fixture) {
				f.weight("dense_1/bias").shape = []int{-4}
			},
			tensor: "dense_1/bias",
		},
		{
			name: "huge shape",
			modify: func(f *fixture) {
				f.weight("dense_1/bias").shape = []int{1 << 30, 1 << 30, 1 << 30}
			},
			tensor: "dense_1/bias",
		},
		{
			name: "nan weight",
			modify: func(f *fixture) {
				w := f.weight("dense_1/bias")
				binary.LittleEndian.PutUint32(w.data, math.Float32bits(float32(math.NaN())))
			},
			// neither a layer nor a tensor of the manifest
		},
	}
	var msgs strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(tt.opts)
			if tt.modify != nil {
				tt.modify(f)
			}
			model, files := f.encode()
			if tt.model != "" {
				model = []byte(tt.model)
			}
			w, err := Import(model, opener(files))
			if err == nil {
				t.Fatalf("Import succeeded (%v), want an error", w.Meta())
			}
			var le *LayerError
			var te *TensorError
			if got := ""; errors.As(err, &le) && le.Name != tt.layer || le == nil && tt.layer != "" {
				if le != nil {
					got = le.Name
				}
				t.Errorf("error %q names layer %q, want %q", err, got, tt.layer)
			}
			if got := ""; errors.As(err, &te) && te.Name != tt.tensor || te == nil && tt.tensor != "" {
				if te != nil {
					got = te.Name
				}
				t.Errorf("error %q names tensor %q, want %q", err, got, tt.tensor)
			}
			if !strings.HasPrefix(err.Error(), "tfjs: ") {
				t.Errorf("error %q does not start with \"tfjs: \"", err)
			}
			fmt.Fprintf(&msgs, "%s: %v\n", tt.name, err)
		})
	}
	golden.Check(t, "testdata/import_errors.golden", msgs.String(), *update)
}

func TestImportNilOpener(t *testing.T) {
	model, _ := newFixture(fixtureOptions{}).encode()
	if _, err := Import(model, nil); err == nil {
		t.Fatal("Import with a nil opener succeeded")
	}
}

func TestOpenerError(t *testing.T) {
	model, _ := newFixture(fixtureOptions{}).encode()
	boom := errors.New("boom")
	_, err := Import(model, func(string) ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("error %v does not wrap the opener's", err)
	}
}

func TestHalfToFloat32(t *testing.T) {
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},
		{0x0001, 5.960464477539063e-08},
		{0x03ff, 6.097555160522461e-05},
		{0x0400, 6.103515625e-05},
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		if got := halfToFloat32(tt.h); got != tt.want {
			t.Errorf("halfToFloat32(%#04x) = %g, want %g", tt.h, got, tt.want)
		}
	}
	if got := halfToFloat32(0x8000); math.Float32bits(got) != 0x80000000 {
		t.Errorf("halfToFloat32(0x8000) = %g, want -0", got)
	}
	if got := halfToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("halfToFloat32(0x7e00) = %g, want NaN", got)
	}
}

func TestSplitWeightName(t *testing.T) {
	tests := []struct{ name, layer, weight string }{
		{"conv2d_1/kernel", "conv2d_1", "kernel"},
		{"batch_normalization_5/moving_variance", "batch_normalization_5", "moving_variance"},
		{"sequential/conv2d/kernel", "conv2d", "kernel"},
		{"functional_1/separable_conv2d_21/depthwise_kernel:0", "separable_conv2d_21", "depthwise_kernel"},
		{"dense_Dense1/bias_3", "dense_Dense1", "bias"},
		{"dense/kernel_extra", "dense", "kernel_extra"},
		{"iter", "", "iter"},
		{"layers/separable_conv2d_3/vars/1", "separable_conv2d_3", "vars/1"},
		{"_layer_checkpoint_dependencies/dense/vars/0", "dense", "vars/0"},
	}
	for _, tt := range tests {
		if l, w := splitWeightName(tt.name); l != tt.layer || w != tt.weight {
			t.Errorf("splitWeightName(%q) = %q, %q, want %q, %q", tt.name, l, w, tt.layer, tt.weight)
		}
	}
}

func TestCleanShardPath(t *testing.T) {
	tests := []struct{ path, want string }{
		{"group1-shard1of2.bin", "group1-shard1of2.bin"},
		{"./model.weights.bin", "model.weights.bin"},
		{"shards/a.bin", "shards/a.bin"},
		{"../x.bin", ""},
		{"a/../../x.bin", ""},
		{"a/../x.bin", ""},
		{"/etc/passwd", ""},
		{`C:\x.bin`, ""},
		{"c:x.bin", ""},
		{"", ""},
		{".", ""},
		{"./", ""},
		{"a//b", ""},
		{"a\x00b", ""},
	}
	for _, tt := range tests {
		got, err := cleanShardPath(tt.path)
		if tt.want == "" {
			if err == nil {
				t.Errorf("cleanShardPath(%q) = %q, want an error", tt.path, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("cleanShardPath(%q) = %q, %v, want %q", tt.path, got, err, tt.want)
		}
	}
}

// TestRealTFJSFixtures imports models that TensorFlow.js itself saved (see nn/testdata/tfjs).
func TestRealTFJSFixtures(t *testing.T) {
	tests := []struct {
		dir   string
		input nn.Dims
	}{
		{"seed1_299", nn.Dims{Height: 299, Width: 299}},
		{"seed7_160x120", nn.Dims{Height: 120, Width: 160}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join("..", "nn", "testdata", "tfjs", tt.dir)
			model, err := os.ReadFile(filepath.Join(dir, "model.json"))
			if err != nil {
				t.Fatalf("%v (the fixtures are made by nn/testdata/tfjs/regen.sh)", err)
			}
			open := func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, filepath.FromSlash(p))) }
			w, err := Import(model, open)
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if w.Meta().Input != tt.input {
				t.Errorf("input %+v, want %+v", w.Meta().Input, tt.input)
			}
			if !strings.HasPrefix(w.Meta().Source, "imported from TF.js layers model (TensorFlow.js tfjs-layers v4.22.0/") {
				t.Errorf("source %q", w.Meta().Source)
			}
			checkRawValues(t, model, open, w)
		})
	}
}

// checkRawValues reads a few tensors straight from the shards, independently
// of Import, and checks that the imported weights hold them.
func checkRawValues(t *testing.T, model []byte, open ShardOpener, w *nn.Weights) {
	t.Helper()
	var mf struct {
		WeightsManifest []struct {
			Paths   []string
			Weights []struct {
				Name  string
				Shape []int
				DType string
			}
		}
	}
	if err := json.Unmarshal(model, &mf); err != nil {
		t.Fatal(err)
	}
	checked, straddling := 0, 0
	for _, g := range mf.WeightsManifest {
		var data []byte
		var cuts []int // offsets where a shard ends
		for _, p := range g.Paths {
			b, err := open(strings.TrimPrefix(p, "./"))
			if err != nil {
				t.Fatal(err)
			}
			data = append(data, b...)
			cuts = append(cuts, len(data))
		}
		off := 0
		for i, s := range g.Weights {
			n := 1
			for _, d := range s.Shape {
				n *= d
			}
			if s.DType != "float32" {
				t.Fatalf("tensor %q has dtype %s", s.Name, s.DType)
			}
			if off+4*n > len(data) {
				t.Fatalf("tensor %q runs past the shards", s.Name)
			}
			raw := make([]float32, n)
			for j := range raw {
				raw[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*j:]))
			}
			straddles := false
			for _, c := range cuts {
				straddles = straddles || (off < c && c < off+4*n)
			}
			off += 4 * n
			if straddles {
				straddling++
			} else if i != 0 && i != len(g.Weights)/2 && i != len(g.Weights)-1 && !strings.Contains(s.Name, "moving_variance") {
				continue
			}
			if !holds(w, s.Name, raw) {
				t.Errorf("no imported tensor with the suffix of %q holds its %d raw values", s.Name, n)
			}
			checked++
		}
		if off != len(data) {
			t.Errorf("shards hold %d bytes, tensors %d", len(data), off)
		}
	}
	if checked < 3 {
		t.Errorf("checked %d tensors, want at least 3", checked)
	}
	t.Logf("checked %d tensors against the raw shards, %d of them straddling two shards", checked, straddling)
}

// holds reports whether the imported weights hold exactly the values raw
// under name, when name is a canonical name, or else under some parameter
// with the same weight suffix (the file's layer names may be numbered differently).
func holds(w *nn.Weights, name string, raw []float32) bool {
	layer, suffix := splitWeightName(name)
	exact := w.Tensor(layer+"/"+suffix) != nil
	for _, p := range nn.Params() {
		if !strings.HasSuffix(p.Name, "/"+suffix) || (exact && p.Name != layer+"/"+suffix) {
			continue
		}
		v := w.Tensor(p.Name)
		if len(v) != len(raw) {
			continue
		}
		same := true
		for i := range v {
			same = same && math.Float32bits(v[i]) == math.Float32bits(raw[i])
		}
		if same {
			return true
		}
	}
	return false
}
