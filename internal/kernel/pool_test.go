package kernel

import (
	"fmt"
	"math"
	"testing"
)

// TestMaxPool3x3s2 checks max-pooling and its gradient on float32 data (the
// SIMD forms where the build has them) against the float64 scalar forms, on
// values rounded to quarters so that windows hold tied maxima: the gradient
// must go to the first of them, in tap order, and nowhere else.
func TestMaxPool3x3s2(t *testing.T) {
	for _, g := range []Geom{{2, 7, 9, 16}, {1, 3, 3, 5}, {3, 11, 8, 128}, {1, 5, 5, 48}} {
		t.Run(fmt.Sprintf("%v", g), func(t *testing.T) {
			o := g.Pooled(g.C)
			x32 := randSlice[float32](1, g.Size())
			for i, v := range x32 {
				x32[i] = float32(math.Round(float64(v)*4) / 4)
			}
			dy32 := randSlice[float32](2, o.Size())
			x, dy := to64(x32), to64(dy32)
			y, dx := make([]float64, o.Size()), make([]float64, g.Size())
			MaxPool3x3s2(y, x, g, 1)
			MaxPool3x3s2Grad(dx, x, y, dy, g, 1)
			for _, workers := range []int{1, 2} {
				y32, dx32 := make([]float32, o.Size()), randSlice[float32](3, g.Size()) // dx: garbage to be cleared
				MaxPool3x3s2(y32, x32, g, workers)
				MaxPool3x3s2Grad(dx32, x32, y32, dy32, g, workers)
				for i := range y {
					if float64(y32[i]) != y[i] {
						t.Fatalf("workers %d: max %d is %v, want %v", workers, i, y32[i], y[i])
					}
				}
				for i := range dx {
					if math.Abs(float64(dx32[i])-dx[i]) > 1e-6 {
						t.Fatalf("workers %d: gradient %d is %v, want %v", workers, i, dx32[i], dx[i])
					}
				}
			}
		})
	}
}
