package kernel

// This file holds the per-column (per-channel) passes over an activation
// matrix of rows×c values: batch-normalization statistics and their
// gradients, bias gradients and the ReLU's gradient. They are memory-bound;
// they split the rows across workers and sum in float64.

// elementMinRows is the fewest rows worth a goroutine in a per-element pass.
const elementMinRows = 1024

// ColumnMoments writes each column's mean and biased variance (divided by
// rows) over the rows of x, in two passes for accuracy.
func ColumnMoments[T Float](mean, variance, x []T, rows, c, workers int) {
	checkLen("ColumnMoments x", len(x), rows*c)
	sums := sumColumns(rows, c, workers, func(part []float64, r int) {
		for j, v := range x[r*c : (r+1)*c] {
			part[j] += float64(v)
		}
	})
	for j := range c {
		mean[j] = T(sums[j] / float64(rows))
	}
	squares := sumColumns(rows, c, workers, func(part []float64, r int) {
		for j, v := range x[r*c : (r+1)*c] {
			d := float64(v - mean[j])
			part[j] += d * d
		}
	})
	for j := range c {
		variance[j] = T(squares[j] / float64(rows))
	}
}

// ColumnSums writes each column's sum over the rows of x.
func ColumnSums[T Float](dst, x []T, rows, c, workers int) {
	checkLen("ColumnSums x", len(x), rows*c)
	sums := sumColumns(rows, c, workers, func(part []float64, r int) {
		for j, v := range x[r*c : (r+1)*c] {
			part[j] += float64(v)
		}
	})
	for j := range c {
		dst[j] = T(sums[j])
	}
}

// ColumnCenteredDots writes, per column j, Σ_rows dy[r,j]·(x[r,j] − mean[j]):
// with the batch's mean and 1/σ it gives batch normalization's gamma gradient.
func ColumnCenteredDots[T Float](dst, dy, x, mean []T, rows, c, workers int) {
	checkLen("ColumnCenteredDots x", len(x), rows*c)
	checkLen("ColumnCenteredDots dy", len(dy), rows*c)
	sums := sumColumns(rows, c, workers, func(part []float64, r int) {
		d := dy[r*c : (r+1)*c]
		for j, v := range x[r*c : (r+1)*c] {
			part[j] += float64(d[j]) * float64(v-mean[j])
		}
	})
	for j := range c {
		dst[j] = T(sums[j])
	}
}

// sumColumns sums add's per-row contributions into c float64 columns, rows
// split across workers.
func sumColumns(rows, c, workers int, add func(part []float64, r int)) []float64 {
	parts := Reduce(rows, workers, elementMinRows, c, func(part []float64, lo, hi int) {
		for r := lo; r < hi; r++ {
			add(part, r)
		}
	})
	for _, p := range parts[1:] {
		addTo(parts[0], p)
	}
	return parts[0]
}

// Affine writes y = x·scale + shift, per column (y may be x).
func Affine[T Float](y, x, scale, shift []T, rows, c, workers int) {
	checkLen("Affine x", len(x), rows*c)
	checkLen("Affine y", len(y), rows*c)
	Rows(rows, workers, elementMinRows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := x[r*c:(r+1)*c], y[r*c:(r+1)*c]
			for j, v := range xr {
				yr[j] = v*scale[j] + shift[j]
			}
		}
	})
}

// Affine2 writes dst = dy·a + x·b + shift, per column: batch normalization's
// input gradient in one pass.
func Affine2[T Float](dst, dy, x, a, b, shift []T, rows, c, workers int) {
	checkLen("Affine2 dy", len(dy), rows*c)
	checkLen("Affine2 x", len(x), rows*c)
	checkLen("Affine2 dst", len(dst), rows*c)
	Rows(rows, workers, elementMinRows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, xr, o := dy[r*c:(r+1)*c], x[r*c:(r+1)*c], dst[r*c:(r+1)*c]
			for j, v := range xr {
				o[j] = d[j]*a[j] + v*b[j] + shift[j]
			}
		}
	})
}

// ReLUGrad writes g = dy where y > 0, else 0: the gradient through y = max(·, 0).
func ReLUGrad[T Float](g, y, dy []T, workers int) {
	n := len(g)
	checkLen("ReLUGrad y", len(y), n)
	checkLen("ReLUGrad dy", len(dy), n)
	Rows(n, workers, elementMinRows*64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if y[i] > 0 {
				g[i] = dy[i]
			} else {
				g[i] = 0
			}
		}
	})
}
