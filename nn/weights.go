package nn

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"papscope/safetensors"
)

// Preprocessing describes, for weight metadata, what the network expects as input.
const Preprocessing = "RGB, pixel/255 in [0,1], alpha composited on white, whole image resized to the input size (no crop) with an antialiased triangle filter"

// PreprocessingWithCrop describes, for weight metadata, the preprocessing of
// weights whose Metadata.Crop is crop (Preprocessing when it is 0 or 1).
func PreprocessingWithCrop(crop float64) string {
	if crop <= 0 || crop >= 1 {
		return Preprocessing
	}
	return fmt.Sprintf("RGB, pixel/255 in [0,1], alpha composited on white, centre crop keeping %s of each side, resized to the input size with an antialiased triangle filter",
		strconv.FormatFloat(crop, 'g', -1, 64))
}

// Metadata describes weights: what they expect and what trained them.
type Metadata struct {
	Classes       []string          // class names in output order; must be ClassNames()
	Input         Dims              // input size the weights were trained at
	Preprocessing string            // how inputs are prepared (informational)
	TrainingData  string            // what data trained the weights
	Data          string            // what kind of images trained them: SyntheticData, RealData, or "" when not recorded
	Metrics       string            // held-out metrics as a JSON object, empty when unknown
	Evaluation    string            // how Metrics were measured (the split, what was counted), empty when not recorded
	Source        string            // where the weights came from (trainer, import)
	Temperature   float64           // softmax temperature Probs are computed at (calibration); 0 means 1
	OODThreshold  float64           // largest in-distribution OOD score; 0 when the weights carry no OOD statistics
	Crop          float64           // share of each side of the image kept, centred, before resizing (Preprocessor.Crop); 0 means the whole image
	Extra         map[string]string // other metadata keys, kept as found
}

// Metadata keys in the safetensors header.
const (
	keyFormat        = "format"
	keyClasses       = "classes"
	keyInputShape    = "input_shape"
	keyPreprocessing = "preprocessing"
	keyTrainingData  = "training_data"
	keyMetrics       = "metrics"
	keySource        = "source"
	keyData          = "data"
	keyEvaluation    = "evaluation"
	keyCrop          = "crop"
	formatName       = "papscope-xception-lite-v1"
)

// Kinds of training images, for Metadata.Data.
const (
	SyntheticData = "synthetic" // drawings of fields (papscope synth): weights for demonstrations and tests
	RealData      = "real"      // fields of real slides
)

// Weights holds a complete, validated set of the network's parameters, and
// optionally out-of-distribution statistics (see WithTrust). It is immutable
// once made and safe to share between goroutines and models.
type Weights struct {
	meta    Metadata
	tensors map[string][]float32
}

// NewWeights validates tensors against the architecture and returns weights
// holding them. Every parameter must be present with its exact size and finite
// values; no other tensor is allowed but the out-of-distribution statistics
// (OODMeansName, OODPrecisionName), all of them with meta.OODThreshold or none.
func NewWeights(meta Metadata, tensors map[string][]float32) (*Weights, error) {
	if err := meta.validate(); err != nil {
		return nil, err
	}
	params := Params()
	known := make(map[string]bool, len(params))
	for _, p := range params {
		known[p.Name] = true
		v, ok := tensors[p.Name]
		if !ok {
			return nil, tensorError(p.Name, "is %w", ErrMissingTensor)
		}
		if len(v) != p.Size() {
			return nil, tensorError(p.Name, "has %d values, want %d for %w %v", len(v), p.Size(), ErrTensorShape, p.Shape)
		}
		if err := checkFinite(p.Name, v); err != nil {
			return nil, err
		}
		if strings.HasSuffix(p.Name, "/moving_variance") {
			for i, x := range v {
				if x < 0 {
					return nil, tensorError(p.Name, "has negative variance %g at index %d", x, i)
				}
			}
		}
	}
	for _, p := range oodParams() {
		known[p.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		if !known[name] {
			return nil, tensorError(name, "is %w", ErrUnknownTensor)
		}
	}
	if err := validateOOD(meta, tensors); err != nil {
		return nil, err
	}
	return &Weights{meta: meta.clone(), tensors: tensors}, nil
}

func checkFinite(name string, v []float32) error {
	for i, x := range v {
		if math.Float32bits(x)&0x7f800000 == 0x7f800000 { // all exponent bits set: ±Inf or NaN
			return tensorError(name, "has %w %g at index %d", ErrNonFinite, x, i)
		}
	}
	return nil
}

func (m Metadata) validate() error {
	if !slices.Equal(m.Classes, ClassNames()) {
		return fmt.Errorf("weights: classes %q do not match the network's %q (same names, same order)", m.Classes, ClassNames())
	}
	if err := CheckInput(m.Input); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	if err := CheckCrop(m.Crop); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	if m.Data != "" && m.Data != SyntheticData && m.Data != RealData {
		return fmt.Errorf("weights: data kind %q, want %q, %q or none", m.Data, SyntheticData, RealData)
	}
	if m.Metrics != "" && !json.Valid([]byte(m.Metrics)) {
		return fmt.Errorf("weights: metrics metadata is not valid JSON")
	}
	return m.validateTrust()
}

// Tensor returns the values of the named parameter or out-of-distribution
// tensor (shared; do not modify), or nil when there is no such tensor.
func (w *Weights) Tensor(name string) []float32 { return w.tensors[name] }

// Meta returns a copy of the weights' metadata; changing it changes nothing in w.
func (w *Weights) Meta() Metadata { return w.meta.clone() }

// WithMeta returns weights holding the same tensors (shared) with meta,
// validated as NewWeights validates them; w is unchanged.
func (w *Weights) WithMeta(meta Metadata) (*Weights, error) {
	return NewWeights(meta, w.tensors)
}

// clone returns a deep copy of m: no slice or map shared.
func (m Metadata) clone() Metadata {
	m.Classes = slices.Clone(m.Classes)
	m.Extra = maps.Clone(m.Extra)
	return m
}

// DecodeWeights parses a safetensors file and validates it against the
// architecture. Every failure names what is wrong, and the tensor where one is at fault.
func DecodeWeights(data []byte) (*Weights, error) {
	f, err := safetensors.Decode(data, safetensors.Limits{})
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	meta, err := decodeMetadata(f.Metadata)
	if err != nil {
		return nil, err
	}
	specs := make(map[string]Param)
	for _, p := range append(Params(), oodParams()...) {
		specs[p.Name] = p
	}
	tensors := make(map[string][]float32, len(f.Tensors))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		p, ok := specs[t.Name]
		if !ok {
			return nil, tensorError(t.Name, "is %w", ErrUnknownTensor)
		}
		if t.DType != "F32" {
			return nil, tensorError(t.Name, "has %w %s, want F32", ErrTensorDType, t.DType)
		}
		if !slices.Equal(t.Shape, p.Shape) {
			return nil, tensorError(t.Name, "has %w %v, want %v", ErrTensorShape, t.Shape, p.Shape)
		}
		v, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("weights: %w", err)
		}
		tensors[t.Name] = v
	}
	return NewWeights(meta, tensors)
}

func decodeMetadata(md map[string]string) (Metadata, error) {
	if md[keyFormat] != formatName {
		return Metadata{}, fmt.Errorf("weights: metadata format is %q, want %q (not papscope weights; convert Keras/TF.js models with papscope import)", md[keyFormat], formatName)
	}
	var m Metadata
	if err := json.Unmarshal([]byte(md[keyClasses]), &m.Classes); err != nil {
		return Metadata{}, fmt.Errorf("weights: metadata %q is not a JSON list of class names: %v", keyClasses, err)
	}
	var shape []int
	if err := json.Unmarshal([]byte(md[keyInputShape]), &shape); err != nil || len(shape) != 3 || shape[2] != 3 {
		return Metadata{}, fmt.Errorf("weights: metadata %q is %q, want [height, width, 3]", keyInputShape, md[keyInputShape])
	}
	m.Input = Dims{Height: shape[0], Width: shape[1]}
	m.Preprocessing = md[keyPreprocessing]
	m.TrainingData = md[keyTrainingData]
	m.Metrics = md[keyMetrics]
	m.Source = md[keySource]
	m.Data = md[keyData]
	m.Evaluation = md[keyEvaluation]
	var err error
	if m.Temperature, err = parseDecimal(md, keyTemperature); err != nil {
		return Metadata{}, err
	}
	if m.OODThreshold, err = parseDecimal(md, keyOODThreshold); err != nil {
		return Metadata{}, err
	}
	if m.Crop, err = parseDecimal(md, keyCrop); err != nil {
		return Metadata{}, err
	}
	for k, v := range md {
		switch k {
		case keyFormat, keyClasses, keyInputShape, keyPreprocessing, keyTrainingData, keyMetrics, keySource, keyData, keyEvaluation,
			keyTemperature, keyOODThreshold, keyCrop:
		default:
			if m.Extra == nil {
				m.Extra = map[string]string{}
			}
			m.Extra[k] = v
		}
	}
	return m, m.validate()
}

// Encode writes the weights as a safetensors file with their metadata.
func (w *Weights) Encode(out io.Writer) error {
	md := maps.Clone(w.meta.Extra)
	if md == nil {
		md = map[string]string{}
	}
	classes, err := json.Marshal(w.meta.Classes)
	if err != nil {
		return fmt.Errorf("encode weights: %w", err)
	}
	md[keyFormat] = formatName
	md[keyClasses] = string(classes)
	md[keyInputShape] = "[" + strconv.Itoa(w.meta.Input.Height) + "," + strconv.Itoa(w.meta.Input.Width) + ",3]"
	set := func(k, v string) {
		if v != "" {
			md[k] = v
		}
	}
	set(keyPreprocessing, w.meta.Preprocessing)
	set(keyTrainingData, w.meta.TrainingData)
	set(keyMetrics, w.meta.Metrics)
	set(keySource, w.meta.Source)
	set(keyData, w.meta.Data)
	set(keyEvaluation, w.meta.Evaluation)
	delete(md, keyTemperature) // only the fields say what the weights carry
	delete(md, keyOODThreshold)
	delete(md, keyCrop)
	if w.meta.Crop != 0 {
		md[keyCrop] = formatDecimal(w.meta.Crop)
	}
	if w.meta.Temperature != 0 {
		md[keyTemperature] = formatDecimal(w.meta.Temperature)
	}
	if w.meta.OODThreshold != 0 {
		md[keyOODThreshold] = formatDecimal(w.meta.OODThreshold)
	}
	params := Params()
	if w.HasOOD() {
		params = append(params, oodParams()...)
	}
	f := &safetensors.File{Metadata: md}
	for _, p := range params {
		t, err := safetensors.F32(p.Name, p.Shape, w.tensors[p.Name])
		if err != nil {
			return fmt.Errorf("encode weights: %w", err)
		}
		f.Tensors = append(f.Tensors, t)
	}
	if err := safetensors.Encode(out, f); err != nil {
		return fmt.Errorf("encode weights: %w", err)
	}
	return nil
}

// DefaultMetadata returns metadata for weights of this network at an input size.
func DefaultMetadata(in Dims) Metadata {
	return Metadata{Classes: ClassNames(), Input: in, Preprocessing: Preprocessing}
}

// InitWeights returns freshly initialised weights, as Keras initialises a new
// model: Glorot-uniform kernels, zero biases, identity batch normalization.
// The same seed gives the same weights.
func InitWeights(meta Metadata, seed uint64) (*Weights, error) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	tensors := map[string][]float32{}
	for _, p := range Params() {
		v := make([]float32, p.Size())
		switch suffix := p.Name[strings.LastIndexByte(p.Name, '/')+1:]; suffix {
		case "kernel", "depthwise_kernel", "pointwise_kernel":
			fanIn, fanOut := glorotFans(p.Shape)
			limit := math.Sqrt(6 / float64(fanIn+fanOut))
			for i := range v {
				v[i] = float32((rng.Float64()*2 - 1) * limit)
			}
		case "gamma", "moving_variance":
			for i := range v {
				v[i] = 1
			}
		}
		tensors[p.Name] = v
	}
	return NewWeights(meta, tensors)
}

// glorotFans returns Keras's fan-in and fan-out for a kernel shape.
func glorotFans(shape []int) (fanIn, fanOut int) {
	if len(shape) == 2 {
		return shape[0], shape[1]
	}
	receptive := 1
	for _, d := range shape[:len(shape)-2] {
		receptive *= d
	}
	return shape[len(shape)-2] * receptive, shape[len(shape)-1] * receptive
}
