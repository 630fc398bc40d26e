package train

import (
	"math"
	"math/rand/v2"
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

func TestDepthwiseGradient(t *testing.T) {
	for _, gm := range []geom{{2, 5, 4, 3}, {1, 1, 3, 2}, {3, 4, 1, 1}} {
		rng := rand.New(rand.NewPCG(1, 2))
		vals := []*tensor.Dense{randDense(rng, -1, 1, gm.rows(), gm.c), randDense(rng, -1, 1, 9, gm.c)}
		checkGrads(t, vals, func(g *G.ExprGraph, in G.Nodes) *G.Node {
			return project(rng, G.Must(depthwise3x3(in[0], in[1], gm)))
		})
	}
}

func TestIm2colGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	vals := []*tensor.Dense{randDense(rng, -1, 1, 2, 7, 6, 3)}
	checkGrads(t, vals, func(g *G.ExprGraph, in G.Nodes) *G.Node {
		return project(rng, G.Must(im2col3x3s2(in[0])))
	})
}

func TestMaxPoolGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	gm := geom{2, 7, 8, 3}
	vals := []*tensor.Dense{randDense(rng, -1, 1, gm.rows(), gm.c)}
	checkGrads(t, vals, func(g *G.ExprGraph, in G.Nodes) *G.Node {
		return project(rng, G.Must(maxPool3x3s2(in[0], gm)))
	})
}

func TestBatchNormGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	vals := []*tensor.Dense{randDense(rng, -2, 3, 24, 3), randDense(rng, 0.5, 1.5, 1, 3), randDense(rng, -0.3, 0.3, 1, 3)}
	checkGrads(t, vals, func(g *G.ExprGraph, in G.Nodes) *G.Node {
		y, _, _, err := batchNormTrain(in[0], in[1], in[2])
		if err != nil {
			t.Fatal(err)
		}
		return project(rng, y)
	})
}

// TestDepthwiseForward checks the op against a direct zero-padded convolution.
func TestDepthwiseForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	gm := geom{2, 4, 5, 3}
	x, k := randDense(rng, -1, 1, gm.rows(), gm.c), randDense(rng, -1, 1, 9, gm.c)
	op := &loopOp{opDepthwise, gm}
	v, err := op.Do(x, k)
	if err != nil {
		t.Fatal(err)
	}
	got := v.Data().([]float64)
	xd, kd := x.Data().([]float64), k.Data().([]float64)
	at := func(b, y, xx, c int) float64 {
		if y < 0 || y >= gm.h || xx < 0 || xx >= gm.w {
			return 0
		}
		return xd[((b*gm.h+y)*gm.w+xx)*gm.c+c]
	}
	for b := range gm.n {
		for y := range gm.h {
			for xx := range gm.w {
				for c := range gm.c {
					want := 0.0
					for ky := range 3 {
						for kx := range 3 {
							want += at(b, y+ky-1, xx+kx-1, c) * kd[(ky*3+kx)*gm.c+c]
						}
					}
					if g := got[((b*gm.h+y)*gm.w+xx)*gm.c+c]; math.Abs(g-want) > 1e-12 {
						t.Fatalf("(%d,%d,%d,%d): got %g, want %g", b, y, xx, c, g, want)
					}
				}
			}
		}
	}
}

// TestDepthwiseLispMachine checks the op's DoDiff, which gorgonia's LispMachine uses.
func TestDepthwiseLispMachine(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	gm := geom{1, 3, 4, 2}
	xv, kv := randDense(rng, -1, 1, gm.rows(), gm.c), randDense(rng, -1, 1, 9, gm.c)
	r := randDense(rng, -1, 1, gm.rows(), gm.c)

	run := func(lisp bool) (dx, dk []float64) {
		g := G.NewGraph()
		x := G.NewMatrix(g, tensor.Float64, G.WithShape(xv.Shape()...), G.WithValue(xv.Clone()))
		k := G.NewMatrix(g, tensor.Float64, G.WithShape(kv.Shape()...), G.WithValue(kv.Clone()))
		y := G.Must(depthwise3x3(x, k, gm))
		loss := G.Must(G.Sum(G.Must(G.HadamardProd(y, G.NewConstant(r.Clone())))))
		var vm G.VM
		if lisp {
			vm = G.NewLispMachine(g)
		} else {
			if _, err := G.Grad(loss, x, k); err != nil {
				t.Fatal(err)
			}
			vm = G.NewTapeMachine(g, G.BindDualValues(x, k))
		}
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		gx, err := x.Grad()
		if err != nil {
			t.Fatal(err)
		}
		gk, err := k.Grad()
		if err != nil {
			t.Fatal(err)
		}
		return gx.Data().([]float64), gk.Data().([]float64)
	}
	dx1, dk1 := run(false)
	dx2, dk2 := run(true)
	for i := range dx1 {
		if math.Abs(dx1[i]-dx2[i]) > 1e-12 {
			t.Fatalf("dx[%d]: tape %g, lisp %g", i, dx1[i], dx2[i])
		}
	}
	for i := range dk1 {
		if math.Abs(dk1[i]-dk2[i]) > 1e-12 {
			t.Fatalf("dk[%d]: tape %g, lisp %g", i, dk1[i], dk2[i])
		}
	}
}
