package tfjs

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"

	"papscope/nn"
)

// This file builds synthetic model.json files and shards from nn.Params(),
// in the dialects that TF.js and tensorflowjs_converter write.

// dialect is a way of writing a layers model.
type dialect int

const (
	tfjsSave dialect = iota // TF.js model.save: modelTopology {class_name: "Model", config}
	keras2                  // tensorflowjs_converter from Keras 2: wrapped model_config, [[["name", 0, 0, {}]]]
	keras3                  // Keras 3 inbound nodes: [{"args": [__keras_tensor__...], "kwargs": {}}]
)

// naming gives the file's name for the k-th layer (0-based) of a Keras base name, e.g. ("separable_conv2d", 3).
type naming func(base, class string, k int) string

// freshNames are Keras's names in a fresh session: the architecture's own.
func freshNames(base, _ string, k int) string {
	if k == 0 {
		return base
	}
	return base + "_" + strconv.Itoa(k)
}

// secondSession numbers layers as a second model built in the same Keras session does.
func secondSession(base, _ string, k int) string {
	offset := map[string]int{"input_layer": 1, "conv2d": 1, "batch_normalization": 17, "separable_conv2d": 19,
		"max_pooling2d": 1, "add": 8, "global_average_pooling2d": 1, "dense": 2}[base]
	if base == "input_layer" {
		return "input_" + strconv.Itoa(k+offset+1)
	}
	return base + "_" + strconv.Itoa(k+offset)
}

// tfjsNames are TF.js's default names: conv2d_Conv2D1, separable_conv2d_SeparableConv2D12, input1.
func tfjsNames(base, class string, k int) string {
	if base == "input_layer" {
		return "input" + strconv.Itoa(k+1)
	}
	return base + "_" + class + strconv.Itoa(k+1)
}

type fakeLayer struct {
	class    string
	name     string
	config   map[string]any
	inputs   []string
	inbound  any    // raw inbound_nodes overriding inputs, when set
	arch     string // architecture layer name, "" for extra layers
	noTopKey bool   // omit the top-level "name" key
}

type fakeWeight struct {
	name      string // manifest name
	canonical string // nn name, "" for extra tensors
	shape     []int
	dtype     string
	group     string
	quant     map[string]any
	data      []byte
}

// fixture is a model.json and its shards, before encoding, with the values they hold.
type fixture struct {
	dialect     dialect
	modelClass  string
	layers      []*fakeLayer
	weights     []*fakeWeight
	want        map[string][]float32
	inputs      []string // input_layers
	outputs     []string // output_layers
	shardSize   int      // bytes per shard; 0 for one shard
	pathPrefix  string
	trimBytes   int // bytes cut from the end of the last shard
	extraBytes  int // bytes added to the end of the last shard
	format      string
	generatedBy any
	convertedBy any
	udm         map[string]any
}

// weightNaming is what a dialect may use to name a tensor.
type weightNaming struct {
	layer  string // the file's layer name
	arch   string // the architecture's layer name (the class-ordinal name Keras 3 uses in weight paths)
	weight string // Keras weight name
	index  int    // position among the layer's weights
}

type fixtureOptions struct {
	dialect    dialect
	names      naming
	weightName func(w weightNaming) string
	seed       uint64
	input      []any // batch shape; nil for [null, 299, 299, 3]
	shuffle    bool
	shardSize  int
	quant      map[string]string // canonical tensor -> uint8, uint16 or float16
}

var archSuffix = regexp.MustCompile(`^(.*?)(?:_(\d+))?$`)

// newFixture builds a valid model of the architecture in a dialect.
func newFixture(o fixtureOptions) *fixture {
	if o.names == nil {
		o.names = freshNames
	}
	if o.weightName == nil {
		o.weightName = func(w weightNaming) string { return w.layer + "/" + w.weight }
	}
	if o.input == nil {
		o.input = []any{nil, 299, 299, 3}
	}
	rng := rand.New(rand.NewPCG(o.seed, 42))
	f := &fixture{dialect: o.dialect, modelClass: "Functional", shardSize: o.shardSize, format: "layers-model",
		want: map[string][]float32{}, generatedBy: "keras v2.15.0", convertedBy: "TensorFlow.js Converter v4.22.0"}
	if o.dialect == tfjsSave {
		f.modelClass, f.pathPrefix = "Model", "./"
		f.generatedBy, f.convertedBy = "TensorFlow.js tfjs-layers v4.22.0", nil
	}
	if o.dialect == keras3 {
		f.generatedBy = "keras v3.6.0"
	}
	fileName := map[string]string{}
	for _, l := range nn.Architecture() {
		sm := archSuffix.FindStringSubmatch(l.Name)
		k, _ := strconv.Atoi(sm[2])
		name := o.names(sm[1], l.Kind.String(), k)
		fileName[l.Name] = name
		fl := &fakeLayer{class: l.Kind.String(), name: name, arch: l.Name, config: layerConfig(o.dialect, l, o.input)}
		fl.config["name"] = name
		for _, in := range l.Inputs {
			fl.inputs = append(fl.inputs, fileName[in])
		}
		fl.noTopKey = o.dialect == keras2
		f.layers = append(f.layers, fl)
		for i, p := range l.Params() {
			suffix := p.Name[strings.LastIndexByte(p.Name, '/')+1:]
			w := &fakeWeight{name: o.weightName(weightNaming{layer: name, arch: l.Name, weight: suffix, index: i}), canonical: p.Name, shape: p.Shape, dtype: "float32"}
			f.want[p.Name] = w.fill(rng, p.Size(), suffix, o.quant[p.Name])
			f.weights = append(f.weights, w)
		}
	}
	f.inputs = []string{f.layers[0].name}
	f.outputs = []string{f.layers[len(f.layers)-1].name}
	if o.shuffle {
		rng.Shuffle(len(f.weights), func(i, j int) { f.weights[i], f.weights[j] = f.weights[j], f.weights[i] })
	}
	return f
}

// fill gives the weight random data (quantized if asked) and returns the values it decodes to.
func (w *fakeWeight) fill(rng *rand.Rand, n int, suffix, quant string) []float32 {
	v := make([]float32, n)
	switch quant {
	case "uint8", "uint16":
		min, scale := -0.5, 1.0/256
		if quant == "uint16" {
			scale = 1.0 / 65536
		}
		w.quant = map[string]any{"dtype": quant, "min": min, "scale": scale, "original_dtype": "float32"}
		for i := range v {
			q := rng.IntN(256)
			if quant == "uint8" {
				w.data = append(w.data, byte(q))
			} else {
				q = rng.IntN(65536)
				w.data = binary.LittleEndian.AppendUint16(w.data, uint16(q))
			}
			v[i] = float32(float64(q)*scale + min)
		}
		if suffix == "moving_variance" {
			panic("quantized variances are not generated")
		}
	case "float16":
		w.quant = map[string]any{"dtype": "float16", "original_dtype": "float32"}
		for i := range v {
			e, m, neg := 5+rng.IntN(16), rng.IntN(1024), rng.IntN(2) == 1
			if suffix == "moving_variance" {
				neg = false
			}
			h := uint16(e)<<10 | uint16(m)
			x := math.Ldexp(1+float64(m)/1024, e-15)
			if neg {
				h |= 0x8000
				x = -x
			}
			w.data = binary.LittleEndian.AppendUint16(w.data, h)
			v[i] = float32(x)
		}
	default:
		for i := range v {
			x := float32(rng.NormFloat64() * 0.1)
			if suffix == "moving_variance" {
				x = float32(0.5 + rng.Float64())
			}
			v[i] = x
			w.data = binary.LittleEndian.AppendUint32(w.data, math.Float32bits(x))
		}
	}
	return v
}

// layerConfig returns the Keras config of an architecture layer as the dialect writes it.
func layerConfig(d dialect, l nn.Layer, input []any) map[string]any {
	act := any(l.Activation.String())
	if d == keras3 && l.Kind == nn.Dense {
		act = map[string]any{"module": "keras.activations", "class_name": "function", "config": l.Activation.String(), "registered_name": "function"}
	}
	c := map[string]any{"trainable": true, "dtype": "float32"}
	if d == keras3 {
		c["dtype"] = map[string]any{"module": "keras", "class_name": "DTypePolicy", "config": map[string]any{"name": "float32"}}
	}
	init := map[string]any{"class_name": "GlorotUniform", "config": map[string]any{"seed": nil}}
	switch l.Kind {
	case nn.Input:
		c = map[string]any{"dtype": "float32", "sparse": false}
		if d == keras3 {
			c["batch_shape"] = input
		} else {
			c["batch_input_shape"] = input
		}
	case nn.Conv2D, nn.SeparableConv2D:
		pad := "valid"
		if l.SamePad {
			pad = "same"
		}
		c["filters"] = l.Filters
		c["kernel_size"] = []int{l.KernelSize, l.KernelSize}
		c["strides"] = []int{l.Stride, l.Stride}
		c["padding"] = pad
		c["data_format"] = "channels_last"
		c["dilation_rate"] = []int{1, 1}
		c["activation"] = act
		c["use_bias"] = true
		c["bias_initializer"] = map[string]any{"class_name": "Zeros", "config": map[string]any{}}
		if l.Kind == nn.Conv2D {
			c["kernel_initializer"] = init
			if d != tfjsSave {
				c["groups"] = 1
			}
		} else {
			c["depthwise_initializer"] = init
			c["pointwise_initializer"] = init
			if d != tfjsSave { // TF.js does not write depth_multiplier
				c["depth_multiplier"] = 1
			}
		}
	case nn.BatchNorm:
		c["axis"] = -1
		if d == keras2 {
			c["axis"] = []int{3}
		}
		c["momentum"] = 0.99
		c["epsilon"] = 0.001
		c["center"] = true
		c["scale"] = true
	case nn.MaxPool2D:
		c["pool_size"] = []int{3, 3}
		c["padding"] = "valid"
		c["strides"] = []int{2, 2}
		c["data_format"] = "channels_last"
	case nn.GlobalAvgPool2D:
		c["data_format"] = "channels_last"
		if d != tfjsSave {
			c["keepdims"] = false
		}
	case nn.Dense:
		c["units"] = l.Filters
		c["activation"] = act
		c["use_bias"] = true
		c["kernel_initializer"] = init
	}
	return c
}

// layer returns the file layer standing for an architecture layer.
func (f *fixture) layer(arch string) *fakeLayer {
	for _, l := range f.layers {
		if l.arch == arch {
			return l
		}
	}
	panic("no layer " + arch)
}

// weight returns the manifest tensor holding a canonical tensor.
func (f *fixture) weight(canonical string) *fakeWeight {
	for _, w := range f.weights {
		if w.canonical == canonical {
			return w
		}
	}
	panic("no weight " + canonical)
}

// insertAfter puts a layer after the named file layer, feeding what it fed.
func (f *fixture) insertAfter(after string, l *fakeLayer) {
	idx := -1
	for i, x := range f.layers {
		for j, in := range x.inputs {
			if in == after {
				x.inputs[j] = l.name
			}
		}
		if x.name == after {
			idx = i
		}
	}
	l.inputs = []string{after}
	if l.config == nil {
		l.config = map[string]any{}
	}
	l.config["name"] = l.name
	f.layers = append(f.layers[:idx+1], append([]*fakeLayer{l}, f.layers[idx+1:]...)...)
	for i, o := range f.outputs {
		if o == after {
			f.outputs[i] = l.name
		}
	}
}

// remove deletes a file layer, feeding its consumers from its first input.
func (f *fixture) remove(name string) {
	var gone *fakeLayer
	for i, x := range f.layers {
		if x.name == name {
			gone = x
			f.layers = append(f.layers[:i], f.layers[i+1:]...)
			break
		}
	}
	for _, x := range f.layers {
		for j, in := range x.inputs {
			if in == name {
				x.inputs[j] = gone.inputs[0]
			}
		}
	}
}

// encode writes model.json and the shards (keyed by their cleaned paths).
func (f *fixture) encode() ([]byte, map[string][]byte) {
	ref := func(name string) any {
		if f.dialect == keras3 {
			return map[string]any{"class_name": "__keras_tensor__", "config": map[string]any{
				"shape": []any{nil, 3}, "dtype": "float32", "keras_history": []any{name, 0, 0}}}
		}
		return []any{name, 0, 0, map[string]any{}}
	}
	var layers []any
	for _, l := range f.layers {
		var inbound any = []any{}
		if len(l.inputs) > 0 {
			var refs []any
			for _, in := range l.inputs {
				refs = append(refs, ref(in))
			}
			if f.dialect == keras3 {
				var args []any = refs
				if len(refs) > 1 {
					args = []any{refs}
				}
				inbound = []any{map[string]any{"args": args, "kwargs": map[string]any{}}}
			} else {
				inbound = []any{refs}
			}
		}
		if l.inbound != nil {
			inbound = l.inbound
		}
		e := map[string]any{"class_name": l.class, "config": l.config, "inbound_nodes": inbound}
		if !l.noTopKey {
			e["name"] = l.name
		}
		if f.dialect == keras3 {
			e["module"] = "keras.layers"
			e["registered_name"] = nil
		}
		layers = append(layers, e)
	}
	ends := func(names []string) any {
		var out []any
		for _, n := range names {
			out = append(out, []any{n, 0, 0})
		}
		if f.dialect == keras3 && len(out) == 1 {
			return out[0]
		}
		return out
	}
	mc := map[string]any{"name": "model", "trainable": true, "layers": layers,
		"input_layers": ends(f.inputs), "output_layers": ends(f.outputs)}
	var topo any
	if f.dialect == tfjsSave {
		topo = map[string]any{"class_name": f.modelClass, "config": mc, "keras_version": "tfjs-layers 4.22.0", "backend": "tensor_flow.js"}
	} else {
		topo = map[string]any{"keras_version": "2.15.0", "backend": "tensorflow",
			"model_config":    map[string]any{"class_name": f.modelClass, "config": mc},
			"training_config": map[string]any{"loss": "categorical_crossentropy"}}
	}

	var data []byte
	var specs []any
	for _, w := range f.weights {
		s := map[string]any{"name": w.name, "shape": w.shape, "dtype": w.dtype}
		if w.quant != nil {
			s["quantization"] = w.quant
		}
		if w.group != "" {
			s["group"] = w.group
		}
		specs = append(specs, s)
		data = append(data, w.data...)
	}
	var chunks [][]byte
	if f.shardSize <= 0 {
		chunks = [][]byte{data}
	} else {
		for len(data) > 0 {
			n := min(f.shardSize, len(data))
			chunks = append(chunks, data[:n])
			data = data[n:]
		}
	}
	last := chunks[len(chunks)-1]
	last = last[:len(last)-min(f.trimBytes, len(last))]
	last = append(last, make([]byte, f.extraBytes)...)
	chunks[len(chunks)-1] = last

	files := map[string][]byte{}
	var paths []string
	for i, c := range chunks {
		name := "model.weights.bin"
		if f.dialect != tfjsSave || len(chunks) > 1 {
			name = fmt.Sprintf("group1-shard%dof%d.bin", i+1, len(chunks))
		}
		paths = append(paths, f.pathPrefix+name)
		files[name] = c
	}
	top := map[string]any{"format": f.format, "generatedBy": f.generatedBy, "convertedBy": f.convertedBy,
		"modelTopology": topo, "weightsManifest": []any{map[string]any{"paths": paths, "weights": specs}}}
	if f.udm != nil {
		top["userDefinedMetadata"] = f.udm
	}
	b, err := json.Marshal(top)
	if err != nil {
		panic(err)
	}
	return b, files
}

// opener serves shards from a map.
func opener(files map[string][]byte) ShardOpener {
	return func(p string) ([]byte, error) {
		b, ok := files[p]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
		return b, nil
	}
}
