package train

import (
	"fmt"
	"runtime"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"papscope/internal/kernel"
	"papscope/nn"
)

// buildError carries an error out of graph construction, which panics (through
// gorgonia.Must) on the first failure and recovers once at the top.
type buildError struct{ err error }

// must returns n, panicking with a buildError when err is not nil.
func must(n *G.Node, err error) *G.Node {
	if err != nil {
		panic(buildError{err})
	}
	return n
}

// catch turns a buildError panic into *err; other panics go on.
func catch(err *error) {
	if r := recover(); r != nil {
		be, ok := r.(buildError)
		if !ok {
			panic(r)
		}
		*err = be.err
	}
}

// scalar returns a constant of x's dtype.
func scalar(x *G.Node, v float64) *G.Node {
	if x.Dtype() == tensor.Float64 {
		return G.NewConstant(v)
	}
	return G.NewConstant(float32(v))
}

// rowBroadcast is the broadcast pattern of a (1, C) operand against an (M, C) one.
var rowBroadcast = []byte{0}

// bnStat holds the batch statistics of one batch-normalization layer, as
// float32 (1, C) tensors, written by its op at every run of the graph.
type bnStat struct {
	name           string // Keras layer name
	mean, variance G.Value
}

// recordStats copies a batch's statistics into s.
func recordStats[T float32 | float64](s *bnStat, mean, variance []T) {
	for _, p := range []struct {
		dst *G.Value
		src []T
	}{{&s.mean, mean}, {&s.variance, variance}} {
		if *p.dst == nil {
			*p.dst = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(1, len(p.src)))
		}
		d := (*p.dst).Data().([]float32)
		for i, v := range p.src {
			d[i] = float32(v)
		}
	}
}

// mode is what a graph is built for.
type mode int

const (
	inference  mode = iota // batch normalization with the moving statistics; softmax probabilities
	statistics             // batch normalization with the batch's statistics, recorded; forward only
	training               // statistics, plus the loss and the gradients of the trainable parameters
)

// graph is the network for one batch size and input size, built for one mode.
type graph struct {
	g      *G.ExprGraph
	vm     G.VM
	dt     tensor.Dtype // Float32, or Float64 for reference computations
	batch  int
	in     nn.Dims
	input  *G.Node            // (N, H, W, 3)
	logits *G.Node            // (N, 4)
	probs  *G.Node            // (N, 4), inference mode only
	params map[string]*G.Node // trainable parameters by Keras name
	order  G.Nodes            // trainable parameters in nn.Params order

	stats []*bnStat // statistics and training modes
	clock *opClock  // run times of the graph's papscope ops
	ops   []*op     // the graph's papscope ops, which share its arena

	// training mode only
	target *G.Node // (N, 4): one-hot labels times class weights, divided by N
	loss   *G.Node // scalar
}

// build constructs the network graph over n's values, walking nn.Architecture,
// computing in dt: tensor.Float32, or tensor.Float64 for a reference
// computation over float64 copies of the values (which the solver cannot update).
func build(n *Net, batch int, in nn.Dims, m mode, dt tensor.Dtype) (gr *graph, err error) {
	if batch < 1 {
		return nil, fmt.Errorf("train: batch size %d, want at least 1", batch)
	}
	if err := nn.CheckInput(in); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer catch(&err)
	workers := runtime.GOMAXPROCS(0)
	g := G.NewGraph()
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return nil, fmt.Errorf("train: dtype %v, want float32 or float64", dt)
	}
	gr = &graph{g: g, dt: dt, batch: batch, in: in, params: map[string]*G.Node{}, clock: &opClock{}}
	trainable := map[string]bool{}
	for _, p := range nn.Params() {
		trainable[p.Name] = p.Trainable
	}
	// Parameter nodes are bound to the Net's tensors themselves, not copies:
	// the solver updates them in place, and every graph of the Net sees it.
	node := func(name string) *G.Node {
		var v tensor.Tensor = n.values[name]
		if dt == tensor.Float64 {
			v = tensor.New(tensor.WithShape(v.Shape()...), tensor.WithBacking(kernel.Convert[float64](v.Data().([]float32))))
		}
		nd := G.NewTensor(g, dt, v.Dims(), G.WithShape(v.Shape()...), G.WithValue(v), G.WithName(name))
		if trainable[name] {
			gr.params[name] = nd
		}
		return nd
	}
	affine := func(x *G.Node, layer string, act nn.Activation) *G.Node {
		z := must(G.Mul(x, node(layer+"/kernel")))
		z = must(G.BroadcastAdd(z, node(layer+"/bias"), nil, rowBroadcast))
		if act == nn.ReLU {
			z = must(G.Rectify(z))
		}
		return z
	}

	type act struct {
		x *G.Node
		g geom // spatial geometry; zero after global pooling
	}
	acts := map[string]act{}
	var last string
	arch := nn.Architecture()
	reluInto := fusedReLUs(arch)
	bnStates := map[string]*bnState{} // of the batch norms a conv's ReLU is fused into
	fuse := func(o *op) *op {
		if bn := reluInto[o.layer]; bn != "" {
			o.nextBN = &bnState{wantDx: true}
			bnStates[bn] = o.nextBN
		}
		return o
	}
	for _, l := range arch {
		var a act
		var src act
		if len(l.Inputs) > 0 {
			src = acts[l.Inputs[0]]
		}
		switch l.Kind {
		case nn.Input:
			gr.input = G.NewTensor(g, dt, 4, G.WithShape(batch, in.Height, in.Width, 3), G.WithName("input"))
			a = act{gr.input, geom{N: batch, H: in.Height, W: in.Width, C: 3}}
		case nn.Conv2D:
			if l.KernelSize != 3 || l.Stride != 2 || l.SamePad || l.InChannels != 3 || l.Activation != nn.ReLU {
				return nil, fmt.Errorf("train: %s: only a 3×3 stride-2 valid conv with ReLU on the RGB input is supported", l.Name)
			}
			o := fuse(&op{kind: opConv1, g: src.g, o: l.OutChannels(), layer: l.Name, relu: reluInto[l.Name] == "", workers: workers, clock: gr.clock})
			a = act{must(applyOp(o, src.x, node(l.Name+"/kernel"), node(l.Name+"/bias"))), src.g.Pooled(l.OutChannels())}
		case nn.SeparableConv2D:
			if l.KernelSize != 3 || l.Stride != 1 || !l.SamePad || l.Activation != nn.ReLU {
				return nil, fmt.Errorf("train: %s: only 3×3 stride-1 same separable convs with ReLU are supported", l.Name)
			}
			o := fuse(&op{kind: opSepConv, g: src.g, o: l.OutChannels(), layer: l.Name, relu: reluInto[l.Name] == "", workers: workers, clock: gr.clock})
			z := must(applyOp(o, src.x, node(l.Name+"/depthwise_kernel"), node(l.Name+"/pointwise_kernel"), node(l.Name+"/bias")))
			a = act{z, geom{N: src.g.N, H: src.g.H, W: src.g.W, C: l.OutChannels()}}
		case nn.BatchNorm:
			o := &op{kind: opBatchNorm, g: src.g, layer: l.Name, relu: reluInto[l.Inputs[0]] == l.Name, bn: bnStates[l.Name], workers: workers, clock: gr.clock}
			args := []*G.Node{src.x, node(l.Name + "/gamma"), node(l.Name + "/beta")}
			if m == inference {
				o.kind = opBatchNormInfer
				args = append(args, node(l.Name+"/moving_mean"), node(l.Name+"/moving_variance"))
			} else {
				o.stats = &bnStat{name: l.Name}
				gr.stats = append(gr.stats, o.stats)
			}
			a = act{must(applyOp(o, args...)), src.g}
		case nn.MaxPool2D:
			if l.KernelSize != 3 || l.Stride != 2 || l.SamePad {
				return nil, fmt.Errorf("train: %s: only a 3×3 stride-2 valid max-pool is supported", l.Name)
			}
			o := &op{kind: opMaxPool, g: src.g, layer: l.Name, workers: workers, clock: gr.clock}
			a = act{must(applyOp(o, src.x)), src.g.Pooled(src.g.C)}
		case nn.Add:
			o := &op{kind: opAdd, g: src.g, layer: l.Name, workers: workers, clock: gr.clock}
			a = act{must(applyOp(o, src.x, acts[l.Inputs[1]].x)), src.g}
		case nn.GlobalAvgPool2D:
			o := &op{kind: opGlobalPool, g: src.g, layer: l.Name, workers: workers, clock: gr.clock}
			a = act{must(applyOp(o, src.x)), geom{}}
		case nn.Dense:
			a = act{affine(src.x, l.Name, l.Activation), geom{}}
		default:
			return nil, fmt.Errorf("train: %s: layer kind %v is not supported", l.Name, l.Kind)
		}
		acts[l.Name] = a
		last = l.Name
	}
	// The last layer's softmax is left out of the walk: affine applied no activation to it.
	gr.logits = acts[last].x
	for _, p := range nn.Params() {
		if nd, ok := gr.params[p.Name]; ok {
			gr.order = append(gr.order, nd)
		}
	}
	switch m {
	case inference:
		gr.probs = must(G.SoftMax(gr.logits))
		fallthrough
	case statistics:
		gr.ops = planArena(g)
		gr.vm = G.NewTapeMachine(g)
		return gr, nil
	}
	// Weighted softmax cross-entropy, Keras's way: Σ_i w_{y_i}·CE_i / N. The
	// weights and 1/N are folded into the target. (No SoftMax node here: gorgonia
	// hashes SoftMax and LogSoftMax of one node alike and would merge them.)
	gr.target = G.NewMatrix(g, dt, G.WithShape(batch, nn.NumClasses), G.WithName("target"))
	logp := must(G.LogSoftMax(gr.logits))
	gr.loss = must(G.Neg(must(G.Sum(must(G.HadamardProd(logp, gr.target))))))
	if _, err := G.Grad(gr.loss, gr.order...); err != nil {
		return nil, fmt.Errorf("train: gradients: %w", err)
	}
	gr.ops = planArena(g)
	gr.vm = G.NewTapeMachine(g, G.BindDualValues(gr.order...))
	return gr, nil
}

// exec runs the graph once; the caller resets the machine after reading
// the values it needs.
func (gr *graph) exec() error {
	gr.ops[0].arena.reset(gr.ops)
	return gr.vm.RunAll()
}

// fusedReLUs returns, for each convolution whose ReLU its batch
// normalization applies instead, that normalization's name: the convolutions
// with a ReLU whose only consumer is a batch normalization.
func fusedReLUs(arch []nn.Layer) map[string]string {
	consumers := map[string][]nn.Layer{}
	for _, l := range arch {
		for _, in := range l.Inputs {
			consumers[in] = append(consumers[in], l)
		}
	}
	fused := map[string]string{}
	for _, l := range arch {
		if (l.Kind == nn.Conv2D || l.Kind == nn.SeparableConv2D) && l.Activation == nn.ReLU {
			if c := consumers[l.Name]; len(c) == 1 && c[0].Kind == nn.BatchNorm {
				fused[l.Name] = c[0].Name
			}
		}
	}
	return fused
}

// setInput copies a batch of NHWC images into the input node's value.
func (gr *graph) setInput(images []float32) error {
	want := gr.batch * gr.in.Height * gr.in.Width * 3
	if len(images) != want {
		return fmt.Errorf("train: input has %d values, want %d for %d images of %dx%dx3", len(images), want, gr.batch, gr.in.Height, gr.in.Width)
	}
	return G.Let(gr.input, gr.tensor(images, gr.batch, gr.in.Height, gr.in.Width, 3))
}

// tensor wraps v, or a float64 copy of it in a float64 graph, as a tensor of shape.
func (gr *graph) tensor(v []float32, shape ...int) *tensor.Dense {
	if gr.dt == tensor.Float64 {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(kernel.Convert[float64](v)))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
}

// zeroGrads clears the gradients of the trainable parameters.
func (gr *graph) zeroGrads() error {
	for _, n := range gr.order {
		g, err := n.Grad()
		if err != nil {
			return fmt.Errorf("train: gradient of %s: %w", n.Name(), err)
		}
		if g == nil {
			continue // before the first run
		}
		t, ok := g.(tensor.Tensor)
		if !ok {
			return fmt.Errorf("train: gradient of %s is %T", n.Name(), g)
		}
		t.Zero()
	}
	return nil
}
