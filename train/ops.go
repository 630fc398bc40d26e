package train

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"
	"sync"
	"time"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"papscope/internal/kernel"
	"papscope/nn"
)

// geom is the N×H×W×C geometry behind an activation matrix of shape (N·H·W, C).
type geom = kernel.Geom

// opKind says what an op computes. Shapes: M = N·H·W pixels of the op's
// geometry g, C = g.C input channels, O the op's output channels.
type opKind int

const (
	opConv1               opKind = iota // (img (N,H,W,3), k (27,O), b (1,O)) → [relu](patches·k + b) (N·OH·OW, O): the 3×3 stride-2 valid conv1
	opConv1GradKernel                   // (img, gy (N·OH·OW, O)) → (27, O): patchesᵀ·gy
	opSepConv                           // (x (M,C), dk (9,C), pk (C,O), b (1,O)) → [relu](depthwise(x)·pk + b) (M,O)
	opDepthwiseSaved                    // y (M,O) of a SepConv → (M,C): the depthwise output that SepConv's forward pass kept
	opDepthwiseGradInput                // (dk (9,C), dd (M,C)) → (M,C)
	opDepthwiseGradKernel               // (x (M,C), dd (M,C)) → (9,C)
	opReLUGrad                          // (y (M,O), dy (M,O)) → dy where y > 0 (M,O)
	opColumnSums                        // g (M,O) → (1,O)
	opGemmTN                            // (a (M,C), b (M,O)) → aᵀ·b (C,O)
	opGemmNT                            // (g (M,O), w (C,O)) → g·wᵀ (M,C)
	opBatchNorm                         // (x (M,C), gamma (1,C), beta (1,C)) → (M,C), with the batch's statistics (recorded)
	opBatchNormGradInput                // (x, gamma, dy) → (M,C)
	opBatchNormGradGamma                // (x, dy) → (1,C)
	opBatchNormGradBeta                 // (x, dy) → (1,C)
	opBatchNormInfer                    // (x, gamma, beta, mean (1,C), variance (1,C)) → (M,C)
	opMaxPool                           // x (M,C) → (N·PH·PW, C): 3×3 stride-2 valid max-pool
	opMaxPoolGrad                       // (x (M,C), y, dy) → (M,C): dy to each window's first maximum
	opGlobalPool                        // x (M,C) → (N,C): mean over each image's pixels
	opGlobalPoolGrad                    // dy (N,C) → (M,C)
	opAdd                               // (a (M,C), b (M,C)) → a + b: a residual connection
)

var opNames = [...]string{"Conv1", "Conv1GradKernel", "SepConv", "DepthwiseSaved", "Depthwise3x3GradInput", "Depthwise3x3GradKernel",
	"ReLUGrad", "ColumnSums", "GemmTN", "GemmNT", "BatchNorm", "BatchNormGradInput", "BatchNormGradGamma", "BatchNormGradBeta", "BatchNormInfer",
	"MaxPool3x3s2", "MaxPool3x3s2Grad", "GlobalAvgPool", "GlobalAvgPoolGrad", "Add"}

// op is a gorgonia operation computed by papscope's kernels (package
// kernel) on float32 or float64 data. Its geometry is fixed when the graph is
// built, so shapes are known statically. The forward ops (conv1, separable
// conv, batch norm, pools) carry hand-written gradients, built by SymDiff
// from the other kinds.
//
// A convolution's ReLU is applied either by the convolution (relu on it) or,
// when the convolution's only consumer is a batch normalization, by that
// normalization (relu on it): then the ReLU's output and its gradient are
// never written out, and the normalization's input gradient comes masked.
type op struct {
	kind    opKind
	g       geom   // geometry of the op's spatial input
	o       int    // output channels, where the kind has them
	layer   string // the Keras layer it belongs to: keeps ops of different layers apart in gorgonia's hashing
	relu    bool   // conv kinds: apply a ReLU to the output; batch-norm kinds: to the input
	workers int    // goroutines the kernels may use
	stats   *bnStat
	bn      *bnState // batch-norm kinds: what the forward pass leaves for the gradients
	nextBN  *bnState // conv kinds with the ReLU fused into the batch norm after: that norm's state
	conv    *op      // opDepthwiseSaved: the SepConv whose depthwise output it is
	clock   *opClock // where the op's run times go; nil for none

	// In a graph's ops the output arrays come from the graph's arena: backing
	// is this run's, readers the ops that read it, pending those still to
	// run, producers the ops whose outputs this one reads. An op on its own
	// (in tests) keeps its output in out. scratch is SepConv's depthwise
	// output, which its opDepthwiseSaved (saver) hands on.
	arena     *arena
	backing   any
	readers   int
	pending   int
	producers []*op
	out       *tensor.Dense
	scratch   any
	saver     *op
}

// buffer returns the op's output buffer of the given dtype and shape,
// allocating it on first use.
func (o *op) buffer(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	if o.out == nil || o.out.Dtype() != dt || o.out.Size() != shape.TotalSize() {
		o.out = tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	}
	if !o.out.Shape().Eq(shape) { // a gorgonia op given it as its preallocated output may have reshaped it
		if err := o.out.Reshape(shape...); err != nil {
			o.out = tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
		}
	}
	return o.out
}

// bnState is what a batch normalization's forward pass leaves for its
// gradient ops in the same run of the graph: the batch's mean and 1/σ, and
// the column sums Σdy and Σdy·(x̃ − μ) that all three gradients need,
// computed once by whichever gradient runs first.
//
// When the normalization's input is a convolution's output (its ReLU fused
// in), the input-gradient pass also sums its output by column (sumDx), which
// is that convolution's bias gradient.
type bnState struct {
	mean, invStd   []float64
	sumDy, sumDyXc []float64
	runs, summed   int // forward runs so far; the run whose sums are held
	wantDx         bool
	sumDx          []float64
	dxRun          int // the run whose sumDx is held
}

// gradSums returns the run's Σdy and Σdy·(x̃ − μ), computing them on first use.
func gradSums[T float32 | float64](o *op, x, dy []T) (sumDy, sumDyXc []float64) {
	st := o.bn
	if st.summed != st.runs {
		c := o.g.C
		if len(st.sumDy) != c {
			st.sumDy, st.sumDyXc = make([]float64, c), make([]float64, c)
		}
		kernel.ColumnGradSums(st.sumDy, st.sumDyXc, dy, x, st.mean, o.g.Pixels(), c, o.relu, o.workers)
		st.summed = st.runs
	}
	return st.sumDy, st.sumDyXc
}

// scratchOf returns n values of scratch space for the op: from the arena for
// this run, or kept by the op when it has none.
func scratchOf[T float32 | float64](o *op, n int) []T {
	if o.arena != nil {
		var zero T
		dt := tensor.Float32
		if _, ok := any(zero).(float64); ok {
			dt = tensor.Float64
		}
		s := o.arena.get(dt, n).([]T)
		o.scratch = s
		return s
	}
	s, ok := o.scratch.([]T)
	if !ok || len(s) < n {
		s = make([]T, n)
		o.scratch = s
	}
	return s[:n]
}

// opClock sums the run time of a graph's ops by kind. Ops of one graph run
// one at a time, but a graph may be used from several goroutines in turn.
type opClock struct {
	mu    sync.Mutex
	spent [len(opNames)]time.Duration
}

// add charges d to kind k.
func (c *opClock) add(k opKind, d time.Duration) {
	c.mu.Lock()
	c.spent[k] += d
	c.mu.Unlock()
}

// take returns the times by op name and resets them.
func (c *opClock) take() map[string]time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]time.Duration{}
	for k, d := range c.spent {
		if d > 0 {
			out[opNames[k]] = d
		}
	}
	c.spent = [len(opNames)]time.Duration{}
	return out
}

func (o *op) String() string {
	relu := ""
	if o.relu {
		relu = " relu"
	}
	return fmt.Sprintf("%s{%d,%d,%d,%d→%d %s%s}", opNames[o.kind], o.g.N, o.g.H, o.g.W, o.g.C, o.o, o.layer, relu)
}

// shapes returns the shape of each input and of the output.
func (o *op) shapes() (in []tensor.Shape, out tensor.Shape) {
	g := o.g
	m, c := g.Pixels(), g.C
	full, row := tensor.Shape{m, c}, tensor.Shape{1, c}
	outFull := tensor.Shape{m, o.o}
	img := tensor.Shape{g.N, g.H, g.W, 3}
	p := g.Pooled(c)
	switch o.kind {
	case opConv1:
		return []tensor.Shape{img, {27, o.o}, {1, o.o}}, tensor.Shape{p.Pixels(), o.o}
	case opConv1GradKernel:
		return []tensor.Shape{img, {p.Pixels(), o.o}}, tensor.Shape{27, o.o}
	case opSepConv:
		return []tensor.Shape{full, {9, c}, {c, o.o}, {1, o.o}}, outFull
	case opDepthwiseSaved:
		return []tensor.Shape{outFull}, full
	case opDepthwiseGradInput:
		return []tensor.Shape{{9, c}, full}, full
	case opDepthwiseGradKernel:
		return []tensor.Shape{full, full}, tensor.Shape{9, c}
	case opReLUGrad:
		return []tensor.Shape{outFull, outFull}, outFull
	case opColumnSums:
		return []tensor.Shape{outFull}, tensor.Shape{1, o.o}
	case opGemmTN:
		return []tensor.Shape{full, outFull}, tensor.Shape{c, o.o}
	case opGemmNT:
		return []tensor.Shape{outFull, {c, o.o}}, full
	case opBatchNorm:
		return []tensor.Shape{full, row, row}, full
	case opBatchNormGradInput:
		return []tensor.Shape{full, row, full}, full
	case opBatchNormGradGamma, opBatchNormGradBeta:
		return []tensor.Shape{full, full}, row
	case opBatchNormInfer:
		return []tensor.Shape{full, row, row, row, row}, full
	case opMaxPool:
		return []tensor.Shape{full}, tensor.Shape{p.Pixels(), c}
	case opMaxPoolGrad:
		return []tensor.Shape{full, {p.Pixels(), c}, {p.Pixels(), c}}, full
	case opGlobalPool:
		return []tensor.Shape{full}, tensor.Shape{g.N, c}
	case opGlobalPoolGrad:
		return []tensor.Shape{{g.N, c}}, full
	case opAdd:
		return []tensor.Shape{full, full}, full
	}
	panic("train: unknown op kind")
}

// applyOp adds the op to the graph.
func applyOp(o *op, inputs ...*G.Node) (*G.Node, error) { return G.ApplyOp(o, inputs...) }

// derived returns an op of another kind on the same geometry, layer, ReLU
// placement and batch-norm state.
func (o *op) derived(k opKind) *op {
	return &op{kind: k, g: o.g, o: o.o, layer: o.layer, relu: o.relu, bn: o.bn, workers: o.workers, clock: o.clock}
}

// Arity implements gorgonia.Op.
func (o *op) Arity() int { in, _ := o.shapes(); return len(in) }

// Type implements gorgonia.Op: every input and the output are tensors of one dtype.
func (o *op) Type() hm.Type {
	a := hm.TypeVariable('a')
	in, out := o.shapes()
	ts := make([]hm.Type, 0, len(in)+1)
	for _, s := range in {
		ts = append(ts, &G.TensorType{Dims: s.Dims(), Of: a})
	}
	ts = append(ts, &G.TensorType{Dims: out.Dims(), Of: a})
	return hm.NewFnType(ts...)
}

// InferShape implements gorgonia.Op; the shape follows from the op's geometry.
func (o *op) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	in, out := o.shapes()
	if len(inputs) != len(in) {
		return nil, fmt.Errorf("%v: %d inputs, want %d", o, len(inputs), len(in))
	}
	for i, x := range inputs {
		if s, ok := x.(tensor.Shape); ok && !s.Eq(in[i]) {
			return nil, fmt.Errorf("%v: input %d has shape %v, want %v", o, i, s, in[i])
		}
	}
	return out, nil
}

// Do implements gorgonia.Op.
func (o *op) Do(inputs ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, inputs...) }

// UsePreallocDo implements gorgonia.UsePreallocDoer: the output is written
// into prealloc when it has the output's shape and dtype (the tape machine
// passes the value of the last run), else into a new tensor.
func (o *op) UsePreallocDo(prealloc G.Value, inputs ...G.Value) (G.Value, error) {
	in, outShape := o.shapes()
	if len(inputs) != len(in) {
		return nil, fmt.Errorf("%v: %d inputs, want %d", o, len(inputs), len(in))
	}
	ts := make([]*tensor.Dense, len(inputs))
	for i, v := range inputs {
		t, ok := v.(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("%v: input %d is %T, want *tensor.Dense", o, i, v)
		}
		if !t.Shape().Eq(in[i]) {
			return nil, fmt.Errorf("%v: input %d has shape %v, want %v", o, i, t.Shape(), in[i])
		}
		if i > 0 && t.Dtype() != ts[0].Dtype() {
			return nil, fmt.Errorf("%v: inputs of mixed dtypes", o)
		}
		ts[i] = t
	}
	dt := ts[0].Dtype()
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return nil, fmt.Errorf("%v: unsupported dtype %v", o, dt)
	}
	defer o.releaseInputs()
	if o.kind == opDepthwiseSaved {
		return o.saved(outShape)
	}
	// prealloc is not used: the tape machine gives every papscope op a
	// register of its own, empty at each run.
	var out *tensor.Dense
	if o.arena != nil {
		o.backing = o.arena.get(dt, outShape.TotalSize())
		out = tensor.New(tensor.WithShape(outShape...), tensor.WithBacking(o.backing))
	} else {
		out = o.buffer(dt, outShape)
	}
	if o.clock != nil {
		defer func(t0 time.Time) { o.clock.add(o.kind, time.Since(t0)) }(time.Now())
	}
	if dt == tensor.Float32 {
		compute(o, out.Data().([]float32), data[float32](ts)...)
	} else {
		compute(o, out.Data().([]float64), data[float64](ts)...)
	}
	if o.kind == opSepConv && o.saver == nil && o.arena != nil {
		o.arena.put(o.scratch) // no gradient reads the depthwise output
	}
	return out, nil
}

// releaseInputs counts this op's run for the ops whose outputs it read, and
// gives the arena back the outputs that no op still to run reads.
func (o *op) releaseInputs() {
	for _, p := range o.producers {
		p.pending--
		if p.pending == 0 && p.readers > 0 && p.backing != nil {
			p.arena.put(p.backing)
			p.backing = nil
		}
	}
}

// saved returns the depthwise output its SepConv's forward pass kept, as a
// tensor of the given shape over the SepConv's scratch space (which it then
// holds for the arena).
func (o *op) saved(shape tensor.Shape) (G.Value, error) {
	n := shape.TotalSize()
	o.backing = o.conv.scratch
	switch d := o.conv.scratch.(type) {
	case []float32:
		if len(d) >= n {
			return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d[:n])), nil
		}
	case []float64:
		if len(d) >= n {
			return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d[:n])), nil
		}
	}
	return nil, fmt.Errorf("%v: the separable convolution has not run", o)
}

func data[T float32 | float64](ts []*tensor.Dense) [][]T {
	out := make([][]T, len(ts))
	for i, t := range ts {
		out[i] = t.Data().([]T)
	}
	return out
}

// ReturnsPtr implements gorgonia.Op.
func (o *op) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (o *op) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op.
func (o *op) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op.
func (o *op) WriteHash(h hash.Hash) { fmt.Fprint(h, o.String()) }

// Hashcode implements gorgonia.Op.
func (o *op) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

// DiffWRT implements gorgonia.SDOp: the forward kinds are differentiable in
// every input but conv1's image (the network's input needs no gradient).
func (o *op) DiffWRT(inputs int) []bool {
	ok := make([]bool, inputs)
	switch o.kind {
	case opConv1:
		ok[1], ok[2] = true, true
	case opSepConv, opBatchNorm, opMaxPool, opGlobalPool, opAdd:
		for i := range ok {
			ok[i] = true
		}
	}
	return ok
}

// SymDiff implements gorgonia.SDOp: the gradients of the inputs as nodes of
// the gradient kinds.
func (o *op) SymDiff(inputs G.Nodes, output, grad *G.Node) (retVal G.Nodes, err error) {
	if len(inputs) != o.Arity() {
		return nil, fmt.Errorf("%v: %d inputs, want %d", o, len(inputs), o.Arity())
	}
	defer catch(&err)
	node := func(k opKind, args ...*G.Node) *G.Node { return must(applyOp(o.derived(k), args...)) }
	switch o.kind {
	case opConv1:
		// The gradient's elementwise ops work on the output's geometry.
		onOutput := func(k opKind, args ...*G.Node) *G.Node {
			d := o.derived(k)
			d.g = o.g.Pooled(o.o)
			return must(applyOp(d, args...))
		}
		gy := grad
		if o.relu {
			gy = onOutput(opReLUGrad, output, grad)
		}
		return G.Nodes{nil, node(opConv1GradKernel, inputs[0], gy), o.biasGrad(gy, o.g.Pooled(o.o))}, nil
	case opSepConv:
		x, dk, pk := inputs[0], inputs[1], inputs[2]
		gy := grad
		if o.relu {
			gy = node(opReLUGrad, output, grad)
		}
		dd := node(opGemmNT, gy, pk)
		// The depthwise output, as the forward pass kept it; taking the
		// forward's output as input orders it after that pass.
		saved := o.derived(opDepthwiseSaved)
		saved.conv = o
		o.saver = saved
		d := must(applyOp(saved, output))
		return G.Nodes{node(opDepthwiseGradInput, dk, dd), node(opDepthwiseGradKernel, x, dd), node(opGemmTN, d, gy), o.biasGrad(gy, o.g)}, nil
	case opBatchNorm:
		if o.bn == nil {
			o.bn = &bnState{}
		}
		x, gamma := inputs[0], inputs[1]
		return G.Nodes{node(opBatchNormGradInput, x, gamma, grad), node(opBatchNormGradGamma, x, grad), node(opBatchNormGradBeta, x, grad)}, nil
	case opMaxPool:
		return G.Nodes{node(opMaxPoolGrad, inputs[0], output, grad)}, nil
	case opGlobalPool:
		return G.Nodes{node(opGlobalPoolGrad, grad)}, nil
	case opAdd:
		return G.Nodes{grad, grad}, nil
	}
	return nil, fmt.Errorf("%v is not differentiable", o)
}

// biasGrad returns the node of a convolution's bias gradient, the column sums
// of its output gradient gy (on geometry g), taken from the batch norm's
// input-gradient pass when the conv's ReLU is fused into it.
func (o *op) biasGrad(gy *G.Node, g geom) *G.Node {
	d := o.derived(opColumnSums)
	d.g, d.bn = g, o.nextBN
	return must(applyOp(d, gy))
}

// compute runs the op's kernels into out from its inputs.
func compute[T float32 | float64](o *op, out []T, in ...[]T) {
	g, w := o.g, o.workers
	m, c := g.Pixels(), g.C
	switch o.kind {
	case opConv1:
		conv1Forward(out, in[0], in[1], in[2], g, o.o, o.relu, w)
	case opConv1GradKernel:
		conv1GradKernel(out, in[0], in[1], g, o.o, w)
	case opSepConv:
		d := scratchOf[T](o, m*c)
		kernel.Depthwise3x3(d, in[0], in[1], g, w)
		kernel.Gemm(out, d, in[2], m, c, o.o, &kernel.Epilogue[T]{Bias: in[3], ReLU: o.relu}, w)
	case opDepthwiseGradInput:
		kernel.Depthwise3x3GradInput(out, in[0], in[1], g, w)
	case opDepthwiseGradKernel:
		kernel.Depthwise3x3GradKernel(out, in[0], in[1], g, w)
	case opReLUGrad:
		kernel.ReLUGrad(out, in[0], in[1], w)
	case opColumnSums:
		if st := o.bn; st != nil && st.wantDx && st.dxRun == st.runs && len(st.sumDx) == len(out) {
			for j, v := range st.sumDx { // summed by the batch norm's input-gradient pass
				out[j] = T(v)
			}
			break
		}
		kernel.ColumnSums(out, in[0], m, o.o, w)
	case opGemmTN:
		kernel.GemmTN(out, in[0], in[1], m, c, o.o, false, w)
	case opGemmNT:
		kernel.GemmNT(out, in[0], in[1], m, o.o, c, w)
	case opBatchNorm:
		batchNormForward(out, in[0], in[1], in[2], o, w)
	case opBatchNormGradInput:
		batchNormGradInput(out, in[0], in[1], in[2], o)
	case opBatchNormGradGamma:
		_, sumDyXc := gradSums(o, in[0], in[1])
		for j := range out {
			out[j] = T(sumDyXc[j] * o.bn.invStd[j])
		}
	case opBatchNormGradBeta:
		sumDy, _ := gradSums(o, in[0], in[1])
		for j := range out {
			out[j] = T(sumDy[j])
		}
	case opBatchNormInfer:
		scale, shift := make([]T, c), make([]T, c)
		for j := range c {
			scale[j] = in[1][j] * invStd(in[4][j])
			shift[j] = in[2][j] - in[3][j]*scale[j]
		}
		kernel.Affine(out, in[0], scale, shift, m, c, o.relu, w)
	case opMaxPool:
		kernel.MaxPool3x3s2(out, in[0], g, w)
	case opMaxPoolGrad:
		kernel.MaxPool3x3s2Grad(out, in[0], in[1], in[2], g, w)
	case opGlobalPool:
		kernel.GlobalAvgPool(out, in[0], g)
	case opGlobalPoolGrad:
		kernel.GlobalAvgPoolGrad(out, in[0], g)
	case opAdd:
		kernel.Add(out, in[0], in[1], w)
	}
}

// invStd is 1/sqrt(variance + ε), batch normalization's scale before gamma.
func invStd[T float32 | float64](variance T) T {
	return T(1 / math.Sqrt(float64(variance)+nn.BNEpsilon))
}

// conv1Rows is how many output pixels conv1 gathers patches for at a time.
const conv1Rows = 2048

// conv1Width is the width of conv1's patch rows: 27 values padded to a multiple of 4.
const conv1Width = 28

// conv1Forward computes relu(patches(img)·k + b) block by block, so the patch
// matrix never exists whole.
func conv1Forward[T float32 | float64](out, img, k, b []T, g geom, o int, relu bool, workers int) {
	kp := make([]T, conv1Width*o) // k with a zero row for the padding
	copy(kp, k[:27*o])
	ep := &kernel.Epilogue[T]{Bias: b, ReLU: relu}
	rows := g.Pooled(o).Pixels()
	kernel.Rows(rows, workers, conv1Rows, func(lo, hi int) {
		cols := make([]T, conv1Rows*conv1Width)
		for r := lo; r < hi; r += conv1Rows {
			e := min(hi, r+conv1Rows)
			kernel.Im2col3x3s2(cols, img, g, conv1Width, r, e)
			kernel.Gemm(out[r*o:e*o], cols[:(e-r)*conv1Width], kp, e-r, conv1Width, o, ep, 1)
		}
	})
}

// conv1GradKernel computes patches(img)ᵀ·gy block by block.
func conv1GradKernel[T float32 | float64](out, img, gy []T, g geom, o, workers int) {
	rows := g.Pooled(o).Pixels()
	acc := make([]T, conv1Width*o)
	cols := make([]T, conv1Rows*conv1Width)
	for r := 0; r < rows; r += conv1Rows {
		e := min(rows, r+conv1Rows)
		kernel.Im2col3x3s2(cols, img, g, conv1Width, r, e)
		kernel.GemmTN(acc, cols[:(e-r)*conv1Width], gy[r*o:e*o], e-r, conv1Width, o, r > 0, workers)
	}
	copy(out, acc[:27*o])
}

// batchNormForward normalises x̃ (x, or max(x, 0) with a fused ReLU) with
// its own per-channel mean and biased variance, scales by gamma and shifts by
// beta; it leaves the mean and 1/σ in o.bn for the gradients and records the
// statistics in o.stats (float32 graphs).
func batchNormForward[T float32 | float64](y, x, gamma, beta []T, o *op, workers int) {
	m, c := o.g.Pixels(), o.g.C
	if o.bn == nil {
		o.bn = &bnState{}
	}
	st := o.bn
	if len(st.mean) != c {
		st.mean, st.invStd = make([]float64, c), make([]float64, c)
	}
	variance := make([]float64, c)
	kernel.ColumnMoments(st.mean, variance, x, m, c, o.relu, workers)
	scale, shift := make([]T, c), make([]T, c)
	for j := range c {
		st.invStd[j] = 1 / math.Sqrt(variance[j]+nn.BNEpsilon)
		scale[j] = T(float64(gamma[j]) * st.invStd[j])
		shift[j] = T(float64(beta[j]) - st.mean[j]*float64(gamma[j])*st.invStd[j])
	}
	kernel.Affine(y, x, scale, shift, m, c, o.relu, workers)
	st.runs++
	if o.stats != nil {
		recordStats(o.stats, st.mean, variance)
	}
}

// batchNormGradInput computes batch normalization's input gradient:
// γσ⁻¹·(dy − Σdy/M − x̂·Σ(dy·x̂)/M), with x̂ = (x̃ − μ)σ⁻¹, as one affine pass
// dx = a·dy + b·x̃ + s per channel (masked by x > 0 with a fused ReLU).
func batchNormGradInput[T float32 | float64](dx, x, gamma, dy []T, o *op) {
	m, c := o.g.Pixels(), o.g.C
	st := o.bn
	s1, s2 := gradSums(o, x, dy)
	a, b, s := make([]T, c), make([]T, c), make([]T, c)
	for j := range c {
		inv, gm := st.invStd[j], float64(gamma[j])
		bj := -gm * inv * inv * inv * s2[j] / float64(m)
		a[j] = T(gm * inv)
		b[j] = T(bj)
		s[j] = T(-gm*inv*s1[j]/float64(m) - bj*st.mean[j])
	}
	var sums []float64
	if st.wantDx {
		if len(st.sumDx) != c {
			st.sumDx = make([]float64, c)
		}
		sums = st.sumDx
	}
	kernel.Affine2(dx, dy, x, a, b, s, m, c, o.relu, sums, o.workers)
	st.dxRun = st.runs
}
