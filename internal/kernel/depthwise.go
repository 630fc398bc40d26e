package kernel

// Geom is the geometry of an NHWC batch held as an (N·H·W, C) matrix.
type Geom struct{ N, H, W, C int }

// Pixels is N·H·W, the number of rows of the batch's matrix.
func (g Geom) Pixels() int { return g.N * g.H * g.W }

// Size is N·H·W·C, the number of values.
func (g Geom) Size() int { return g.Pixels() * g.C }

// depthwiseMinRows is the fewest image rows worth a goroutine of their own.
const depthwiseMinRows = 8

// Depthwise3x3 computes the 3×3 depthwise convolution, stride 1, "same" zero
// padding, of x (g) with kernel k (9×C, Keras order: tap ky·3+kx, then
// channel) into y (g).
func Depthwise3x3[T Float](y, x, k []T, g Geom, workers int) {
	checkLen("Depthwise3x3 y", len(y), g.Size())
	checkLen("Depthwise3x3 x", len(x), g.Size())
	checkLen("Depthwise3x3 k", len(k), 9*g.C)
	if split(g.N*g.H, workers, depthwiseMinRows) <= 1 {
		depthwiseRows(y, x, k, g, 0, g.N*g.H) // no closure: one goroutine's call allocates nothing
		return
	}
	Rows(g.N*g.H, workers, depthwiseMinRows, func(lo, hi int) { depthwiseRows(y, x, k, g, lo, hi) })
}

// depthwiseRows is Depthwise3x3 for image rows lo…hi (of N·H) on one
// goroutine: the SIMD form where there is one, else the scalar one.
func depthwiseRows[T Float](y, x, k []T, g Geom, lo, hi int) {
	if yf, ok := any(y).([]float32); ok && depthwiseSIMD(yf, any(x).([]float32), any(k).([]float32), g, lo, hi) {
		return
	}
	depthwiseScalar(y, x, k, g, lo, hi)
}

// depthwiseScalar is depthwiseRows' portable reference: each tap's products
// are added into the output in tap order.
func depthwiseScalar[T Float](y, x, k []T, g Geom, lo, hi int) {
	c := g.C
	for r := lo; r < hi; r++ {
		clear(y[r*g.W*c : (r+1)*g.W*c])
		forTaps(g, r, func(p, q, t int) { MulAdd(y[p*c:(p+1)*c], x[q*c:(q+1)*c], k[t*c:(t+1)*c]) })
	}
}

// Depthwise3x3GradInput computes dx (g), the gradient of Depthwise3x3's input,
// from the kernel k and the output gradient dy (g): a 3×3 depthwise
// convolution of dy with k turned by 180°.
func Depthwise3x3GradInput[T Float](dx, k, dy []T, g Geom, workers int) {
	flipped := make([]T, 9*g.C)
	for t := range 9 {
		copy(flipped[(8-t)*g.C:(9-t)*g.C], k[t*g.C:(t+1)*g.C])
	}
	Depthwise3x3(dx, dy, flipped, g, workers)
}

// Depthwise3x3GradKernel computes dk (9×C), the gradient of Depthwise3x3's
// kernel, from its input x and output gradient dy (both g): the sum over
// pixels p of x at p's tap t times dy at p.
func Depthwise3x3GradKernel[T Float](dk, x, dy []T, g Geom, workers int) {
	checkLen("Depthwise3x3GradKernel dk", len(dk), 9*g.C)
	c := g.C
	parts := Reduce(g.N*g.H, workers, depthwiseMinRows, 9*c, func(part []T, lo, hi int) {
		if pf, ok := any(part).([]float32); ok && depthwiseGradKernelSIMD(pf, any(x).([]float32), any(dy).([]float32), g, lo, hi) {
			return
		}
		for r := lo; r < hi; r++ {
			forTaps(g, r, func(p, q, t int) { MulAdd(part[t*c:(t+1)*c], x[q*c:(q+1)*c], dy[p*c:(p+1)*c]) })
		}
	})
	clear(dk[:9*c])
	for _, p := range parts {
		addTo(dk[:9*c], p)
	}
}

// forTaps calls f for every pixel p of image row r (of N·H) and every tap t
// of its 3×3 window whose source pixel q lies inside the image, taps in
// order; pixel indices count rows of the batch's matrix.
func forTaps(g Geom, r int, f func(p, q, t int)) {
	b, y := r/g.H, r%g.H
	for x := range g.W {
		p := r*g.W + x
		for ky := range 3 {
			sy := y + ky - 1
			if sy < 0 || sy >= g.H {
				continue
			}
			for kx := range 3 {
				sx := x + kx - 1
				if sx < 0 || sx >= g.W {
					continue
				}
				f(p, (b*g.H+sy)*g.W+sx, ky*3+kx)
			}
		}
	}
}

// MulAdd adds the elementwise products a·b to dst (all of dst's length).
func MulAdd[T Float](dst, a, b []T) {
	if d, ok := any(dst).([]float32); ok && mulAddSIMD(d, any(a).([]float32), any(b).([]float32)) {
		return
	}
	mulAddScalar(dst, a, b)
}

// mulAddScalar is MulAdd's portable form.
func mulAddScalar[T Float](dst, a, b []T) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] += a[i] * b[i]
	}
}
