package nn

import (
	"fmt"
	"image"
	"math"
	"time"
)

// Output is the result of one forward pass. The slices point into the model's
// buffers: they stay valid until the model's next forward pass.
type Output struct {
	Logits      [NumClasses]float32 // pre-softmax scores, in ClassNames order (not divided by the temperature)
	Probs       [NumClasses]float32 // softmax of Logits / the weights' temperature
	Pooled      []float32           // the 256-vector after global average pooling
	Features    []float32           // the last feature map, FeatureDims × 256, NHWC (Grad-CAM's input)
	FeatureDims Dims                // spatial size of Features (74×74 for a 299×299 input)

	// Out-of-distribution score: the Mahalanobis distance of Pooled to the
	// nearest class mean of the training data. Only when OODAvailable (the
	// weights carry the statistics); otherwise all three are zero.
	OODAvailable bool
	OODScore     float32 // higher is further from the training data
	OODThreshold float32 // the weights' largest in-distribution score
}

// Top returns the most probable class, the first on ties.
func (o *Output) Top() Class { return Argmax(o.Probs[:]) }

// sepconv is a separable convolution prepared for the kernels.
type sepconv struct {
	depthwise []float32    // [3][3][in]
	pointwise weightMatrix // [in][out], with bias, ReLU, batch norm and residual add
	in, out   int
}

// params is the read-only, kernel-ready form of the weights, shared by clones.
type params struct {
	weights *Weights
	conv1   weightMatrix // [conv1K][64] (27 rows and zeros), with bias, ReLU and batch norm
	sep1    sepconv
	blocks  [numBlocks][2]sepconv
	sepLast sepconv
	dense1W []float32 // [256][256] (in, out)
	dense1B []float32
	dense2W []float32 // [256][4]
	dense2B []float32

	temperature float64   // softmax temperature, 1 when the weights have none
	crop        float64   // the weights' centre crop (Metadata.Crop), applied by every preprocessing the model does
	ood         *oodStats // nil when the weights have no out-of-distribution statistics
}

// Model runs the network on one image at a time. It owns every buffer the
// forward pass needs, allocated once, so classifying allocates nothing. A Model
// is reusable but not safe for concurrent use: give each goroutine its own, made
// cheaply with Clone (clones share the read-only weights).
type Model struct {
	p      *params
	in     Dims // network input size
	conv1  Dims // after the stride-2 convolution
	pooled Dims // after the max-pool: the size of the blocks and the features

	input   []float32 // in × 3
	bufA    []float32 // conv1 im2col, then conv1-sized depthwise output
	bufB    []float32 // conv1 output (after BN), then the block activations x
	bufC    []float32 // first separable conv output; after pooling: depthwise, t and features
	pooledV []float32 // 256
	hidden  []float32 // 256
	oodDiff []float64 // OODDim, scratch of the out-of-distribution score
	prep    Preprocessor
}

// NewModel prepares weights for inference at the input size they declare.
func NewModel(w *Weights) (*Model, error) {
	if w == nil {
		return nil, fmt.Errorf("nn: no weights")
	}
	p := &params{weights: w}
	conv1, bn := w.Tensor("conv2d/kernel"), "batch_normalization"
	scale, shift := bnAffine(w, bn)
	p.conv1 = newWeightMatrix(conv1, 27, 64, newEpilogue(w.Tensor("conv2d/bias"), scale, shift))
	p.sep1 = newSepconv(w, "separable_conv2d", "", 64, 128, false)
	for b := range numBlocks {
		i := 1 + 2*b
		p.blocks[b][0] = newSepconv(w, fmt.Sprintf("separable_conv2d_%d", i), fmt.Sprintf("batch_normalization_%d", i), 128, 128, false)
		p.blocks[b][1] = newSepconv(w, fmt.Sprintf("separable_conv2d_%d", i+1), fmt.Sprintf("batch_normalization_%d", i+1), 128, 128, true)
	}
	p.sepLast = newSepconv(w, fmt.Sprintf("separable_conv2d_%d", 2*numBlocks+1), "", 128, 256, false)
	p.dense1W, p.dense1B = w.Tensor("dense/kernel"), w.Tensor("dense/bias")
	p.dense2W, p.dense2B = w.Tensor("dense_1/kernel"), w.Tensor("dense_1/bias")
	p.temperature = w.meta.temperature()
	p.crop = w.meta.Crop
	p.ood = newOODStats(w)
	return newModel(p, w.meta.Input)
}

func newModel(p *params, in Dims) (*Model, error) {
	if err := CheckInput(in); err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	conv1, pooled := featureDims(in)
	n1 := conv1.Height * conv1.Width
	n2 := pooled.Height * pooled.Width
	return &Model{
		p: p, in: in, conv1: conv1, pooled: pooled,
		input:   make([]float32, in.Height*in.Width*3),
		bufA:    make([]float32, n1*64),
		bufB:    make([]float32, max(n1*64, n2*128)),
		bufC:    make([]float32, max(n1*128, n2*512)),
		pooledV: make([]float32, 256),
		hidden:  make([]float32, 256),
		oodDiff: make([]float64, OODDim),
		prep:    Preprocessor{Crop: p.crop},
	}, nil
}

// Clone returns a new model sharing m's weights, with buffers of its own, for use on another goroutine.
func (m *Model) Clone() *Model {
	c, err := newModel(m.p, m.in)
	if err != nil {
		panic(err) // m's input size was already checked
	}
	return c
}

// Weights returns the weights the model runs.
func (m *Model) Weights() *Weights { return m.p.weights }

// InputDims returns the input size the model runs at.
func (m *Model) InputDims() Dims { return m.in }

// Crop returns the centre crop the model's preprocessing applies: the
// weights' Metadata.Crop when the model was made (0 for the whole image).
func (m *Model) Crop() float64 { return m.p.crop }

// newSepconv prepares a separable convolution with its ReLU, the batch
// normalization bn after it (none for ""), and a residual add when residual.
func newSepconv(w *Weights, name, bn string, in, out int, residual bool) sepconv {
	var scale, shift []float32
	if bn != "" {
		scale, shift = bnAffine(w, bn)
	}
	ep := newEpilogue(w.Tensor(name+"/bias"), scale, shift)
	ep.residual = residual
	return sepconv{
		depthwise: w.Tensor(name + "/depthwise_kernel"),
		pointwise: newWeightMatrix(w.Tensor(name+"/pointwise_kernel"), in, out, ep),
		in:        in, out: out,
	}
}

// bnAffine folds inference-mode batch normalization into y = x*scale + shift.
func bnAffine(w *Weights, name string) (scale, shift []float32) {
	gamma, beta := w.Tensor(name+"/gamma"), w.Tensor(name+"/beta")
	mean, variance := w.Tensor(name+"/moving_mean"), w.Tensor(name+"/moving_variance")
	scale, shift = make([]float32, len(gamma)), make([]float32, len(gamma))
	for i := range gamma {
		s := float64(gamma[i]) / math.Sqrt(float64(variance[i])+BNEpsilon)
		scale[i] = float32(s)
		shift[i] = float32(float64(beta[i]) - float64(mean[i])*s)
	}
	return scale, shift
}

// forward applies a separable convolution: depthwise into scratch, then the pointwise GEMM into dst.
func (s *sepconv) forward(dst, src, scratch []float32, d Dims, sw *stopwatch) {
	n := d.Height * d.Width
	depthwise(scratch[:n*s.in], src[:n*s.in], s.depthwise, d.Height, d.Width, s.in)
	sw.lap(depthwiseLayer)
	s.pointwise.mul(dst[:n*s.out], scratch[:n*s.in], n)
	sw.lap(pointwiseLayer)
}

// Forward runs the network on input, NHWC float32 RGB in [0,1] of the model's
// input size (see Preprocessor). It allocates nothing.
func (m *Model) Forward(input []float32) (Output, error) { return m.forward(input, nil) }

// ForwardTimed is Forward that also records in t where the time went, by layer kind.
func (m *Model) ForwardTimed(input []float32, t *LayerTimes) (Output, error) {
	return m.forward(input, newStopwatch(t))
}

func (m *Model) forward(input []float32, sw *stopwatch) (Output, error) {
	if want := m.in.Height * m.in.Width * 3; len(input) != want {
		return Output{}, fmt.Errorf("nn: input has %d values, want %d for %dx%dx3", len(input), want, m.in.Height, m.in.Width)
	}
	p := m.p
	n1 := m.conv1.Height * m.conv1.Width
	n2 := m.pooled.Height * m.pooled.Width

	// conv2d + ReLU + batch_normalization, as im2col and one GEMM.
	cols := m.bufA[:n1*conv1K]
	im2colConv1(cols, input, m.in.Width, m.conv1)
	a1 := m.bufB[:n1*64]
	p.conv1.mul(a1, cols, n1)
	sw.lap(conv1Layer)

	// separable_conv2d (64→128) + ReLU, then max-pool into the block activations.
	s1 := m.bufC[:n1*128]
	p.sep1.forward(s1, a1, m.bufA, m.conv1, sw)
	x := m.bufB[:n2*128]
	maxPool(x, s1, m.conv1, m.pooled, 128)
	sw.lap(poolLayer)

	// Residual blocks: x += BN(sepconv(BN(sepconv(x)))); the add is fused into the second GEMM.
	scratch := m.bufC[:n2*128]
	t := m.bufC[n2*128 : n2*256]
	for b := range p.blocks {
		p.blocks[b][0].forward(t, x, scratch, m.pooled, sw)
		p.blocks[b][1].forward(x, t, scratch, m.pooled, sw)
	}

	// Last separable conv (128→256) + ReLU: the feature map Grad-CAM uses.
	features := m.bufC[n2*256 : n2*512]
	p.sepLast.forward(features, x, scratch, m.pooled, sw)

	// Global average pooling and the dense head.
	globalAvgPool(m.pooledV, features, n2)
	sw.lap(poolLayer)
	dense(m.hidden, m.pooledV, p.dense1W, p.dense1B, true)
	var out Output
	dense(out.Logits[:], m.hidden, p.dense2W, p.dense2B, false)
	Probs(out.Probs[:], out.Logits[:], p.temperature)
	out.Pooled = m.pooledV
	out.Features = features
	out.FeatureDims = m.pooled
	if p.ood != nil {
		out.OODAvailable = true
		out.OODScore = float32(p.ood.score(m.pooledV, m.oodDiff))
		out.OODThreshold = p.ood.threshold
	}
	sw.lap(headLayer)
	return out, nil
}

// Preprocess writes img into dst as the network input of the model's weights:
// their centre crop (Metadata.Crop) kept, resized to their input size (see
// Preprocessor). dst holds InputDims' Height×Width×3 values. Every inference
// path preprocesses through the model (here, PreprocessRGBA, ClassifyImage or
// ClassifyRGBA), so none can miss the weights' crop.
func (m *Model) Preprocess(dst []float32, img image.Image) error {
	if err := m.prep.Image(dst, m.in, img); err != nil {
		return fmt.Errorf("nn: %w", err)
	}
	return nil
}

// PreprocessRGBA does the same for raw non-premultiplied RGBA bytes (as a
// canvas gives them), exactly as Preprocess does for an *image.NRGBA holding them.
func (m *Model) PreprocessRGBA(dst []float32, pix []byte, width, height int) error {
	if err := m.prep.RGBA(dst, m.in, pix, width, height); err != nil {
		return fmt.Errorf("nn: %w", err)
	}
	return nil
}

// ClassifyImage preprocesses img as Preprocess does (the weights' crop, then
// the model's input size) and runs the network.
func (m *Model) ClassifyImage(img image.Image) (Output, error) {
	if err := m.Preprocess(m.input, img); err != nil {
		return Output{}, err
	}
	return m.Forward(m.input)
}

// ClassifyRGBA preprocesses raw non-premultiplied RGBA bytes (as a canvas
// gives them) as PreprocessRGBA does and runs the network.
func (m *Model) ClassifyRGBA(pix []byte, width, height int) (Output, error) {
	return m.ClassifyRGBATimed(pix, width, height, nil)
}

// ClassifyRGBATimed is ClassifyRGBA that also records in t, when t is not nil,
// the time spent preprocessing and in each kind of layer.
func (m *Model) ClassifyRGBATimed(pix []byte, width, height int, t *ClassifyTimes) (Output, error) {
	var start time.Time
	if t != nil {
		start = time.Now()
	}
	if err := m.PreprocessRGBA(m.input, pix, width, height); err != nil {
		return Output{}, err
	}
	var layers *LayerTimes
	if t != nil {
		t.Preprocess = time.Since(start)
		layers = &t.Layers
	}
	return m.forward(m.input, newStopwatch(layers))
}

// globalAvgPool averages an n×c feature map over its n pixels.
func globalAvgPool(dst, src []float32, n int) {
	c := len(dst)
	sums := dst
	clear(sums)
	for i := range n {
		row := src[i*c : (i+1)*c]
		row = row[:len(sums)]
		for j, v := range row {
			sums[j] += v
		}
	}
	inv := 1 / float32(n)
	for j := range sums {
		sums[j] *= inv
	}
}

// dense computes dst = act(src · kernel + bias) with a Keras [in][out] kernel.
func dense(dst, src, kernel, bias []float32, relu bool) {
	copy(dst, bias)
	out := len(dst)
	for i, x := range src {
		row := kernel[i*out : (i+1)*out]
		for j := range dst {
			dst[j] += x * row[j]
		}
	}
	if relu {
		for j, v := range dst {
			if v < 0 {
				dst[j] = 0
			}
		}
	}
}
