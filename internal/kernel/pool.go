package kernel

// Pooled is the geometry after a 3×3 stride-2 valid window (the network's
// first convolution or its max-pool) with c output channels.
func (g Geom) Pooled(c int) Geom { return Geom{g.N, (g.H-3)/2 + 1, (g.W-3)/2 + 1, c} }

// MaxPool3x3s2 writes y (g.Pooled(g.C)) the 3×3 stride-2 valid max-pool of x (g).
func MaxPool3x3s2[T Float](y, x []T, g Geom, workers int) {
	o := g.Pooled(g.C)
	checkLen("MaxPool3x3s2 x", len(x), g.Size())
	checkLen("MaxPool3x3s2 y", len(y), o.Size())
	if split(o.N*o.H, workers, depthwiseMinRows) <= 1 {
		maxPoolRows(y, x, g, 0, o.N*o.H) // no closure: one goroutine's call allocates nothing
		return
	}
	Rows(o.N*o.H, workers, depthwiseMinRows, func(lo, hi int) { maxPoolRows(y, x, g, lo, hi) })
}

// maxPoolRows is MaxPool3x3s2 for output rows lo…hi (of N·OH) on one
// goroutine: the SIMD form where there is one, else the scalar one.
func maxPoolRows[T Float](y, x []T, g Geom, lo, hi int) {
	if yf, ok := any(y).([]float32); ok && maxPoolSIMD(yf, any(x).([]float32), g, lo, hi) {
		return
	}
	maxPoolScalar(y, x, g, lo, hi)
}

// maxPoolScalar is maxPoolRows' portable reference.
func maxPoolScalar[T Float](y, x []T, g Geom, lo, hi int) {
	o := g.Pooled(g.C)
	c := g.C
	for r := lo; r < hi; r++ {
		b, oy := r/o.H, r%o.H
		for ox := range o.W {
			out := y[(r*o.W+ox)*c : (r*o.W+ox+1)*c]
			for t := range 9 {
				q := (b*g.H+2*oy+t/3)*g.W + 2*ox + t%3
				src := x[q*c : (q+1)*c]
				if t == 0 {
					copy(out, src)
					continue
				}
				for j, v := range src {
					if v > out[j] {
						out[j] = v
					}
				}
			}
		}
	}
}

// MaxPool3x3s2Grad writes dx (g), the gradient of MaxPool3x3s2's input, from
// its input x, output y and output gradient dy: each window's gradient goes
// to the first tap (in scan order) that holds the window's maximum.
// Windows overlap, so the images are split across workers, not rows.
func MaxPool3x3s2Grad[T Float](dx, x, y, dy []T, g Geom, workers int) {
	o := g.Pooled(g.C)
	checkLen("MaxPool3x3s2Grad dx", len(dx), g.Size())
	checkLen("MaxPool3x3s2Grad dy", len(dy), o.Size())
	c := g.C
	Rows(g.N, workers, 1, func(lo, hi int) {
		clear(dx[lo*g.H*g.W*c : hi*g.H*g.W*c])
		if df, ok := any(dx).([]float32); ok && maxPoolGradSIMD(df, any(x).([]float32), any(y).([]float32), any(dy).([]float32), g, lo, hi) {
			return
		}
		for b := lo; b < hi; b++ {
			for oy := range o.H {
				for ox := range o.W {
					r := (b*o.H+oy)*o.W + ox
					m, d := y[r*c:(r+1)*c], dy[r*c:(r+1)*c]
					for j := range c {
						for t := range 9 {
							q := (b*g.H+2*oy+t/3)*g.W + 2*ox + t%3
							if x[q*c+j] == m[j] {
								dx[q*c+j] += d[j]
								break
							}
						}
					}
				}
			}
		}
	})
}

// GlobalAvgPool writes y (N×C) the mean over each image's pixels of x (g).
func GlobalAvgPool[T Float](y, x []T, g Geom) {
	checkLen("GlobalAvgPool x", len(x), g.Size())
	pixels := g.H * g.W
	c := g.C
	acc := make([]float64, c)
	for b := range g.N {
		clear(acc)
		for p := range pixels {
			for j, v := range x[(b*pixels+p)*c : (b*pixels+p+1)*c] {
				acc[j] += float64(v)
			}
		}
		for j := range c {
			y[b*c+j] = T(acc[j] / float64(pixels))
		}
	}
}

// GlobalAvgPoolGrad writes dx (g) from dy (N×C): each pixel gets its image's dy / (H·W).
func GlobalAvgPoolGrad[T Float](dx, dy []T, g Geom) {
	checkLen("GlobalAvgPoolGrad dx", len(dx), g.Size())
	pixels := g.H * g.W
	c := g.C
	inv := 1 / T(pixels)
	for b := range g.N {
		for p := range pixels {
			row := dx[(b*pixels+p)*c : (b*pixels+p+1)*c]
			for j := range row {
				row[j] = dy[b*c+j] * inv
			}
		}
	}
}

// Im2col3x3s2 writes, for each output pixel of a 3×3 stride-2 valid window
// over the images x (g, C = 3), its 27 inputs in Keras kernel order (ky, kx,
// channel), padded with zeros to width values (≥ 27), for output pixels
// [lo, hi) of g.Pooled.
func Im2col3x3s2[T Float](cols, x []T, g Geom, width, lo, hi int) {
	o := g.Pooled(27)
	for r := lo; r < hi; r++ {
		b, oy, ox := r/(o.H*o.W), r/o.W%o.H, r%o.W
		patch := cols[(r-lo)*width : (r-lo+1)*width]
		for ky := range 3 {
			q := (b*g.H+2*oy+ky)*g.W + 2*ox
			copy(patch[ky*9:ky*9+9], x[q*3:q*3+9])
		}
		clear(patch[27:])
	}
}
