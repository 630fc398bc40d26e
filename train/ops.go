package train

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// geom is the N×H×W×C geometry behind an activation matrix of shape (N·H·W, C).
type geom struct{ n, h, w, c int }

func (g geom) rows() int { return g.n * g.h * g.w }

// pooled returns the geometry after a 3×3 stride-2 valid window (conv1 or the max-pool).
func (g geom) pooled(c int) geom { return geom{g.n, (g.h-3)/2 + 1, (g.w-3)/2 + 1, c} }

// opKind says what a loopOp computes.
type opKind int

const (
	opDepthwise           opKind = iota // (x (M,C), k (9,C)) → y (M,C): 3×3 depthwise, stride 1, same padding
	opDepthwiseGradInput                // (k (9,C), dy (M,C)) → dx (M,C)
	opDepthwiseGradKernel               // (x (M,C), dy (M,C)) → dk (9,C)
	opIm2col                            // x (N,H,W,3) → cols (N·OH·OW, 27): conv1's 3×3 stride-2 valid patches
	opCol2im                            // dcols (N·OH·OW, 27) → dx (N,H,W,3)
	opMaxPool                           // x (M,C) → y (N·PH·PW, C): 3×3 stride-2 valid max-pool
	opMaxPoolGrad                       // (x (M,C), dy) → dx (M,C): routes dy to each window's first maximum
)

var opNames = [...]string{"Depthwise3x3", "Depthwise3x3GradInput", "Depthwise3x3GradKernel", "Im2col3x3s2", "Col2im3x3s2", "MaxPool3x3s2NHWC", "MaxPool3x3s2NHWCGrad"}

// loopOp is a gorgonia operation computed by plain Go loops over NHWC data:
// the depthwise convolution, conv1's patch extraction and the max-pool, with
// their gradients. The geometry g (of the op's spatial input) is fixed when the
// graph is built, so shapes are known statically. It works on float32 and float64.
type loopOp struct {
	kind opKind
	g    geom
}

// depthwise3x3 adds a 3×3 depthwise convolution of x (N·H·W, C) with kernel k (9, C) to the graph.
func depthwise3x3(x, k *G.Node, g geom) (*G.Node, error) {
	return G.ApplyOp(&loopOp{opDepthwise, g}, x, k)
}

// im2col3x3s2 adds conv1's patch matrix of x (N, H, W, 3) to the graph.
func im2col3x3s2(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	if len(s) != 4 || s[3] != 3 {
		return nil, fmt.Errorf("im2col: input shape %v, want (N, H, W, 3)", s)
	}
	return G.ApplyOp(&loopOp{opIm2col, geom{s[0], s[1], s[2], 3}}, x)
}

// maxPool3x3s2 adds a 3×3 stride-2 valid max-pool of x (N·H·W, C) to the graph.
func maxPool3x3s2(x *G.Node, g geom) (*G.Node, error) {
	return G.ApplyOp(&loopOp{opMaxPool, g}, x)
}

func (op *loopOp) String() string {
	return fmt.Sprintf("%s{%d,%d,%d,%d}", opNames[op.kind], op.g.n, op.g.h, op.g.w, op.g.c)
}

// dims returns the number of dimensions of each input and of the output.
func (op *loopOp) dims() (in []int, out int) {
	switch op.kind {
	case opIm2col:
		return []int{4}, 2
	case opCol2im:
		return []int{2}, 4
	case opMaxPool:
		return []int{2}, 2
	}
	return []int{2, 2}, 2
}

func (op *loopOp) outShape() tensor.Shape {
	g := op.g
	switch op.kind {
	case opDepthwise, opDepthwiseGradInput, opMaxPoolGrad:
		return tensor.Shape{g.rows(), g.c}
	case opDepthwiseGradKernel:
		return tensor.Shape{9, g.c}
	case opIm2col:
		return tensor.Shape{g.pooled(27).rows(), 27}
	case opCol2im:
		return tensor.Shape{g.n, g.h, g.w, 3}
	case opMaxPool:
		return tensor.Shape{g.pooled(g.c).rows(), g.c}
	}
	panic("unknown op")
}

// inShape returns the shape input i must have.
func (op *loopOp) inShape(i int) tensor.Shape {
	g := op.g
	full := tensor.Shape{g.rows(), g.c}
	switch op.kind {
	case opDepthwise:
		if i == 1 {
			return tensor.Shape{9, g.c}
		}
	case opDepthwiseGradInput:
		if i == 0 {
			return tensor.Shape{9, g.c}
		}
	case opIm2col:
		return tensor.Shape{g.n, g.h, g.w, 3}
	case opCol2im:
		return tensor.Shape{g.pooled(27).rows(), 27}
	case opMaxPoolGrad:
		if i == 1 {
			return tensor.Shape{g.pooled(g.c).rows(), g.c}
		}
	}
	return full
}

// Arity implements gorgonia.Op.
func (op *loopOp) Arity() int { in, _ := op.dims(); return len(in) }

// Type implements gorgonia.Op: every input and the output are tensors of one dtype.
func (op *loopOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	in, out := op.dims()
	ts := make([]hm.Type, 0, len(in)+1)
	for _, d := range in {
		ts = append(ts, &G.TensorType{Dims: d, Of: a})
	}
	ts = append(ts, &G.TensorType{Dims: out, Of: a})
	return hm.NewFnType(ts...)
}

// InferShape implements gorgonia.Op; the shape follows from the op's geometry.
func (op *loopOp) InferShape(inputs ...G.DimSizer) (tensor.Shape, error) {
	if len(inputs) != op.Arity() {
		return nil, fmt.Errorf("%v: %d inputs, want %d", op, len(inputs), op.Arity())
	}
	for i, in := range inputs {
		if s, ok := in.(tensor.Shape); ok && !s.Eq(op.inShape(i)) {
			return nil, fmt.Errorf("%v: input %d has shape %v, want %v", op, i, s, op.inShape(i))
		}
	}
	return op.outShape(), nil
}

// Do implements gorgonia.Op.
func (op *loopOp) Do(inputs ...G.Value) (G.Value, error) {
	if len(inputs) != op.Arity() {
		return nil, fmt.Errorf("%v: %d inputs, want %d", op, len(inputs), op.Arity())
	}
	ts := make([]*tensor.Dense, len(inputs))
	for i, v := range inputs {
		t, ok := v.(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("%v: input %d is %T, want *tensor.Dense", op, i, v)
		}
		if !t.Shape().Eq(op.inShape(i)) {
			return nil, fmt.Errorf("%v: input %d has shape %v, want %v", op, i, t.Shape(), op.inShape(i))
		}
		if i > 0 && t.Dtype() != ts[0].Dtype() {
			return nil, fmt.Errorf("%v: inputs of mixed dtypes", op)
		}
		ts[i] = t
	}
	out := tensor.New(tensor.Of(ts[0].Dtype()), tensor.WithShape(op.outShape()...))
	switch ts[0].Dtype() {
	case tensor.Float32:
		run(op, out.Data().([]float32), data[float32](ts)...)
	case tensor.Float64:
		run(op, out.Data().([]float64), data[float64](ts)...)
	default:
		return nil, fmt.Errorf("%v: unsupported dtype %v", op, ts[0].Dtype())
	}
	return out, nil
}

func data[T float32 | float64](ts []*tensor.Dense) [][]T {
	out := make([][]T, len(ts))
	for i, t := range ts {
		out[i] = t.Data().([]T)
	}
	return out
}

// ReturnsPtr implements gorgonia.Op.
func (op *loopOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (op *loopOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op.
func (op *loopOp) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op.
func (op *loopOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }

// Hashcode implements gorgonia.Op.
func (op *loopOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// gradSpec says how to compute the gradient of one input: op applied to
// arguments, each an input index or -1 for the output's gradient.
type gradSpec struct {
	op   *loopOp
	args []int
}

// grads returns, per input, how its gradient is computed (nil where there is none).
func (op *loopOp) grads() []*gradSpec {
	switch op.kind {
	case opDepthwise:
		return []*gradSpec{
			{&loopOp{opDepthwiseGradInput, op.g}, []int{1, -1}},
			{&loopOp{opDepthwiseGradKernel, op.g}, []int{0, -1}},
		}
	case opIm2col:
		return []*gradSpec{{&loopOp{opCol2im, op.g}, []int{-1}}}
	case opMaxPool:
		return []*gradSpec{{&loopOp{opMaxPoolGrad, op.g}, []int{0, -1}}}
	}
	return make([]*gradSpec, op.Arity())
}

// DiffWRT implements gorgonia.SDOp.
func (op *loopOp) DiffWRT(inputs int) []bool {
	gs := op.grads()
	ok := make([]bool, inputs)
	for i := range ok {
		ok[i] = i < len(gs) && gs[i] != nil
	}
	return ok
}

// SymDiff implements gorgonia.SDOp: the gradients as nodes of the gradient ops.
func (op *loopOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	gs := op.grads()
	if len(inputs) != len(gs) {
		return nil, fmt.Errorf("%v: %d inputs, want %d", op, len(inputs), len(gs))
	}
	out := make(G.Nodes, len(gs))
	for i, s := range gs {
		if s == nil {
			return nil, fmt.Errorf("%v is not differentiable", op)
		}
		args := make(G.Nodes, len(s.args))
		for j, a := range s.args {
			if a < 0 {
				args[j] = grad
			} else {
				args[j] = inputs[a]
			}
		}
		n, err := G.ApplyOp(s.op, args...)
		if err != nil {
			return nil, fmt.Errorf("%v gradient: %w", op, err)
		}
		out[i] = n
	}
	return out, nil
}

// DoDiff implements gorgonia.ADOp (used by gorgonia's LispMachine): it adds
// the gradients to the inputs' dual values.
func (op *loopOp) DoDiff(ctx G.ExecutionContext, inputs G.Nodes, output *G.Node) error {
	dy, err := output.Grad()
	if err != nil {
		return fmt.Errorf("%v: %w", op, err)
	}
	for i, s := range op.grads() {
		if s == nil {
			return fmt.Errorf("%v is not differentiable", op)
		}
		args := make([]G.Value, len(s.args))
		for j, a := range s.args {
			if a < 0 {
				args[j] = dy
			} else {
				args[j] = inputs[a].Value()
			}
		}
		g, err := s.op.Do(args...)
		if err != nil {
			return err
		}
		acc, err := inputs[i].Grad()
		if err != nil {
			return fmt.Errorf("%v: input %d: %w", op, i, err)
		}
		at, ok1 := acc.(*tensor.Dense)
		gt, ok2 := g.(*tensor.Dense)
		if !ok1 || !ok2 {
			return fmt.Errorf("%v: gradient of input %d is %T, want *tensor.Dense", op, i, acc)
		}
		switch d := at.Data().(type) {
		case []float32:
			for k, v := range gt.Data().([]float32) {
				d[k] += v
			}
		case []float64:
			for k, v := range gt.Data().([]float64) {
				d[k] += v
			}
		}
	}
	return nil
}

// run computes op into out (zeroed) from its inputs.
func run[T float32 | float64](op *loopOp, out []T, in ...[]T) {
	g := op.g
	switch op.kind {
	case opDepthwise:
		depthwiseForward(out, in[0], in[1], g)
	case opDepthwiseGradInput:
		depthwiseGradInput(out, in[0], in[1], g)
	case opDepthwiseGradKernel:
		depthwiseGradKernel(out, in[0], in[1], g)
	case opIm2col:
		im2col(out, in[0], g)
	case opCol2im:
		col2im(out, in[0], g)
	case opMaxPool:
		maxPool(out, nil, in[0], g)
	case opMaxPoolGrad:
		maxPool(out, in[1], in[0], g)
	}
}

// taps calls f for every pixel p of g and tap t of the 3×3 same-padded window
// whose source pixel q lies inside the image (pixel indices into N·H·W).
func taps(g geom, f func(p, q, t int)) {
	for b := range g.n {
		for y := range g.h {
			for x := range g.w {
				p := (b*g.h+y)*g.w + x
				for ky := range 3 {
					sy := y + ky - 1
					if sy < 0 || sy >= g.h {
						continue
					}
					for kx := range 3 {
						sx := x + kx - 1
						if sx < 0 || sx >= g.w {
							continue
						}
						f(p, (b*g.h+sy)*g.w+sx, ky*3+kx)
					}
				}
			}
		}
	}
}

// depthwiseForward: y[p,c] = Σ_t x[q(p,t),c]·k[t,c].
func depthwiseForward[T float32 | float64](y, x, k []T, g geom) {
	c := g.c
	taps(g, func(p, q, t int) { mulAdd(y[p*c:(p+1)*c], x[q*c:(q+1)*c], k[t*c:(t+1)*c]) })
}

// depthwiseGradInput: dx[q,c] = Σ dy[p,c]·k[t,c] over the (p, t) that read q.
func depthwiseGradInput[T float32 | float64](dx, k, dy []T, g geom) {
	c := g.c
	taps(g, func(p, q, t int) { mulAdd(dx[q*c:(q+1)*c], dy[p*c:(p+1)*c], k[t*c:(t+1)*c]) })
}

// depthwiseGradKernel: dk[t,c] = Σ_p x[q(p,t),c]·dy[p,c].
func depthwiseGradKernel[T float32 | float64](dk, x, dy []T, g geom) {
	c := g.c
	taps(g, func(p, q, t int) { mulAdd(dk[t*c:(t+1)*c], x[q*c:(q+1)*c], dy[p*c:(p+1)*c]) })
}

// mulAdd adds the elementwise products a·b to dst (all of dst's length).
func mulAdd[T float32 | float64](dst, a, b []T) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] += a[i] * b[i]
	}
}

// patches calls f for every output pixel r of a 3×3 stride-2 valid window over
// g and each of its rows ky, with the input pixel index of the row's first tap.
func patches(g geom, f func(r, ky, q int)) {
	o := g.pooled(g.c)
	for b := range g.n {
		for oy := range o.h {
			for ox := range o.w {
				r := (b*o.h+oy)*o.w + ox
				for ky := range 3 {
					f(r, ky, (b*g.h+2*oy+ky)*g.w+2*ox)
				}
			}
		}
	}
}

// im2col gathers conv1's patches in Keras kernel order (ky, kx, channel), as nn does.
func im2col[T float32 | float64](cols, x []T, g geom) {
	patches(g, func(r, ky, q int) { copy(cols[r*27+ky*9:r*27+ky*9+9], x[q*3:q*3+9]) })
}

// col2im scatters patch gradients back onto the image.
func col2im[T float32 | float64](dx, dcols []T, g geom) {
	patches(g, func(r, ky, q int) {
		src, dst := dcols[r*27+ky*9:r*27+ky*9+9], dx[q*3:q*3+9]
		for i := range dst {
			dst[i] += src[i]
		}
	})
}

// maxPool computes the 3×3 stride-2 max-pool of x into out when dy is nil;
// otherwise it routes dy into out (x's shape) at each window's first maximum,
// scanning taps as nn's kernel does.
func maxPool[T float32 | float64](out, dy, x []T, g geom) {
	c := g.c
	o := g.pooled(c)
	best := make([]T, c)
	arg := make([]int, c)
	for b := range g.n {
		for oy := range o.h {
			for ox := range o.w {
				r := (b*o.h+oy)*o.w + ox
				for ky := range 3 {
					for kx := range 3 {
						q := (b*g.h+2*oy+ky)*g.w + 2*ox + kx
						src := x[q*c : (q+1)*c]
						for i, v := range src {
							if (ky == 0 && kx == 0) || v > best[i] {
								best[i], arg[i] = v, q
							}
						}
					}
				}
				if dy == nil {
					copy(out[r*c:(r+1)*c], best)
					continue
				}
				for i, q := range arg {
					out[q*c+i] += dy[r*c+i]
				}
			}
		}
	}
}
