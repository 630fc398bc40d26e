package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randDense returns a float64 tensor of the shape with values uniform in [lo, hi).
func randDense(rng *rand.Rand, lo, hi float64, shape ...int) *tensor.Dense {
	t := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(shape...))
	for i := range t.Data().([]float64) {
		t.Data().([]float64)[i] = lo + (hi-lo)*rng.Float64()
	}
	return t
}

// checkGrads compares gorgonia's gradients of a scalar loss with central
// differences, in float64. build makes the graph from the values of the
// variables, which it must bind to input nodes it returns, and the loss.
func checkGrads(t *testing.T, vals []*tensor.Dense, build func(g *G.ExprGraph, in G.Nodes) *G.Node) {
	t.Helper()
	g := G.NewGraph()
	in := make(G.Nodes, len(vals))
	for i, v := range vals {
		in[i] = G.NewTensor(g, tensor.Float64, v.Dims(), G.WithShape(v.Shape()...), G.WithValue(v))
	}
	// A random projection makes the loss depend on every output value differently.
	loss := build(g, in)
	grads, err := G.Grad(loss, in...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(in...))
	defer vm.Close()
	eval := func() float64 {
		t.Helper()
		defer vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return loss.Value().Data().(float64)
	}
	eval()
	analytic := make([][]float64, len(in))
	for i, gn := range grads {
		analytic[i] = append([]float64(nil), gn.Value().Data().([]float64)...)
	}
	const h = 1e-5
	for i, n := range in {
		x := n.Value().Data().([]float64)
		worst := 0.0
		for j := range x {
			orig := x[j]
			x[j] = orig + h
			up := eval()
			x[j] = orig - h
			down := eval()
			x[j] = orig
			num := (up - down) / (2 * h)
			err := math.Abs(num-analytic[i][j]) / math.Max(1, math.Abs(num))
			worst = math.Max(worst, err)
			if err > 1e-6 {
				t.Fatalf("input %d element %d: gradient %g, numeric %g", i, j, analytic[i][j], num)
			}
		}
		t.Logf("input %d (%v): max relative gradient error %.2g", i, n.Shape(), worst)
	}
}

// project returns Σ y·r for a fixed random r of y's shape: a scalar loss with a generic gradient.
func project(rng *rand.Rand, y *G.Node) *G.Node {
	r := G.NewConstant(randDense(rng, -1, 1, y.Shape()...))
	return G.Must(G.Sum(G.Must(G.HadamardProd(y, r))))
}

// opNode adds an op of kind k on geometry g (o output channels) to the graph.
func opNode(k opKind, g geom, o int, args ...*G.Node) *G.Node {
	return G.Must(applyOp(&op{kind: k, g: g, o: o, layer: "test", workers: 2}, args...))
}

// reluNode is opNode with the op's ReLU on: a convolution's on its output, a
// batch normalization's (fused) on its input.
func reluNode(k opKind, g geom, o int, args ...*G.Node) *G.Node {
	return G.Must(applyOp(&op{kind: k, g: g, o: o, layer: "test relu", relu: true, workers: 2}, args...))
}

// The gradient of every differentiable op, against central differences in float64.
func TestOpGradients(t *testing.T) {
	cases := []struct {
		name  string
		shape [][]int // the inputs whose gradients are checked
		lo    []float64
		build func(rng *rand.Rand, in G.Nodes) *G.Node
	}{
		{"conv1", [][]int{{27, 4}, {1, 4}}, []float64{-1, -0.2}, func(rng *rand.Rand, in G.Nodes) *G.Node {
			img := G.NewConstant(randDense(rng, 0, 1, 2, 7, 6, 3))
			return opNode(opConv1, geom{N: 2, H: 7, W: 6, C: 3}, 4, img, in[0], in[1])
		}},
		{"separable conv", [][]int{{2 * 5 * 4, 3}, {9, 3}, {3, 5}, {1, 5}}, []float64{-1, -1, -1, -0.2}, func(_ *rand.Rand, in G.Nodes) *G.Node {
			return opNode(opSepConv, geom{N: 2, H: 5, W: 4, C: 3}, 5, in...)
		}},
		{"separable conv, one pixel", [][]int{{1, 2}, {9, 2}, {2, 3}, {1, 3}}, []float64{-1, -1, -1, 0.5}, func(_ *rand.Rand, in G.Nodes) *G.Node {
			return opNode(opSepConv, geom{N: 1, H: 1, W: 1, C: 2}, 3, in...)
		}},
		{"batch norm", [][]int{{24, 3}, {1, 3}, {1, 3}}, []float64{-2, 0.5, -0.3}, func(_ *rand.Rand, in G.Nodes) *G.Node {
			return opNode(opBatchNorm, geom{N: 2, H: 3, W: 4, C: 3}, 0, in...)
		}},
		{"conv1 with ReLU", [][]int{{27, 4}, {1, 4}}, []float64{-1, -0.2}, func(rng *rand.Rand, in G.Nodes) *G.Node {
			img := G.NewConstant(randDense(rng, 0, 1, 2, 7, 6, 3))
			return reluNode(opConv1, geom{N: 2, H: 7, W: 6, C: 3}, 4, img, in[0], in[1])
		}},
		{"separable conv with ReLU", [][]int{{2 * 5 * 4, 3}, {9, 3}, {3, 5}, {1, 5}}, []float64{-1, -1, -1, -0.2}, func(_ *rand.Rand, in G.Nodes) *G.Node {
			return reluNode(opSepConv, geom{N: 2, H: 5, W: 4, C: 3}, 5, in...)
		}},
		{"batch norm after a fused ReLU", [][]int{{24, 3}, {1, 3}, {1, 3}}, []float64{-1, 0.5, -0.3}, func(_ *rand.Rand, in G.Nodes) *G.Node {
			return reluNode(opBatchNorm, geom{N: 2, H: 3, W: 4, C: 3}, 0, in...)
		}},
		{"separable conv, its ReLU fused into a batch norm", [][]int{{2 * 5 * 4, 3}, {9, 3}, {3, 5}, {1, 5}, {1, 5}, {1, 5}}, []float64{-1, -1, -1, -0.2, 0.5, -0.3},
			func(_ *rand.Rand, in G.Nodes) *G.Node {
				z := opNode(opSepConv, geom{N: 2, H: 5, W: 4, C: 3}, 5, in[:4]...)
				return reluNode(opBatchNorm, geom{N: 2, H: 5, W: 4, C: 5}, 0, z, in[4], in[5])
			}},
		{"residual add", [][]int{{2 * 3 * 4, 5}, {2 * 3 * 4, 5}}, []float64{-1, -1}, func(_ *rand.Rand, in G.Nodes) *G.Node {
			return opNode(opAdd, geom{N: 2, H: 3, W: 4, C: 5}, 0, in...)
		}},
		{"max-pool", [][]int{{2 * 7 * 8, 3}}, []float64{-1}, func(_ *rand.Rand, in G.Nodes) *G.Node {
			return opNode(opMaxPool, geom{N: 2, H: 7, W: 8, C: 3}, 0, in...)
		}},
		{"global pool", [][]int{{2 * 3 * 2, 5}}, []float64{-1}, func(_ *rand.Rand, in G.Nodes) *G.Node {
			return opNode(opGlobalPool, geom{N: 2, H: 3, W: 2, C: 5}, 0, in...)
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 2))
			vals := make([]*tensor.Dense, len(c.shape))
			for j, s := range c.shape {
				vals[j] = randDense(rng, c.lo[j], c.lo[j]+2*math.Abs(c.lo[j])+0.5, s...)
			}
			checkGrads(t, vals, func(g *G.ExprGraph, in G.Nodes) *G.Node { return project(rng, c.build(rng, in)) })
		})
	}
}

// TestOpsMatchFloat32 runs each forward op in float32 (the SIMD kernels where
// the build has them) and float64 on the same values and compares.
func TestOpsMatchFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	g := geom{N: 2, H: 9, W: 7, C: 32}
	x := randDense(rng, -1, 1, g.Pixels(), g.C)
	for _, c := range []struct {
		o    *op
		args []*tensor.Dense
	}{
		{&op{kind: opSepConv, g: g, o: 48, workers: 2}, []*tensor.Dense{x, randDense(rng, -1, 1, 9, g.C), randDense(rng, -1, 1, g.C, 48), randDense(rng, -1, 1, 1, 48)}},
		{&op{kind: opSepConv, g: g, o: 48, relu: true, workers: 2}, []*tensor.Dense{x, randDense(rng, -1, 1, 9, g.C), randDense(rng, -1, 1, g.C, 48), randDense(rng, -1, 1, 1, 48)}},
		{&op{kind: opBatchNorm, g: g, workers: 2}, []*tensor.Dense{x, randDense(rng, 0.5, 1.5, 1, g.C), randDense(rng, -1, 1, 1, g.C)}},
		{&op{kind: opBatchNorm, g: g, relu: true, workers: 2}, []*tensor.Dense{x, randDense(rng, 0.5, 1.5, 1, g.C), randDense(rng, -1, 1, 1, g.C)}},
		{&op{kind: opGemmTN, g: g, o: 16, workers: 2}, []*tensor.Dense{x, randDense(rng, -1, 1, g.Pixels(), 16)}},
		{&op{kind: opGemmNT, g: g, o: 16, workers: 2}, []*tensor.Dense{randDense(rng, -1, 1, g.Pixels(), 16), randDense(rng, -1, 1, g.C, 16)}},
	} {
		want, err := c.o.Do(values(c.args)...)
		if err != nil {
			t.Fatal(err)
		}
		args32 := make([]*tensor.Dense, len(c.args))
		for i, a := range c.args {
			args32[i] = toFloat32(a)
		}
		got, err := c.o.Do(values(args32)...)
		if err != nil {
			t.Fatal(err)
		}
		w, gv := want.Data().([]float64), got.Data().([]float32)
		for i := range w {
			if d := math.Abs(float64(gv[i]) - w[i]); d > 1e-4*math.Max(1, math.Abs(w[i])) {
				t.Fatalf("%v: value %d is %g in float32, %g in float64", c.o, i, gv[i], w[i])
			}
		}
	}
}

func values(ts []*tensor.Dense) []G.Value {
	out := make([]G.Value, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}

func toFloat32(t *tensor.Dense) *tensor.Dense {
	src := t.Data().([]float64)
	d := make([]float32, len(src))
	for i, v := range src {
		d[i] = float32(v)
	}
	return tensor.New(tensor.WithShape(t.Shape()...), tensor.WithBacking(d))
}

// TestOpShapes checks that a wrong input shape is refused, naming the op.
func TestOpShapes(t *testing.T) {
	g := geom{N: 1, H: 3, W: 3, C: 2}
	o := &op{kind: opSepConv, g: g, o: 4, layer: "separable_conv2d", workers: 1}
	rng := rand.New(rand.NewPCG(1, 1))
	_, err := o.Do(randDense(rng, 0, 1, 9, 2), randDense(rng, 0, 1, 9, 2), randDense(rng, 0, 1, 2, 5), randDense(rng, 0, 1, 1, 4))
	if err == nil || !strings.Contains(err.Error(), "separable_conv2d") || !strings.Contains(err.Error(), "input 2") {
		t.Errorf("pointwise kernel of the wrong shape: error %v, want one naming the layer and input 2", err)
	}
}
