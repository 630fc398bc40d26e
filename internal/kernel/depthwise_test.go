package kernel

import (
	"fmt"
	"math"
	"runtime"
	"testing"
)

// naiveDepthwise is the definition in float64: y[b,y,x,c] = Σ x[b,y+ky−1,x+kx−1,c]·k[ky,kx,c].
func naiveDepthwise(x, k []float64, g Geom) []float64 {
	y := make([]float64, g.Size())
	for b := range g.N {
		for i := range g.H {
			for j := range g.W {
				for ky := range 3 {
					for kx := range 3 {
						si, sj := i+ky-1, j+kx-1
						if si < 0 || si >= g.H || sj < 0 || sj >= g.W {
							continue
						}
						for c := range g.C {
							y[((b*g.H+i)*g.W+j)*g.C+c] += x[((b*g.H+si)*g.W+sj)*g.C+c] * k[(ky*3+kx)*g.C+c]
						}
					}
				}
			}
		}
	}
	return y
}

var depthwiseGeoms = []Geom{{2, 5, 7, 16}, {1, 1, 1, 3}, {3, 9, 4, 128}, {1, 12, 12, 64}, {2, 2, 3, 5}, {1, 4, 3, 80}, {1, 1, 2, 64}}

func TestDepthwise3x3(t *testing.T) {
	for _, g := range depthwiseGeoms {
		t.Run(fmt.Sprintf("%v", g), func(t *testing.T) {
			x, k := randSlice[float32](1, g.Size()), randSlice[float32](2, 9*g.C)
			want := naiveDepthwise(to64(x), to64(k), g)
			for _, workers := range []int{1, 2} {
				y := randSlice[float32](3, g.Size()) // garbage the kernel must overwrite
				Depthwise3x3(y, x, k, g, workers)
				if e := maxRelErr(y, want); e > 1e-5 {
					t.Errorf("workers %d: max relative error %.3g", workers, e)
				}
			}
			// The SIMD form against the scalar one: bitwise where there is
			// no fused multiply-add (WebAssembly), else within rounding.
			y, scalar := make([]float32, g.Size()), make([]float32, g.Size())
			Depthwise3x3(y, x, k, g, 1)
			depthwiseScalar(scalar, x, k, g, 0, g.N*g.H)
			if runtime.GOARCH == "wasm" {
				for i := range y {
					if math.Float32bits(y[i]) != math.Float32bits(scalar[i]) {
						t.Fatalf("value %d is %v, the scalar form's %v", i, y[i], scalar[i])
					}
				}
			} else if e := maxRelErr(y, to64(scalar)); e > 1e-6 {
				t.Errorf("max relative difference %.3g from the scalar form", e)
			}
		})
	}
}

// TestDepthwise3x3Gradients checks both gradients against the adjoint
// identity: for the linear map y = D(x, k), ⟨D(x, k), dy⟩ = ⟨x, D_xᵀ(dy)⟩ =
// ⟨k, D_kᵀ(dy)⟩, in float64 where it holds to rounding.
func TestDepthwise3x3Gradients(t *testing.T) {
	for _, g := range depthwiseGeoms {
		t.Run(fmt.Sprintf("%v", g), func(t *testing.T) {
			x, k, dy := randSlice[float64](1, g.Size()), randSlice[float64](2, 9*g.C), randSlice[float64](3, g.Size())
			y := make([]float64, g.Size())
			Depthwise3x3(y, x, k, g, 2)
			lhs := dot(y, dy)
			dx, dk := make([]float64, g.Size()), make([]float64, 9*g.C)
			Depthwise3x3GradInput(dx, k, dy, g, 2)
			Depthwise3x3GradKernel(dk, x, dy, g, 2)
			for name, rhs := range map[string]float64{"input": dot(x, dx), "kernel": dot(k, dk)} {
				if d := lhs - rhs; d > 1e-9 || d < -1e-9 {
					t.Errorf("%s gradient: ⟨y, dy⟩ = %.12g but ⟨·, grad⟩ = %.12g", name, lhs, rhs)
				}
			}
			// float32, through the SIMD forms where they apply, against float64.
			x32, k32, dy32 := to32(x), to32(k), to32(dy)
			dx32, dk32 := make([]float32, g.Size()), make([]float32, 9*g.C)
			Depthwise3x3GradInput(dx32, k32, dy32, g, 2)
			Depthwise3x3GradKernel(dk32, x32, dy32, g, 2)
			if e := maxRelErr(dx32, dx); e > 1e-5 {
				t.Errorf("float32 input gradient: max relative error %.3g", e)
			}
			if e := maxRelErr(dk32, dk); e > 1e-4 {
				t.Errorf("float32 kernel gradient: max relative error %.3g", e)
			}
		})
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func to32(s []float64) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(v)
	}
	return out
}

func TestMulAddMatchesScalar(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 64, 100, 128} {
		a, b, d := randSlice[float32](1, n), randSlice[float32](2, n), randSlice[float32](3, n)
		got, want := append([]float32(nil), d...), append([]float32(nil), d...)
		MulAdd(got, a, b)
		mulAddScalar(want, a, b)
		if e := maxRelErr(got, to64(want)); e > 1e-6 {
			t.Errorf("n=%d: max relative difference %.3g", n, e)
		}
	}
}

func BenchmarkDepthwise(b *testing.B) {
	g := Geom{8, 32, 32, 128}
	x, k, dy := randSlice[float32](1, g.Size()), randSlice[float32](2, 9*g.C), randSlice[float32](3, g.Size())
	y, dk := make([]float32, g.Size()), make([]float32, 9*g.C)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			Depthwise3x3(y, x, k, g, 1)
		}
	})
	b.Run("gradKernel", func(b *testing.B) {
		for b.Loop() {
			Depthwise3x3GradKernel(dk, x, dy, g, 1)
		}
	})
}
