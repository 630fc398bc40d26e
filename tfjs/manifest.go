package tfjs

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"

	"papscope/nn"
)

// manifestGroup is one entry of weightsManifest: tensors laid out back to
// back, in order, over the concatenation of the group's shards.
type manifestGroup struct {
	Paths   []string     `json:"paths"`
	Weights []weightSpec `json:"weights"`
}

// weightSpec describes one tensor of a manifest group.
type weightSpec struct {
	Name         string        `json:"name"`
	Shape        []int         `json:"shape"`
	DType        string        `json:"dtype"`
	Group        string        `json:"group"` // "optimizer" for optimizer state saved with includeOptimizer
	Quantization *quantization `json:"quantization"`
}

// quantization describes weights quantized by tensorflowjs_converter.
type quantization struct {
	DType string   `json:"dtype"` // uint8, uint16 or float16
	Scale *float64 `json:"scale"`
	Min   *float64 `json:"min"`
}

// Limits on what a manifest may ask for; papscope's network has about 1.6 MB of weights.
const (
	maxShards     = 10000
	maxShardBytes = 512 << 20
)

// tensor is one manifest tensor with its place in its group's bytes.
type tensor struct {
	spec   *weightSpec
	group  int
	offset int // byte offset in the group's concatenated shards
	size   int // bytes
	count  int // scalars
	layer  string
	weight string
	target string // canonical nn name once mapped
}

// weightSuffixes are the weight names papscope's layers have.
var weightSuffixes = []string{"depthwise_kernel", "pointwise_kernel", "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"}

// splitWeightName splits a manifest name into the layer name (the path
// component before the weight) and the weight name. It accepts Keras names
// ("conv2d_1/kernel"), converter paths ("functional/conv2d/kernel:0"), a
// TF.js unique suffix ("conv2d/kernel_1"), and the paths of a Keras 3
// weights file ("layers/conv2d/vars/0"), where the layer is named by its
// class and its rank among the model's layers of that class, and the weight
// by its index in Keras order; those return the weight as "vars/0".
func splitWeightName(name string) (layer, weight string) {
	if i := strings.LastIndexByte(name, ':'); i >= 0 && isDigits(name[i+1:]) {
		name = name[:i]
	}
	parts := strings.Split(name, "/")
	weight = parts[len(parts)-1]
	if i := strings.LastIndexByte(weight, '_'); i >= 0 && isDigits(weight[i+1:]) {
		for _, s := range weightSuffixes {
			if weight[:i] == s {
				weight = s
				break
			}
		}
	}
	if n := len(parts); n >= 3 && parts[n-2] == "vars" && isDigits(weight) {
		return parts[n-3], "vars/" + weight // Keras 3 weights file: layers/<class-ordinal name>/vars/<index>
	}
	if len(parts) >= 2 {
		layer = parts[len(parts)-2]
	}
	return layer, weight
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// sizeOf returns the scalar count and byte size of a tensor, refusing dtypes
// papscope cannot import and shapes whose size overflows.
func sizeOf(s *weightSpec) (count, size int, err error) {
	count = 1
	for _, d := range s.Shape {
		if d < 0 {
			return 0, 0, tensorErrorf(s.Name, "has shape %s with a negative dimension", shapeString(s.Shape))
		}
		if d != 0 && count > maxShardBytes/d {
			return 0, 0, tensorErrorf(s.Name, "has shape %s, far larger than any weight of papscope's network", shapeString(s.Shape))
		}
		count *= d
	}
	var elem int
	switch q := s.Quantization; {
	case q != nil:
		if s.DType != "float32" {
			return 0, 0, tensorErrorf(s.Name, "is quantized %s with dtype %q; papscope imports float32 weights", q.DType, s.DType)
		}
		switch q.DType {
		case "uint8":
			elem = 1
		case "uint16", "float16":
			elem = 2
		default:
			return 0, 0, tensorErrorf(s.Name, "has quantization dtype %q; papscope dequantizes uint8, uint16 and float16", q.DType)
		}
		if q.DType != "float16" && (q.Scale == nil || q.Min == nil || math.IsInf(*q.Scale, 0) || math.IsInf(*q.Min, 0)) {
			return 0, 0, tensorErrorf(s.Name, "is quantized %s without a finite scale and min", q.DType)
		}
	case s.DType == "float32":
		elem = 4
	case s.Group == "optimizer" && (s.DType == "int32"):
		elem = 4
	case s.Group == "optimizer" && (s.DType == "bool"):
		elem = 1
	default:
		return 0, 0, tensorErrorf(s.Name, "has dtype %q; papscope imports float32 weights (also quantized with --quantize_uint8, --quantize_uint16 or --quantize_float16)", s.DType)
	}
	return count, count * elem, nil
}

// readWeights maps the manifest's tensors to the matched layers, checks
// shapes and byte layout, and returns the values under canonical names.
func readWeights(groups []manifestGroup, m *matched, open ShardOpener) (map[string][]float32, error) {
	if len(groups) == 0 {
		return nil, FormatError("model.json has no weightsManifest")
	}
	var all []*tensor
	byKey := map[[2]string]*tensor{}
	for gi := range groups {
		off := 0
		for wi := range groups[gi].Weights {
			s := &groups[gi].Weights[wi]
			count, size, err := sizeOf(s)
			if err != nil {
				return nil, err
			}
			if size > maxShardBytes-off {
				return nil, tensorErrorf(s.Name, "would end past %d MiB of weight data; papscope's network has about 1.6 MB of weights", maxShardBytes>>20)
			}
			t := &tensor{spec: s, group: gi, offset: off, size: size, count: count}
			off += size
			all = append(all, t)
			if s.Group == "optimizer" {
				continue
			}
			t.layer, t.weight = splitWeightName(s.Name)
			k := [2]string{t.layer, t.weight}
			if prev, dup := byKey[k]; dup {
				return nil, tensorErrorf(s.Name, "is weight %q of layer %q, as is tensor %q", t.weight, t.layer, prev.spec.Name)
			}
			byKey[k] = t
		}
	}

	for _, l := range nn.Architecture() {
		n := m.layers[l.Name]
		for i, p := range l.Params() {
			suffix := p.Name[strings.LastIndexByte(p.Name, '/')+1:]
			t, ok := byKey[[2]string{n.name, suffix}]
			if !ok {
				t, ok = byKey[[2]string{m.varsName[n], "vars/" + strconv.Itoa(i)}]
			}
			if !ok {
				return nil, tensorErrorf(n.name+"/"+suffix, "is missing from the weights manifest: layer %s needs it (architecture tensor %s)", n, p.Name)
			}
			if !equalShape(t.spec.Shape, p.Shape) {
				return nil, tensorErrorf(t.spec.Name, "has shape %s, want %s (architecture tensor %s)", shapeString(t.spec.Shape), shapeString(p.Shape), p.Name)
			}
			t.target = p.Name
		}
	}
	fileLayers := map[string]bool{}
	for _, n := range m.layers {
		fileLayers[n.name] = true
	}
	for _, t := range all {
		if t.target != "" || t.spec.Group == "optimizer" {
			continue
		}
		if fileLayers[t.layer] {
			return nil, tensorErrorf(t.spec.Name, "in the weights manifest is not used: layer %q has no weight %q in papscope's network", t.layer, t.weight)
		}
		return nil, tensorErrorf(t.spec.Name, "in the weights manifest is not a weight of any layer of papscope's network")
	}

	out := map[string][]float32{}
	total, nShards := 0, 0
	for gi, g := range groups {
		var sh shards
		for _, p := range g.Paths {
			if nShards++; nShards > maxShards {
				return nil, FormatError(fmt.Sprintf("the weights manifest lists more than %d shards", maxShards))
			}
			clean, err := cleanShardPath(p)
			if err != nil {
				return nil, err
			}
			b, err := open(clean)
			if err != nil {
				return nil, fmt.Errorf("tfjs: open weight shard %q: %w", p, err)
			}
			if total += len(b); total > maxShardBytes {
				return nil, FormatError(fmt.Sprintf("the weight shards hold more than %d MiB; papscope's network has about 1.6 MB of weights", maxShardBytes>>20))
			}
			sh.add(b)
		}
		end, last := 0, ""
		for _, t := range all {
			if t.group != gi {
				continue
			}
			if t.size > sh.total-t.offset {
				return nil, tensorErrorf(t.spec.Name, "(%d bytes at offset %d) runs past the end of %s (%d bytes; a truncated shard?)", t.size, t.offset, describeShards(g.Paths), sh.total)
			}
			end, last = t.offset+t.size, t.spec.Name
			if t.target != "" {
				out[t.target] = decode(t, sh.bytes(t.offset, t.size))
			}
		}
		if end != sh.total {
			after := "before the first tensor"
			if last != "" {
				after = fmt.Sprintf("after the last tensor, %q", last)
			}
			return nil, FormatError(fmt.Sprintf("%s: %d bytes, but the manifest's tensors take %d: %d extra bytes %s",
				describeShards(g.Paths), sh.total, end, sh.total-end, after))
		}
	}
	return out, nil
}

// describeShards names a group's shards for messages: shard "a.bin", or shards "a.bin" … "c.bin" (3).
func describeShards(paths []string) string {
	switch len(paths) {
	case 0:
		return "no shards"
	case 1:
		return fmt.Sprintf("shard %q", paths[0])
	}
	return fmt.Sprintf("shards %q … %q (%d)", paths[0], paths[len(paths)-1], len(paths))
}

// shards is the concatenation of a group's shard files, without copying them.
type shards struct {
	parts [][]byte
	total int
}

func (s *shards) add(b []byte) {
	s.parts = append(s.parts, b)
	s.total += len(b)
}

// bytes returns n bytes from offset off, copying only when they straddle shards.
func (s *shards) bytes(off, n int) []byte {
	var out []byte
	for _, p := range s.parts {
		if off >= len(p) {
			off -= len(p)
			continue
		}
		if out == nil && off+n <= len(p) {
			return p[off : off+n]
		}
		if out == nil {
			out = make([]byte, 0, n)
		}
		take := min(len(p)-off, n-len(out))
		out = append(out, p[off:off+take]...)
		off = 0
		if len(out) == n {
			break
		}
	}
	return out
}

// decode converts a tensor's bytes to float32, dequantizing as TF.js does.
func decode(t *tensor, b []byte) []float32 {
	v := make([]float32, t.count)
	q := t.spec.Quantization
	switch {
	case q == nil:
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case q.DType == "uint8":
		for i := range v {
			v[i] = float32(float64(b[i])**q.Scale + *q.Min)
		}
	case q.DType == "uint16":
		for i := range v {
			v[i] = float32(float64(binary.LittleEndian.Uint16(b[2*i:]))**q.Scale + *q.Min)
		}
	case q.DType == "float16":
		for i := range v {
			v[i] = halfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	}
	return v
}

// halfToFloat32 converts an IEEE 754 half-precision value to float32.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0: // zero or subnormal: mant × 2⁻²⁴, exact in float32
		f := float32(math.Ldexp(float64(mant), -24))
		return math.Float32frombits(math.Float32bits(f) | sign)
	case 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// cleanShardPath checks that a manifest path names a file inside the model's
// folder and returns it without a leading "./".
func cleanShardPath(p string) (string, error) {
	q := p
	for strings.HasPrefix(q, "./") {
		q = q[2:]
	}
	if p == "" || strings.ContainsAny(p, "\\:\x00") || strings.HasPrefix(p, "/") || !fs.ValidPath(q) || q == "." {
		return "", FormatError(fmt.Sprintf("weight shard path %q is not a plain relative path inside the model's folder (absolute paths, \"..\", backslashes and colons are refused)", p))
	}
	return q, nil
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// shapeString formats a shape as JSON: [3, 3, 128, 1].
func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
