// Package torchimport imports the state_dict of papscope's PyTorch twin of
// the network (torch/papscope_torch in this repository), saved as a
// safetensors file, as papscope weights.
//
// The twin names its modules conv1, bn1, sep1, blocks.0–7 (sep_a, bn_a,
// sep_b, bn_b), sep_last, fc1 and fc2, and lays its tensors out as PyTorch
// does (NCHW: a conv kernel is [out, in, kh, kw], a Linear weight [out, in]).
// Import maps every tensor to its Keras name and layout (conv kernels
// [kh, kw, in, out], depthwise [3, 3, C, 1], pointwise [1, 1, C, O], dense
// [in, out]), checking each tensor's presence, dtype, shape and values on the
// way, and refuses a state_dict of any other architecture with an error that
// names the layer that differs (a [*LayerError], [*TensorError] or
// [*MetadataError]). torch/papscope_torch/convert.py holds the same
// table in Python; the tests hold the two together.
//
// A "module." (DistributedDataParallel) or "_orig_mod." (torch.compile)
// prefix on every key is dropped; batch norm's num_batches_tracked counters
// are ignored. The package does no file I/O.
package torchimport

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"papscope/nn"
	"papscope/safetensors"
)

// Options adjust an import.
type Options struct {
	// Input is the input size the weights were trained at. Zero takes the
	// file's "input_shape" metadata ([height, width, 3]), else nn.DefaultInputSize square.
	Input nn.Dims
}

// tensorMap is one tensor of the twin's state_dict and its papscope counterpart.
type tensorMap struct {
	torch string   // state_dict key, e.g. "blocks.0.sep_a.depthwise.weight"
	param nn.Param // papscope's name, Keras shape and trainability
	perm  []int    // Keras dimension d is torch dimension perm[d]; nil for vectors
	shape []int    // the torch shape
}

// layerMap is one layer with weights: the twin's module and papscope's layer.
type layerMap struct {
	module  string // e.g. "fc1"
	layer   nn.Layer
	tensors []tensorMap
}

// describe names the layer for error messages: "fc1 (papscope's dense: Dense 256 units, relu)".
func (l *layerMap) describe() string {
	var what string
	switch k := l.layer; k.Kind {
	case nn.Conv2D:
		what = fmt.Sprintf("Conv2D %dx%d/%d, %d→%d channels, %s", k.KernelSize, k.KernelSize, k.Stride, k.InChannels, k.OutChannels(), k.Activation)
	case nn.SeparableConv2D:
		what = fmt.Sprintf("SeparableConv2D %dx%d, %d→%d channels, %s", k.KernelSize, k.KernelSize, k.InChannels, k.OutChannels(), k.Activation)
	case nn.BatchNorm:
		what = fmt.Sprintf("BatchNormalization of %d channels", k.InChannels)
	case nn.Dense:
		what = fmt.Sprintf("Dense %d→%d, %s", k.InChannels, k.OutChannels(), k.Activation)
	default:
		what = k.Kind.String()
	}
	return fmt.Sprintf("%s (papscope's %s: %s)", l.module, l.layer.Name, what)
}

// LayerError reports a layer of papscope's network whose counterpart in the
// state_dict is missing or differs.
type LayerError struct {
	Layer  string // papscope's layer name, e.g. "dense"
	Module string // the twin's module, e.g. "fc1"
	Err    error  // what differs: often a *TensorError
	desc   string // the layer as error messages describe it
}

// Error names the module and papscope's layer and says what differs.
func (e *LayerError) Error() string {
	return fmt.Sprintf("torch: layer %s: %s", e.desc, strings.TrimPrefix(e.Err.Error(), "torch: "))
}

// Unwrap returns Err.
func (e *LayerError) Unwrap() error { return e.Err }

// TensorError reports a tensor of the state_dict that is missing, unused or
// wrong.
type TensorError struct {
	Name string // the state_dict key, without a "module." or "_orig_mod." prefix
	Err  error  // what is wrong; its message completes "tensor NAME ..."
}

// Error names the tensor and says what is wrong.
func (e *TensorError) Error() string { return fmt.Sprintf("torch: tensor %q %v", e.Name, e.Err) }

// Unwrap returns Err.
func (e *TensorError) Unwrap() error { return e.Err }

// MetadataError reports a safetensors metadata entry of the state_dict that
// papscope cannot use.
type MetadataError struct {
	Key string // the metadata key, e.g. "crop"
	Err error  // what is wrong; its message completes "metadata KEY ..."
}

// Error names the key and says what is wrong.
func (e *MetadataError) Error() string { return fmt.Sprintf("torch: metadata %q %v", e.Key, e.Err) }

// Unwrap returns Err.
func (e *MetadataError) Unwrap() error { return e.Err }

// errorf returns a *LayerError for l wrapping a *TensorError for its tensor name.
func (l *layerMap) errorf(name, format string, args ...any) error {
	return &LayerError{Layer: l.layer.Name, Module: l.module, desc: l.describe(), Err: &TensorError{Name: name, Err: fmt.Errorf(format, args...)}}
}

// metadataErrorf returns a *MetadataError for key.
func metadataErrorf(key, format string, args ...any) error {
	return &MetadataError{Key: key, Err: fmt.Errorf(format, args...)}
}

// twinModules lists the twin's modules with weights, in the order
// nn.Architecture has their layers.
func twinModules() []string {
	mods := []string{"conv1", "bn1", "sep1"}
	for b := range 8 {
		for _, m := range []string{"sep_a", "bn_a", "sep_b", "bn_b"} {
			mods = append(mods, fmt.Sprintf("blocks.%d.%s", b, m))
		}
	}
	return append(mods, "sep_last", "fc1", "fc2")
}

// suffixes gives, per layer kind, the torch key suffix of each Keras weight
// (in nn.Layer.Params order) and the permutation from torch to Keras layout.
var suffixes = map[nn.Kind][]struct {
	torch string
	perm  []int
}{
	nn.Conv2D:          {{"weight", []int{2, 3, 1, 0}}, {"bias", nil}},
	nn.SeparableConv2D: {{"depthwise.weight", []int{2, 3, 0, 1}}, {"pointwise.weight", []int{2, 3, 1, 0}}, {"pointwise.bias", nil}},
	nn.BatchNorm:       {{"weight", nil}, {"bias", nil}, {"running_mean", nil}, {"running_var", nil}},
	nn.Dense:           {{"weight", []int{1, 0}}, {"bias", nil}},
}

// mapping returns every layer with weights, paired with the twin's module.
func mapping() ([]layerMap, error) {
	mods := twinModules()
	var out []layerMap
	for _, l := range nn.Architecture() {
		params := l.Params()
		if len(params) == 0 {
			continue
		}
		if len(out) >= len(mods) {
			return nil, fmt.Errorf("torchimport: papscope's layer %s has no module in the twin", l.Name)
		}
		sfx := suffixes[l.Kind]
		if len(sfx) != len(params) {
			return nil, fmt.Errorf("torchimport: papscope's layer %s (%s) has %d weights, the twin's %d", l.Name, l.Kind, len(params), len(sfx))
		}
		lm := layerMap{module: mods[len(out)], layer: l}
		for i, p := range params {
			t := tensorMap{torch: lm.module + "." + sfx[i].torch, param: p, perm: sfx[i].perm, shape: p.Shape}
			if t.perm != nil {
				t.shape = make([]int, len(p.Shape))
				for d, td := range t.perm {
					t.shape[td] = p.Shape[d]
				}
			}
			lm.tensors = append(lm.tensors, t)
		}
		out = append(out, lm)
	}
	if len(out) != len(mods) {
		return nil, fmt.Errorf("torchimport: papscope has %d layers with weights, the twin %d modules", len(out), len(mods))
	}
	return out, nil
}

// prefixes a whole state_dict may carry: DistributedDataParallel's and torch.compile's.
var prefixes = []string{"module.", "_orig_mod."}

// Import converts a safetensors file holding the twin's state_dict into papscope weights.
func Import(data []byte, opt Options) (*nn.Weights, error) {
	f, err := safetensors.Decode(data, safetensors.Limits{})
	if err != nil {
		return nil, fmt.Errorf("torch: %w", err)
	}
	if f.Metadata["format"] == "papscope-xception-lite-v1" {
		return nil, errors.New("torch: this file is already papscope weights (Keras names, not a PyTorch state_dict): use it directly with -weights")
	}
	byName := make(map[string]*safetensors.Tensor, len(f.Tensors))
	for i := range f.Tensors {
		byName[f.Tensors[i].Name] = &f.Tensors[i]
	}
	for _, p := range prefixes {
		if len(byName) > 0 && allHavePrefix(byName, p) {
			stripped := make(map[string]*safetensors.Tensor, len(byName))
			for k, t := range byName {
				stripped[strings.TrimPrefix(k, p)] = t
			}
			byName = stripped
		}
	}
	layers, err := mapping()
	if err != nil {
		return nil, err
	}
	tensors := map[string][]float32{}
	used := map[string]bool{}
	for i := range layers {
		l := &layers[i]
		for _, tm := range l.tensors {
			t, ok := byName[tm.torch]
			if !ok {
				return nil, l.errorf(tm.torch, "is missing from the state_dict (shape %v); the architecture differs", tm.shape)
			}
			if t.DType != "F32" {
				return nil, l.errorf(tm.torch, "has dtype %s, want F32 (save model.float().state_dict())", t.DType)
			}
			if !slices.Equal(t.Shape, tm.shape) {
				return nil, l.errorf(tm.torch, "has shape %v, want %v; the architecture differs", t.Shape, tm.shape)
			}
			v, err := t.Float32s()
			if err != nil {
				return nil, &LayerError{Layer: l.layer.Name, Module: l.module, desc: l.describe(), Err: err}
			}
			for j, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return nil, l.errorf(tm.torch, "has non-finite value %g at index %d", x, j)
				}
			}
			tensors[tm.param.Name] = permute(v, tm.shape, tm.perm)
			used[tm.torch] = true
		}
		if l.layer.Kind == nn.BatchNorm {
			n := l.module + ".num_batches_tracked"
			if t, ok := byName[n]; ok {
				if !strings.HasPrefix(t.DType, "I") || len(t.Shape) > 1 {
					return nil, l.errorf(n, "is %s %v, want an integer scalar", t.DType, t.Shape)
				}
				used[n] = true
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(byName)) {
		if !used[k] {
			return nil, &TensorError{Name: k, Err: fmt.Errorf("(module %q) is not part of papscope's network, whose modules are %s; the architecture differs",
				module(k), strings.Join(twinModules(), ", "))}
		}
	}
	meta, err := metadata(f.Metadata, opt)
	if err != nil {
		return nil, err
	}
	w, err := nn.NewWeights(meta, tensors)
	if err != nil {
		return nil, fmt.Errorf("torch: %w", err)
	}
	return w, nil
}

func allHavePrefix(m map[string]*safetensors.Tensor, p string) bool {
	for k := range m {
		if !strings.HasPrefix(k, p) {
			return false
		}
	}
	return true
}

// module returns the module path of a state_dict key: the key without its last part.
func module(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return key
}

// permute returns v (of torch shape ts) in Keras layout: Keras dimension d is
// torch dimension perm[d]. A nil perm returns v.
func permute(v []float32, ts, perm []int) []float32 {
	if perm == nil {
		return v
	}
	stride := make([]int, len(ts))
	s := 1
	for d := len(ts) - 1; d >= 0; d-- {
		stride[d] = s
		s *= ts[d]
	}
	ks := make([]int, len(perm))
	kstride := make([]int, len(perm)) // torch stride of each Keras dimension
	for d, td := range perm {
		ks[d], kstride[d] = ts[td], stride[td]
	}
	out := make([]float32, len(v))
	idx := make([]int, len(ks))
	for o := range out {
		src := 0
		for d, i := range idx {
			src += i * kstride[d]
		}
		out[o] = v[src]
		for d := len(idx) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < ks[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// Metadata keys a twin's state_dict may carry (papscope_torch writes them; all optional).
const (
	keyClasses      = "classes"
	keyInputShape   = "input_shape"
	keyTrainingData = "training_data"
	keyMetrics      = "metrics"
	keySource       = "source"
	keyTemperature  = "temperature"
	keyCrop         = "crop" // the centre crop preprocessing applies (nn.Metadata.Crop), as train.py --crop trained
)

// metadata builds papscope metadata from the file's, where it has any.
func metadata(md map[string]string, opt Options) (nn.Metadata, error) {
	in := opt.Input
	if in == (nn.Dims{}) {
		in = nn.Dims{Height: nn.DefaultInputSize, Width: nn.DefaultInputSize}
		if s, ok := md[keyInputShape]; ok {
			var shape []int
			if err := json.Unmarshal([]byte(s), &shape); err != nil || len(shape) != 3 || shape[2] != 3 {
				return nn.Metadata{}, metadataErrorf(keyInputShape, "is %q, want [height, width, 3]", s)
			}
			in = nn.Dims{Height: shape[0], Width: shape[1]}
		}
	}
	meta := nn.DefaultMetadata(in)
	if s, ok := md[keyClasses]; ok {
		var classes []string
		if err := json.Unmarshal([]byte(s), &classes); err != nil || !slices.Equal(classes, nn.ClassNames()) {
			return nn.Metadata{}, metadataErrorf(keyClasses, "is %s, want %q in that order (papscope's output order)", s, nn.ClassNames())
		}
	}
	meta.Source = "imported from PyTorch state_dict"
	if s := strings.TrimSpace(md[keySource]); s != "" {
		meta.Source += " (" + s + ")"
	}
	meta.TrainingData = "unknown (imported)"
	if s := strings.TrimSpace(md[keyTrainingData]); s != "" {
		meta.TrainingData = s
	}
	if s := md[keyMetrics]; s != "" {
		if !json.Valid([]byte(s)) {
			return nn.Metadata{}, metadataErrorf(keyMetrics, "is not JSON")
		}
		meta.Metrics = s
	}
	if s, ok := md[keyTemperature]; ok {
		t, err := strconv.ParseFloat(s, 64)
		if err != nil || !(t > 0) || t > nn.MaxTemperature {
			return nn.Metadata{}, metadataErrorf(keyTemperature, "is %q, want a number in (0, %d]", s, nn.MaxTemperature)
		}
		meta.Temperature = t
	}
	if s, ok := md[keyCrop]; ok {
		c, err := strconv.ParseFloat(s, 64)
		if err == nil {
			err = nn.CheckCrop(c)
		}
		if err != nil {
			return nn.Metadata{}, metadataErrorf(keyCrop, "is %q, want the share of each side kept, in (0, 1]", s)
		}
		meta.Crop = c
		meta.Preprocessing = nn.PreprocessingWithCrop(c)
	}
	for k, v := range md {
		switch k {
		case "format", "preprocessing", keyClasses, keyInputShape, keyTrainingData, keyMetrics, keySource, keyTemperature, keyCrop, "ood_threshold":
		default:
			if meta.Extra == nil {
				meta.Extra = map[string]string{}
			}
			meta.Extra[k] = v
		}
	}
	return meta, nil
}
