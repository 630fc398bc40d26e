package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randSlice returns n values uniform in [-1, 1) from a seeded generator.
func randSlice[T Float](seed uint64, n int) []T {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := make([]T, n)
	for i := range s {
		s[i] = T(2*rng.Float64() - 1)
	}
	return s
}

// naiveGemm is the textbook triple loop in float64, the reference of the references.
func naiveGemm(a, b []float64, m, k, n int) []float64 {
	c := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for kk := range k {
				s += a[i*k+kk] * b[kk*n+j]
			}
			c[i*n+j] = s
		}
	}
	return c
}

func to64[T Float](s []T) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

// maxRelErr is the largest |got−want| / max(1, |want|).
func maxRelErr[T Float](got []T, want []float64) float64 {
	worst := 0.0
	for i, w := range want {
		worst = math.Max(worst, math.Abs(float64(got[i])-w)/math.Max(1, math.Abs(w)))
	}
	return worst
}

// gemmShapes are the network's matrix products (and odd sizes the SIMD form must leave to the scalar one).
var gemmShapes = []struct{ m, k, n int }{
	{37, 128, 128}, {64, 64, 128}, {9, 28, 64}, {5, 256, 256}, {3, 256, 4}, {130, 128, 48}, {7, 5, 3}, {1, 1, 16},
}

// epilogues returns the epilogue cases for n columns.
func epilogues(n int) map[string]*Epilogue[float32] {
	return map[string]*Epilogue[float32]{
		"none":       nil,
		"bias+relu":  {Bias: randSlice[float32](3, n), ReLU: true},
		"affine":     {Bias: randSlice[float32](3, n), ReLU: true, Scale: randSlice[float32](4, n), Shift: randSlice[float32](5, n)},
		"accumulate": {Accumulate: true},
		"unfused":    {Bias: randSlice[float32](3, n), ReLU: true, Scale: randSlice[float32](4, n), Shift: randSlice[float32](5, n), Accumulate: true, Unfused: true},
	}
}

// TestGemmUnfusedIsScalar: with Unfused, Gemm's results are bitwise the
// scalar form's (what nn's scalar kernels, and so the browser, compute).
func TestGemmUnfusedIsScalar(t *testing.T) {
	for _, s := range gemmShapes {
		a, b := randSlice[float32](1, s.m*s.k), randSlice[float32](2, s.k*s.n)
		ep := epilogues(s.n)["unfused"]
		prev := randSlice[float32](6, s.m*s.n)
		dst, scalar := append([]float32(nil), prev...), append([]float32(nil), prev...)
		Gemm(dst, a, b, s.m, s.k, s.n, ep, 2)
		gemmScalar(scalar, a, b, s.m, s.k, s.n, ep)
		for i := range dst {
			if math.Float32bits(dst[i]) != math.Float32bits(scalar[i]) {
				t.Errorf("%dx%dx%d: value %d is %v, the scalar form's %v", s.m, s.k, s.n, i, dst[i], scalar[i])
				break
			}
		}
	}
}

// applyRef applies ep to the float64 products in the order the doc states.
func applyRef(c []float64, prev []float32, ep *Epilogue[float32], n int) []float64 {
	out := make([]float64, len(c))
	for i, v := range c {
		j := i % n
		if ep != nil {
			if ep.Bias != nil {
				v += float64(ep.Bias[j])
			}
			if ep.ReLU {
				v = math.Max(v, 0)
			}
			if ep.Scale != nil {
				v = v*float64(ep.Scale[j]) + float64(ep.Shift[j])
			}
			if ep.Accumulate {
				v += float64(prev[i])
			}
		}
		out[i] = v
	}
	return out
}

func TestGemm(t *testing.T) {
	for _, s := range gemmShapes {
		a, b := randSlice[float32](1, s.m*s.k), randSlice[float32](2, s.k*s.n)
		want := naiveGemm(to64(a), to64(b), s.m, s.k, s.n)
		for name, ep := range epilogues(s.n) {
			t.Run(fmt.Sprintf("%dx%dx%d/%s", s.m, s.k, s.n, name), func(t *testing.T) {
				prev := randSlice[float32](6, s.m*s.n)
				ref := applyRef(want, prev, ep, s.n)
				for _, workers := range []int{1, 3} {
					dst := append([]float32(nil), prev...)
					Gemm(dst, a, b, s.m, s.k, s.n, ep, workers)
					if e := maxRelErr(dst, ref); e > 1e-5 {
						t.Errorf("workers %d: max relative error %.3g against float64", workers, e)
					}
					scalar := append([]float32(nil), prev...)
					gemmScalar(scalar, a, b, s.m, s.k, s.n, ep)
					// FMA rounds once where the scalar form rounds twice, and sums in another order.
					if e := maxRelErr(dst, to64(scalar)); e > 1e-5 {
						t.Errorf("workers %d: max relative difference %.3g from the scalar kernel", workers, e)
					}
				}
			})
		}
	}
}

func TestGemmFloat64(t *testing.T) {
	const m, k, n = 11, 13, 5
	a, b := randSlice[float64](1, m*k), randSlice[float64](2, k*n)
	dst := make([]float64, m*n)
	Gemm(dst, a, b, m, k, n, nil, 2)
	if e := maxRelErr(dst, naiveGemm(a, b, m, k, n)); e > 1e-14 {
		t.Errorf("max relative error %.3g", e)
	}
}

func TestGemmTNAndNT(t *testing.T) {
	for _, s := range []struct{ m, k, n int }{{1000, 128, 128}, {77, 64, 128}, {3000, 28, 64}, {10, 3, 5}} {
		t.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(t *testing.T) {
			a, b := randSlice[float32](1, s.m*s.k), randSlice[float32](2, s.m*s.n)
			// aᵀ·b, the reference through an explicit transpose.
			at := make([]float32, s.k*s.m)
			Transpose(at, a, s.m, s.k)
			want := naiveGemm(to64(at), to64(b), s.k, s.m, s.n)
			prev := randSlice[float32](3, s.k*s.n)
			for _, acc := range []bool{false, true} {
				dst := append([]float32(nil), prev...)
				GemmTN(dst, a, b, s.m, s.k, s.n, acc, 2)
				ref := want
				if acc {
					ref = applyRef(want, prev, &Epilogue[float32]{Accumulate: true}, s.n)
				}
				if e := maxRelErr(dst, ref); e > 2e-5 {
					t.Errorf("GemmTN accumulate=%v: max relative error %.3g", acc, e)
				}
			}
			// b·w where w = aᵀ's first n rows would do; use a fresh w (n×k) and compare b·wᵀ.
			w := randSlice[float32](4, s.n*s.k)
			wt := make([]float32, s.k*s.n)
			Transpose(wt, w, s.n, s.k)
			dy := randSlice[float32](5, s.m*s.k)
			got := make([]float32, s.m*s.n)
			GemmNT(got, dy, w, s.m, s.k, s.n, 2)
			if e := maxRelErr(got, naiveGemm(to64(dy), to64(wt), s.m, s.k, s.n)); e > 1e-5 {
				t.Errorf("GemmNT: max relative error %.3g", e)
			}
		})
	}
}

func TestRowsCoversEveryRowOnce(t *testing.T) {
	for _, c := range []struct{ m, workers, min int }{{0, 2, 1}, {1, 4, 1}, {10, 3, 1}, {100, 2, 64}, {1000, 7, 10}} {
		seen := make([]int32, c.m)
		Rows(c.m, c.workers, c.min, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				seen[i]++ // ranges are disjoint, so no two goroutines touch one element
			}
		})
		for i, k := range seen {
			if k != 1 {
				t.Fatalf("m=%d workers=%d: row %d visited %d times", c.m, c.workers, i, k)
			}
		}
	}
}

func BenchmarkGemmPointwise(b *testing.B) {
	for _, s := range []struct{ m, k, n int }{{74 * 74, 128, 128}, {74 * 74, 128, 256}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(b *testing.B) {
			a, w := randSlice[float32](1, s.m*s.k), randSlice[float32](2, s.k*s.n)
			dst := make([]float32, s.m*s.n)
			for b.Loop() {
				Gemm(dst, a, w, s.m, s.k, s.n, nil, 1)
			}
			b.ReportMetric(2*float64(s.m*s.k*s.n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkGemmTN(b *testing.B) {
	const m, k, n = 32 * 32 * 32, 128, 128
	a, d := randSlice[float32](1, m*k), randSlice[float32](2, m*n)
	dst := make([]float32, k*n)
	for b.Loop() {
		GemmTN(dst, a, d, m, k, n, false, 1)
	}
	b.ReportMetric(2*float64(m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
