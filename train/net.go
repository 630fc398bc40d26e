package train

import (
	"errors"
	"fmt"
	"slices"

	"gorgonia.org/tensor"

	"papscope/nn"
)

// Momentum is the batch-normalization moving-average momentum (Keras's default):
// moving = moving·Momentum + batch·(1−Momentum) after every training step.
const Momentum = 0.99

// Net holds the network's current weights, in a form gorgonia graphs bind to
// directly. Graphs built from a Net (by Predict and NewTrainer) share its
// values: a training step updates them in place, and the next prediction and
// Weights see the update.
//
// A Net and its Trainers are not safe for concurrent use: use them from one
// goroutine at a time. To run nn on another goroutine meanwhile, export with
// Weights, which copies.
type Net struct {
	meta   nn.Metadata
	values map[string]*tensor.Dense // every nn.Param by Keras name, as a matrix (see matrixShape)
	infer  *graph                   // the last inference graph, reused while the batch and input size stay
}

// matrixShape is the shape the graph holds a parameter in: kernels as
// (inputs, outputs) matrices — conv1's (27, 64) in (ky, kx, channel) row
// order, a depthwise kernel as (9, C) — and per-channel vectors as (1, C).
// Keras's row-major data is already in this order, so values copy unchanged.
func matrixShape(p nn.Param) tensor.Shape {
	if len(p.Shape) == 4 && p.Shape[3] == 1 && p.Shape[0] == 3 { // depthwise [3 3 C 1]
		return tensor.Shape{9, p.Shape[2]}
	}
	last := p.Shape[len(p.Shape)-1]
	return tensor.Shape{p.Size() / last, last}
}

// New returns a Net holding a copy of w, so imported or freshly initialised
// weights train on. Metadata (classes, input size, provenance) is kept for
// Weights; calibration (temperature, OOD statistics) is dropped, since training
// makes it stale: refit it on the trained network.
func New(w *nn.Weights) (*Net, error) {
	if w == nil {
		return nil, errors.New("train: no weights")
	}
	n := &Net{meta: w.Meta(), values: map[string]*tensor.Dense{}} // Meta is already a deep copy
	n.meta.Temperature, n.meta.OODThreshold = 0, 0
	for _, p := range nn.Params() {
		v := w.Tensor(p.Name)
		if len(v) != p.Size() {
			return nil, fmt.Errorf("train: tensor %q has %d values, want %d", p.Name, len(v), p.Size())
		}
		n.values[p.Name] = tensor.New(tensor.WithShape(matrixShape(p)...), tensor.WithBacking(slices.Clone(v)))
	}
	return n, nil
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Weights exports a copy of the current values, moving statistics included,
// as validated nn.Weights with the Net's metadata (set with SetMetadata).
func (n *Net) Weights() (*nn.Weights, error) {
	tensors := make(map[string][]float32, len(n.values))
	for name, v := range n.values {
		tensors[name] = slices.Clone(v.Data().([]float32))
	}
	meta := n.meta
	meta.Extra = cloneMap(n.meta.Extra)
	w, err := nn.NewWeights(meta, tensors)
	if err != nil {
		return nil, fmt.Errorf("train: export: %w", err)
	}
	return w, nil
}

// Metadata returns the metadata Weights will carry.
func (n *Net) Metadata() nn.Metadata { return n.meta }

// SetMetadata sets the metadata Weights will carry (for example what data
// trained the weights, and their metrics). It is validated on export.
func (n *Net) SetMetadata(m nn.Metadata) { n.meta = m }

// Prediction is the network's output for one image.
type Prediction struct {
	Logits [nn.NumClasses]float32 // pre-softmax scores, in nn.ClassNames order
	Probs  [nn.NumClasses]float32 // softmax of Logits
}

// Predict runs the network in inference mode (batch normalization with the
// moving statistics) on a batch of images: NHWC float32 RGB in [0,1], of size
// in each, concatenated (preprocess with nn.Preprocessor). The inference graph
// is built on first use and kept, with its buffers, while the batch and input
// sizes stay the same. It agrees with nn.Model.Forward to 1e-5.
func (n *Net) Predict(images []float32, batch int, in nn.Dims) ([]Prediction, error) {
	gr := n.infer
	if gr == nil || gr.batch != batch || gr.in != in {
		var err error
		if gr, err = build(n, batch, in, inference, tensor.Float32); err != nil {
			return nil, err
		}
		n.infer = gr
	}
	if err := gr.setInput(images); err != nil {
		return nil, err
	}
	defer gr.vm.Reset()
	if err := gr.exec(); err != nil {
		return nil, fmt.Errorf("train: predict: %w", err)
	}
	logits := gr.logits.Value().Data().([]float32)
	probs := gr.probs.Value().Data().([]float32)
	out := make([]Prediction, batch)
	for i := range out {
		copy(out[i].Logits[:], logits[i*nn.NumClasses:])
		copy(out[i].Probs[:], probs[i*nn.NumClasses:])
	}
	return out, nil
}
