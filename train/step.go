package train

import (
	"fmt"
	"math"
	"slices"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"papscope/nn"
)

// This file holds the training step: a Trainer's forward, backward and Adam
// update on one batch. Its ops split their work across the cores.

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
	right   int  // images of the last run whose logits put the true class on top
}

// NewTrainer builds the training graph for net. It shares net's values.
func NewTrainer(net *Net, cfg Config) (*Trainer, error) {
	return newTrainer(net, cfg, tensor.Float32)
}

// newTrainer builds a Trainer computing in dt (see build).
func newTrainer(net *Net, cfg Config, dt tensor.Dtype) (*Trainer, error) {
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
	gr, err := build(net, cfg.Batch, cfg.Input, training, dt)
	if err != nil {
		return nil, err
	}
	// Keras's Adam: ε = 1e-7. Gradients are not divided by the batch size
	// again: the loss is already a mean.
	solver := G.NewAdamSolver(G.WithLearnRate(lr), G.WithEps(1e-7), G.WithBatchSize(1))
	return &Trainer{net: net, gr: gr, solver: solver, cw: cw, target: make([]float32, cfg.Batch*nn.NumClasses), warm: cfg.WarmStartMoving}, nil
}

// SetLearnRate changes Adam's step size for the steps that follow (a
// schedule's work); Adam's moment estimates are kept.
func (t *Trainer) SetLearnRate(lr float64) {
	G.WithLearnRate(lr)(t.solver)
}

// Step runs one training step on a batch of images (as for Predict) with
// their class indices: forward, loss, gradients, an Adam update of the
// trainable weights and the moving-statistics update. It returns the batch's
// loss before the update.
func (t *Trainer) Step(images []float32, labels []int) (float64, error) {
	loss, err := t.run(images, labels)
	if err != nil {
		return loss, err
	}
	gr := t.gr
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

// Gradients runs the forward and backward passes of a step on a batch, without
// updating anything, and returns the loss and a copy of the gradient of every
// trainable parameter by Keras name, in the parameter's matrix layout (the
// row-major order of its Keras shape). It is for checking the trainer against
// another implementation.
func (t *Trainer) Gradients(images []float32, labels []int) (float64, map[string][]float32, error) {
	loss, err := t.run(images, labels)
	if err != nil {
		return loss, nil, err
	}
	grads := map[string][]float32{}
	for _, nd := range t.gr.order {
		g, err := gradData(nd)
		if err != nil {
			return loss, nil, err
		}
		grads[nd.Name()] = slices.Clone(g)
	}
	return loss, grads, t.gr.zeroGrads()
}

// ReferenceGradients computes what Trainer.Gradients does, in float64 over a
// copy of net's values. Through the network's 17 batch normalizations float32
// rounding alone moves gradients by about 1e-3 relative (in PyTorch as here),
// so this is the form to check against another implementation in float64;
// it is slow and changes nothing.
func ReferenceGradients(net *Net, cfg Config, images []float32, labels []int) (float64, map[string][]float64, error) {
	t, err := newTrainer(net, cfg, tensor.Float64)
	if err != nil {
		return 0, nil, err
	}
	loss, err := t.run(images, labels)
	if err != nil {
		return loss, nil, err
	}
	grads := map[string][]float64{}
	for _, nd := range t.gr.order {
		g, err := nd.Grad()
		if err != nil {
			return loss, nil, fmt.Errorf("train: gradient of %s: %w", nd.Name(), err)
		}
		d, ok := g.Data().([]float64)
		if !ok {
			return loss, nil, fmt.Errorf("train: gradient of %s is %T", nd.Name(), g.Data())
		}
		grads[nd.Name()] = slices.Clone(d)
	}
	return loss, grads, nil
}

// OpTimes returns the time spent in each kind of papscope op of the training
// graph since the last call (or since NewTrainer), by op name, and starts
// counting afresh. Time in gorgonia's own ops (the dense head, the residual
// additions, the loss) and in Adam is not in it.
func (t *Trainer) OpTimes() map[string]time.Duration { return t.gr.clock.take() }

// run sets the batch and the labels' weighted one-hot targets, and runs the
// graph: the loss and the gradients.
func (t *Trainer) run(images []float32, labels []int) (float64, error) {
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
	if err := G.Let(gr.target, gr.tensor(t.target, gr.batch, nn.NumClasses)); err != nil {
		return 0, fmt.Errorf("train: %w", err)
	}
	// Gradients accumulate in gorgonia's dual values across runs; the solver
	// zeroes them after an update, but a failed step must not leak into the next.
	if err := gr.zeroGrads(); err != nil {
		return 0, err
	}
	defer gr.vm.Reset()
	if err := gr.exec(); err != nil {
		return 0, fmt.Errorf("train: step: %w", err)
	}
	t.right = correct(gr, labels)
	var loss float64
	switch v := gr.loss.Value().Data().(type) {
	case float32:
		loss = float64(v)
	case float64:
		loss = v
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, fmt.Errorf("train: loss is %g; weights not updated", loss)
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

// correct counts the images of the last run of gr whose training-mode logits
// (before the update) put the true class on top.
func correct(gr *graph, labels []int) int {
	v := gr.logits.Value()
	if v == nil {
		return 0
	}
	logits, ok := v.Data().([]float32)
	if !ok || len(logits) < len(labels)*nn.NumClasses {
		return 0
	}
	right := 0
	for i, c := range labels {
		row := logits[i*nn.NumClasses : (i+1)*nn.NumClasses]
		if int(nn.Argmax(row)) == c {
			right++
		}
	}
	return right
}

// gradData returns a parameter node's gradient values.
func gradData(nd *G.Node) ([]float32, error) {
	g, err := nd.Grad()
	if err != nil {
		return nil, fmt.Errorf("train: gradient of %s: %w", nd.Name(), err)
	}
	d, ok := g.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("train: gradient of %s is %T", nd.Name(), g.Data())
	}
	return d, nil
}
