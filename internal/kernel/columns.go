package kernel

// This file holds the per-column (per-channel) passes over an activation
// matrix of rows×c values: batch-normalization statistics, its affine maps
// and their gradients, bias gradients and the ReLU's gradient. They are
// memory-bound; they split the rows across workers, and the sums are kept in
// float64 (float32 only within blocks of a few dozen rows in the SIMD forms).
//
// A batch normalization may have a ReLU fused in front of it (relu true):
// it then normalises x̃ = max(x, 0), and its input gradient is masked by
// x > 0, so the ReLU's output and gradient never exist as matrices.

// elementMinRows is the fewest rows worth a goroutine in a per-element pass.
const elementMinRows = 1024

// ColumnMoments writes each column's mean and biased variance (divided by
// rows) over the rows of x̃ (x, or max(x, 0) when relu), in one pass: the
// sums of d = x̃ − s and d², s being the first row, so that the variance
// E[d²] − E[d]² does not cancel away when the mean is large against it.
func ColumnMoments[T Float](mean, variance []float64, x []T, rows, c int, relu bool, workers int) {
	checkLen("ColumnMoments x", len(x), rows*c)
	shift := make([]T, c)
	copy(shift, x[:c])
	if relu {
		for j, v := range shift {
			shift[j] = max(v, 0)
		}
	}
	parts := Reduce(rows, workers, elementMinRows, 2*c, func(part []float64, lo, hi int) {
		if xf, ok := any(x).([]float32); ok && momentsSIMD(part[:c], part[c:], xf, any(shift).([]float32), c, lo, hi, relu) {
			return
		}
		for r := lo; r < hi; r++ {
			for j, v := range x[r*c : (r+1)*c] {
				if relu {
					v = max(v, 0)
				}
				d := float64(v - shift[j])
				part[j] += d
				part[c+j] += d * d
			}
		}
	})
	for _, p := range parts[1:] {
		addTo(parts[0], p)
	}
	n := float64(rows)
	for j := range c {
		m := parts[0][j] / n
		mean[j] = float64(shift[j]) + m
		variance[j] = max(0, parts[0][c+j]/n-m*m)
	}
}

// ColumnGradSums writes, per column j, Σ_rows dy[r,j] and
// Σ_rows dy[r,j]·(x̃[r,j] − mean[j]) in one pass: with 1/σ they are batch
// normalization's beta and gamma gradients, and its input gradient needs both.
func ColumnGradSums[T Float](sumDy, sumDyXc []float64, dy, x []T, mean []float64, rows, c int, relu bool, workers int) {
	checkLen("ColumnGradSums x", len(x), rows*c)
	checkLen("ColumnGradSums dy", len(dy), rows*c)
	mean32 := Convert[float32](mean)
	parts := Reduce(rows, workers, elementMinRows, 2*c, func(part []float64, lo, hi int) {
		if xf, ok := any(x).([]float32); ok && gradSumsSIMD(part[:c], part[c:], any(dy).([]float32), xf, mean32, c, lo, hi, relu) {
			return
		}
		for r := lo; r < hi; r++ {
			d := dy[r*c : (r+1)*c]
			for j, v := range x[r*c : (r+1)*c] {
				if relu {
					v = max(v, 0)
				}
				part[j] += float64(d[j])
				part[c+j] += float64(d[j]) * (float64(v) - mean[j])
			}
		}
	})
	for _, p := range parts[1:] {
		addTo(parts[0], p)
	}
	copy(sumDy, parts[0][:c])
	copy(sumDyXc, parts[0][c:])
	if _, ok := any(x).([]float32); ok && simdColumns(c) {
		// The SIMD form centred on the float32 mean: Σdy·(x̃ − μ) = Σdy·(x̃ − μ₃₂) + (μ₃₂ − μ)·Σdy.
		for j := range c {
			sumDyXc[j] += (float64(mean32[j]) - mean[j]) * sumDy[j]
		}
	}
}

// ColumnSums writes each column's sum over the rows of x.
func ColumnSums[T Float](dst, x []T, rows, c, workers int) {
	checkLen("ColumnSums x", len(x), rows*c)
	sums := sumColumns(rows, c, workers, func(part []float64, lo, hi int) {
		if xf, ok := any(x).([]float32); ok && sumsSIMD(part, xf, c, lo, hi, false) {
			return
		}
		for r := lo; r < hi; r++ {
			for j, v := range x[r*c : (r+1)*c] {
				part[j] += float64(v)
			}
		}
	})
	for j := range c {
		dst[j] = T(sums[j])
	}
}

// sumColumns sums add's contributions of row ranges into c float64 columns,
// the rows split across workers.
func sumColumns(rows, c, workers int, add func(part []float64, lo, hi int)) []float64 {
	parts := Reduce(rows, workers, elementMinRows, c, add)
	for _, p := range parts[1:] {
		addTo(parts[0], p)
	}
	return parts[0]
}

// Affine writes y = x̃·scale + shift per column, x̃ = x or max(x, 0) when
// relu (y may be x).
func Affine[T Float](y, x, scale, shift []T, rows, c int, relu bool, workers int) {
	checkLen("Affine x", len(x), rows*c)
	checkLen("Affine y", len(y), rows*c)
	Rows(rows, workers, elementMinRows, func(lo, hi int) {
		if yf, ok := any(y).([]float32); ok && affineSIMD(yf, any(x).([]float32), any(scale).([]float32), any(shift).([]float32), c, lo, hi, relu) {
			return
		}
		for r := lo; r < hi; r++ {
			xr, yr := x[r*c:(r+1)*c], y[r*c:(r+1)*c]
			for j, v := range xr {
				if relu {
					v = max(v, 0)
				}
				yr[j] = v*scale[j] + shift[j]
			}
		}
	})
}

// Affine2 writes dst = dy·a + x̃·b + shift per column, and with relu
// x̃ = max(x, 0) and dst = 0 where x ≤ 0: batch normalization's input
// gradient (through a fused ReLU) in one pass. When sums is not nil it also
// writes each column's sum of dst there (the gradient of the bias of the
// convolution before, which needs no pass of its own then).
func Affine2[T Float](dst, dy, x, a, b, shift []T, rows, c int, relu bool, sums []float64, workers int) {
	checkLen("Affine2 dy", len(dy), rows*c)
	checkLen("Affine2 x", len(x), rows*c)
	checkLen("Affine2 dst", len(dst), rows*c)
	size := 0
	if sums != nil {
		size = c
	}
	parts := Reduce(rows, workers, elementMinRows, size, func(part []float64, lo, hi int) {
		if df, ok := any(dst).([]float32); ok && affine2SIMD(df, any(dy).([]float32), any(x).([]float32),
			any(a).([]float32), any(b).([]float32), any(shift).([]float32), c, lo, hi, relu, part) {
			return
		}
		for r := lo; r < hi; r++ {
			d, xr, o := dy[r*c:(r+1)*c], x[r*c:(r+1)*c], dst[r*c:(r+1)*c]
			for j, v := range xr {
				switch {
				case relu && !(v > 0):
					o[j] = 0
				default:
					o[j] = d[j]*a[j] + v*b[j] + shift[j]
				}
			}
			if sums != nil {
				for j, v := range o {
					part[j] += float64(v)
				}
			}
		}
	})
	if sums != nil {
		clear(sums[:c])
		for _, p := range parts {
			addTo(sums[:c], p)
		}
	}
}

// Add writes dst = a + b elementwise (dst may be a or b).
func Add[T Float](dst, a, b []T, workers int) {
	n := len(dst)
	checkLen("Add a", len(a), n)
	checkLen("Add b", len(b), n)
	Rows(n, workers, elementMinRows*64, func(lo, hi int) {
		if df, ok := any(dst).([]float32); ok && addSIMD(df[lo:hi], any(a).([]float32)[lo:hi], any(b).([]float32)[lo:hi]) {
			return
		}
		for i := lo; i < hi; i++ {
			dst[i] = a[i] + b[i]
		}
	})
}

// ReLUGrad writes g = dy where y > 0, else 0: the gradient through y = max(·, 0).
func ReLUGrad[T Float](g, y, dy []T, workers int) {
	n := len(g)
	checkLen("ReLUGrad y", len(y), n)
	checkLen("ReLUGrad dy", len(dy), n)
	Rows(n, workers, elementMinRows*64, func(lo, hi int) {
		if gf, ok := any(g).([]float32); ok && reluGradSIMD(gf[lo:hi], any(y).([]float32)[lo:hi], any(dy).([]float32)[lo:hi]) {
			return
		}
		for i := lo; i < hi; i++ {
			v := dy[i]
			if !(y[i] > 0) {
				v = 0
			}
			g[i] = v
		}
	})
}
