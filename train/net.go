package train

import (
	"errors"
	"fmt"
	"math"
	"slices"

	G "gorgonia.org/gorgonia"
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
	n := &Net{meta: w.Meta, values: map[string]*tensor.Dense{}}
	n.meta.Extra = cloneMap(w.Meta.Extra)
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
		if gr, err = build(n, batch, in, inference); err != nil {
			return nil, err
		}
		n.infer = gr
	}
	if err := gr.setInput(images); err != nil {
		return nil, err
	}
	defer gr.vm.Reset()
	if err := gr.vm.RunAll(); err != nil {
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

// Config sets up a Trainer.
type Config struct {
	Batch     int     // images per step
	Input     nn.Dims // input size of every image
	LearnRate float64 // Adam's step size; 0 means 1e-3 (Keras's default)

	// ClassWeights, when not nil, weight each image's loss by its class
	// (nn.NumClasses values ≥ 0, as Keras's class_weight); nil weights all alike.
	ClassWeights []float64

	// WarmStartMoving makes the first step set the moving statistics to that
	// batch's own instead of averaging them into the initial ones. From a fresh
	// initialisation (mean 0, variance 1) at momentum 0.99 the initial values
	// take hundreds of steps to fade while real activations are far smaller,
	// and inference with the moving statistics is meaningless until they do.
	WarmStartMoving bool
}

// Trainer trains a Net by Adam on mini-batches of a fixed size. The loss is
// softmax cross-entropy, Σ_i w[y_i]·CE_i / N over the batch (Keras's
// class_weight reduction). Batch normalization normalises with each batch's
// statistics (biased variance, as Keras 3 computes it), and the moving
// statistics follow them with momentum Momentum. Weight decay, augmentation
// and learning-rate schedules are the caller's.
type Trainer struct {
	net     *Net
	gr      *graph
	solver  *G.AdamSolver
	cw      []float32
	target  []float32
	warm    bool // cfg.WarmStartMoving
	updates int  // moving-statistics updates made so far
}

// NewTrainer builds the training graph for net. It shares net's values.
func NewTrainer(net *Net, cfg Config) (*Trainer, error) {
	cw := make([]float32, nn.NumClasses)
	for i := range cw {
		cw[i] = 1
	}
	if cfg.ClassWeights != nil {
		if len(cfg.ClassWeights) != nn.NumClasses {
			return nil, fmt.Errorf("train: %d class weights, want %d", len(cfg.ClassWeights), nn.NumClasses)
		}
		for i, w := range cfg.ClassWeights {
			if !(w >= 0) || math.IsInf(w, 0) {
				return nil, fmt.Errorf("train: class weight %d is %g, want a finite value ≥ 0", i, w)
			}
			cw[i] = float32(w)
		}
	}
	lr := cfg.LearnRate
	if lr == 0 {
		lr = 1e-3
	}
	if !(lr > 0) {
		return nil, fmt.Errorf("train: learning rate %g, want > 0", lr)
	}
	gr, err := build(net, cfg.Batch, cfg.Input, training)
	if err != nil {
		return nil, err
	}
	// Keras's Adam: ε = 1e-7. Gradients are not divided by the batch size
	// again: the loss is already a mean.
	solver := G.NewAdamSolver(G.WithLearnRate(lr), G.WithEps(1e-7), G.WithBatchSize(1))
	return &Trainer{net: net, gr: gr, solver: solver, cw: cw, target: make([]float32, cfg.Batch*nn.NumClasses), warm: cfg.WarmStartMoving}, nil
}

// Step runs one training step on a batch of images (as for Predict) with
// their class indices: forward, loss, gradients, an Adam update of the
// trainable weights and the moving-statistics update. It returns the batch's
// loss before the update.
func (t *Trainer) Step(images []float32, labels []int) (float64, error) {
	gr := t.gr
	if len(labels) != gr.batch {
		return 0, fmt.Errorf("train: %d labels, want %d", len(labels), gr.batch)
	}
	clear(t.target)
	for i, c := range labels {
		if c < 0 || c >= nn.NumClasses {
			return 0, fmt.Errorf("train: label %d of image %d is not a class index", c, i)
		}
		t.target[i*nn.NumClasses+c] = t.cw[c] / float32(gr.batch)
	}
	if err := gr.setInput(images); err != nil {
		return 0, err
	}
	if err := G.Let(gr.target, tensor.New(tensor.WithShape(gr.batch, nn.NumClasses), tensor.WithBacking(t.target))); err != nil {
		return 0, fmt.Errorf("train: %w", err)
	}
	// Gradients accumulate in gorgonia's dual values across runs; the solver
	// zeroes them after an update, but a failed step must not leak into the next.
	if err := gr.zeroGrads(); err != nil {
		return 0, err
	}
	defer gr.vm.Reset()
	if err := gr.vm.RunAll(); err != nil {
		return 0, fmt.Errorf("train: step: %w", err)
	}
	loss := float64(gr.loss.Value().Data().(float32))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, fmt.Errorf("train: loss is %g; weights not updated", loss)
	}
	if err := t.solver.Step(G.NodesToValueGrads(gr.order)); err != nil {
		return loss, fmt.Errorf("train: adam: %w", err)
	}
	momentum := t.nextMomentum()
	for _, s := range gr.stats {
		updateMoving(t.net.values[s.name+"/moving_mean"], s.mean, momentum)
		updateMoving(t.net.values[s.name+"/moving_variance"], s.variance, momentum)
	}
	return loss, nil
}

// nextMomentum returns the momentum of the next moving-statistics update and
// counts it: 0 for a warm start's first update, Momentum otherwise.
func (t *Trainer) nextMomentum() float32 {
	defer func() { t.updates++ }()
	if t.warm && t.updates == 0 {
		return 0
	}
	return Momentum
}

// updateMoving sets moving = moving·momentum + batch·(1−momentum).
func updateMoving(moving *tensor.Dense, batch G.Value, momentum float32) {
	m := moving.Data().([]float32)
	b := batch.Data().([]float32)
	for i := range m {
		m[i] = m[i]*momentum + b[i]*(1-momentum)
	}
}
