package kernel

import (
	"fmt"
	"math"
	"testing"
)

// maxRelDiff is max|a−b| / max(max|b|, 1e-12).
func maxRelDiff(a, b []float64) float64 {
	diff, scale := 0.0, 1e-12
	for i := range a {
		diff = math.Max(diff, math.Abs(a[i]-b[i]))
		scale = math.Max(scale, math.Abs(b[i]))
	}
	return diff / scale
}

// TestColumnPasses checks the column passes on float32 data (their SIMD
// forms where the build and CPU have them) against the same passes written
// out here in float64, with and without a fused ReLU, for channel counts the
// SIMD forms take (multiples of 16) and one they leave to the scalar code.
func TestColumnPasses(t *testing.T) {
	for _, c := range []int{16, 24, 128} {
		for _, rows := range []int{1, 37, 2100} {
			for _, relu := range []bool{false, true} {
				for _, workers := range []int{1, 2} {
					t.Run(fmt.Sprintf("c%d/rows%d/relu=%v/workers%d", c, rows, relu, workers), func(t *testing.T) {
						testColumnPasses(t, c, rows, relu, workers, 0.3)
					})
				}
			}
		}
	}
	// A mean 500 times the spread: the one-pass variance must not cancel away.
	t.Run("large mean", func(t *testing.T) { testColumnPasses(t, 32, 3000, false, 2, 500) })
}

func testColumnPasses(t *testing.T, c, rows int, relu bool, workers int, offset float32) {
	n := rows * c
	x32, dy32 := randSlice[float32](1, n), randSlice[float32](2, n)
	for i := range x32 {
		x32[i] += offset // a mean away from zero, as after a bias
	}
	x, dy := to64(x32), to64(dy32)
	xt := make([]float64, n) // x̃
	for i, v := range x {
		if relu {
			v = math.Max(v, 0)
		}
		xt[i] = v
	}
	// References in float64.
	mean, variance, sumDy, sumDyXc := make([]float64, c), make([]float64, c), make([]float64, c), make([]float64, c)
	for r := range rows {
		for j := range c {
			mean[j] += xt[r*c+j] / float64(rows)
		}
	}
	for r := range rows {
		for j := range c {
			d := xt[r*c+j] - mean[j]
			variance[j] += d * d / float64(rows)
			sumDy[j] += dy[r*c+j]
			sumDyXc[j] += dy[r*c+j] * d
		}
	}
	scale, shift, a, b := randSlice[float32](3, c), randSlice[float32](4, c), randSlice[float32](5, c), randSlice[float32](6, c)
	affine, affine2, relug := make([]float64, n), make([]float64, n), make([]float64, n)
	for r := range rows {
		for j := range c {
			i := r*c + j
			affine[i] = xt[i]*float64(scale[j]) + float64(shift[j])
			if !relu || x[i] > 0 {
				affine2[i] = dy[i]*float64(a[j]) + xt[i]*float64(b[j]) + float64(shift[j])
			}
			if x[i] > 0 {
				relug[i] = dy[i]
			}
		}
	}

	const tol = 1e-5
	gotMean, gotVar := make([]float64, c), make([]float64, c)
	ColumnMoments(gotMean, gotVar, x32, rows, c, relu, workers)
	check := func(what string, got, want []float64) {
		t.Helper()
		if d := maxRelDiff(got, want); d > tol {
			t.Errorf("%s differs from the float64 reference by %.3g relative", what, d)
		}
	}
	check("ColumnMoments mean", gotMean, mean)
	check("ColumnMoments variance", gotVar, variance)
	gotS1, gotS2 := make([]float64, c), make([]float64, c)
	ColumnGradSums(gotS1, gotS2, dy32, x32, mean, rows, c, relu, workers)
	check("ColumnGradSums Σdy", gotS1, sumDy)
	check("ColumnGradSums Σdy·(x̃−μ)", gotS2, sumDyXc)
	sums := make([]float32, c)
	ColumnSums(sums, dy32, rows, c, workers)
	check("ColumnSums", to64(sums), sumDy)
	out := make([]float32, n)
	Affine(out, x32, scale, shift, rows, c, relu, workers)
	check("Affine", to64(out), affine)
	Affine2(out, dy32, x32, a, b, shift, rows, c, relu, nil, workers)
	check("Affine2", to64(out), affine2)
	out = make([]float32, n)
	gotSums, wantSums := make([]float64, c), make([]float64, c)
	Affine2(out, dy32, x32, a, b, shift, rows, c, relu, gotSums, workers)
	check("Affine2 with sums", to64(out), affine2)
	for i, v := range affine2 {
		wantSums[i%c] += v
	}
	check("Affine2's column sums", gotSums, wantSums)
	sum, wantSum := make([]float32, n), make([]float64, n)
	Add(sum, x32, dy32, workers)
	for i := range wantSum {
		wantSum[i] = x[i] + dy[i]
	}
	check("Add", to64(sum), wantSum)
	g := make([]float32, n)
	ReLUGrad(g, x32, dy32, workers)
	check("ReLUGrad", to64(g), relug)
}
