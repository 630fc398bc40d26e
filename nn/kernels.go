package nn

// This file holds the compute kernels of the forward pass. They work on NHWC
// float32 slices, allocate nothing, and are written for Go's amd64 and wasm
// backends alike: inner loops over contiguous channels, slices re-sliced to a
// known length so the compiler drops bounds checks, borders outside the inner loop.

// epilogue is what a GEMM applies to each accumulated output before storing it:
// out = relu?(acc + bias) * scale + shift (+ the value already in dst when residual).
type epilogue struct {
	bias         []float32 // per output channel
	relu         bool
	scale, shift []float32 // batch-normalization affine after the activation; nil for none
	residual     bool      // add the destination's previous value (a residual connection)
}

// apply finishes one output value of channel n.
func (e *epilogue) apply(acc float32, n int, prev float32) float32 {
	v := acc + e.bias[n]
	if e.relu && v < 0 {
		v = 0
	}
	if e.scale != nil {
		v = v*e.scale[n] + e.shift[n]
	}
	if e.residual {
		v += prev
	}
	return v
}

// panelWidth is the number of output channels a GEMM micro-kernel computes at once.
const panelWidth = 4

// packPanels reorders a K×N row-major matrix into N/panelWidth panels of K
// rows of panelWidth values, so the micro-kernel reads B sequentially and
// indexes a row without bounds checks. N must be a multiple of panelWidth.
func packPanels(b []float32, k, n int) [][panelWidth]float32 {
	p := make([][panelWidth]float32, k*n/panelWidth)
	for j0 := 0; j0 < n; j0 += panelWidth {
		panel := p[j0/panelWidth*k : (j0/panelWidth+1)*k]
		for kk := range panel {
			copy(panel[kk][:], b[kk*n+j0:kk*n+j0+panelWidth])
		}
	}
	return p
}

// gemm computes dst[M×N] = epilogue(a[M×K] · B) where B is packed by packPanels.
// Rows are taken four at a time by a 4×4 register-blocked micro-kernel.
func gemm(dst, a []float32, bPacked [][panelWidth]float32, m, k, n int, ep *epilogue) {
	i := 0
	for ; i+4 <= m; i += 4 {
		a0 := a[i*k : i*k+k]
		a1 := a[(i+1)*k : (i+1)*k+k]
		a2 := a[(i+2)*k : (i+2)*k+k]
		a3 := a[(i+3)*k : (i+3)*k+k]
		for j0 := 0; j0 < n; j0 += panelWidth {
			c := kernel4x4(a0, a1, a2, a3, bPacked[j0/panelWidth*k:(j0/panelWidth+1)*k])
			for r := range 4 {
				row := dst[(i+r)*n+j0 : (i+r)*n+j0+panelWidth]
				for j := range row {
					row[j] = ep.apply(c[r*4+j], j0+j, row[j])
				}
			}
		}
	}
	for ; i < m; i++ {
		a0 := a[i*k : i*k+k]
		for j0 := 0; j0 < n; j0 += panelWidth {
			c := kernel1x4(a0, bPacked[j0/panelWidth*k:(j0/panelWidth+1)*k])
			row := dst[i*n+j0 : i*n+j0+panelWidth]
			for j := range row {
				row[j] = ep.apply(c[j], j0+j, row[j])
			}
		}
	}
}

// kernel4x4 returns the 4×4 block of products of four rows of A with one
// packed panel of B. The K loop is unrolled by two: loop back-edges are costly
// under wasm, and sixteen accumulators plus eight operands still fit in registers.
func kernel4x4(a0, a1, a2, a3 []float32, b [][panelWidth]float32) [16]float32 {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	a1 = a1[:len(a0)]
	a2 = a2[:len(a0)]
	a3 = a3[:len(a0)]
	b = b[:len(a0)]
	for kk := 0; kk < len(a0); kk += 2 {
		x0, x1, x2, x3 := a0[kk], a1[kk], a2[kk], a3[kk]
		b0, b1, b2, b3 := b[kk][0], b[kk][1], b[kk][2], b[kk][3]
		c00 += x0 * b0
		c01 += x0 * b1
		c02 += x0 * b2
		c03 += x0 * b3
		c10 += x1 * b0
		c11 += x1 * b1
		c12 += x1 * b2
		c13 += x1 * b3
		c20 += x2 * b0
		c21 += x2 * b1
		c22 += x2 * b2
		c23 += x2 * b3
		c30 += x3 * b0
		c31 += x3 * b1
		c32 += x3 * b2
		c33 += x3 * b3
		if kk+1 == len(a0) {
			break // odd K (conv1's 27)
		}
		x0, x1, x2, x3 = a0[kk+1], a1[kk+1], a2[kk+1], a3[kk+1]
		b0, b1, b2, b3 = b[kk+1][0], b[kk+1][1], b[kk+1][2], b[kk+1][3]
		c00 += x0 * b0
		c01 += x0 * b1
		c02 += x0 * b2
		c03 += x0 * b3
		c10 += x1 * b0
		c11 += x1 * b1
		c12 += x1 * b2
		c13 += x1 * b3
		c20 += x2 * b0
		c21 += x2 * b1
		c22 += x2 * b2
		c23 += x2 * b3
		c30 += x3 * b0
		c31 += x3 * b1
		c32 += x3 * b2
		c33 += x3 * b3
	}
	return [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
}

// kernel1x4 returns the products of one row of A with one packed panel of B.
func kernel1x4(a0 []float32, b [][panelWidth]float32) [4]float32 {
	var c0, c1, c2, c3 float32
	b = b[:len(a0)]
	for kk, x := range a0 {
		bk := &b[kk]
		c0 += x * bk[0]
		c1 += x * bk[1]
		c2 += x * bk[2]
		c3 += x * bk[3]
	}
	return [4]float32{c0, c1, c2, c3}
}

// depthwise3x3 computes a 3×3 depthwise convolution, stride 1, "same" zero
// padding, of src (h×w×c) into dst, with Keras kernel layout [3][3][c].
func depthwise3x3(dst, src, kernel []float32, h, w, c int) {
	for y := range h {
		interiorRow := y > 0 && y < h-1
		for x := range w {
			if interiorRow && x > 0 && x < w-1 {
				continue
			}
			depthwiseEdgePixel(dst, src, kernel, h, w, c, y, x)
		}
		if !interiorRow || w < 3 {
			continue
		}
		depthwiseInteriorRow(dst[(y*w+1)*c:(y*w+w-1)*c], src[(y-1)*w*c:(y+2)*w*c], kernel, w, c)
	}
}

// depthwiseInteriorRow computes the pixels 1..w-2 of one output row whose
// three source rows (above, same, below) are all inside the image.
func depthwiseInteriorRow(dst, rows, kernel []float32, w, c int) {
	k0, k1, k2 := kernel[0*c:1*c], kernel[1*c:2*c], kernel[2*c:3*c]
	k3, k4, k5 := kernel[3*c:4*c], kernel[4*c:5*c], kernel[5*c:6*c]
	k6, k7, k8 := kernel[6*c:7*c], kernel[7*c:8*c], kernel[8*c:9*c]
	stride := w * c
	for x := 1; x < w-1; x++ {
		out := dst[(x-1)*c : x*c]
		base := (x - 1) * c
		r0 := rows[base : base+3*c]
		r1 := rows[stride+base : stride+base+3*c]
		r2 := rows[2*stride+base : 2*stride+base+3*c]
		depthwisePixel(out, r0, r1, r2, k0, k1, k2, k3, k4, k5, k6, k7, k8)
	}
}

// depthwisePixel sums nine taps per channel for one interior output pixel:
// r0, r1, r2 hold the three neighbouring pixels (3c values) of the rows above, at and below.
func depthwisePixel(out, r0, r1, r2, k0, k1, k2, k3, k4, k5, k6, k7, k8 []float32) {
	c := len(out)
	r0, r1, r2 = r0[:3*c], r1[:3*c], r2[:3*c]
	k0, k1, k2 = k0[:c], k1[:c], k2[:c]
	k3, k4, k5 = k3[:c], k4[:c], k5[:c]
	k6, k7, k8 = k6[:c], k7[:c], k8[:c]
	for i := range out {
		out[i] = r0[i]*k0[i] + r0[c+i]*k1[i] + r0[2*c+i]*k2[i] +
			r1[i]*k3[i] + r1[c+i]*k4[i] + r1[2*c+i]*k5[i] +
			r2[i]*k6[i] + r2[c+i]*k7[i] + r2[2*c+i]*k8[i]
	}
}

// depthwiseEdgePixel computes one output pixel on the image border, skipping
// taps that fall in the zero padding.
func depthwiseEdgePixel(dst, src, kernel []float32, h, w, c, y, x int) {
	out := dst[(y*w+x)*c : (y*w+x+1)*c]
	clear(out)
	for dy := -1; dy <= 1; dy++ {
		sy := y + dy
		if sy < 0 || sy >= h {
			continue
		}
		for dx := -1; dx <= 1; dx++ {
			sx := x + dx
			if sx < 0 || sx >= w {
				continue
			}
			in := src[(sy*w+sx)*c : (sy*w+sx+1)*c]
			k := kernel[((dy+1)*3+dx+1)*c : ((dy+1)*3+dx+2)*c]
			for i := range out {
				out[i] += in[i] * k[i]
			}
		}
	}
}

// im2colConv1 gathers, for each output pixel of a 3×3 stride-2 valid
// convolution over an h×w×3 image, its 27 inputs in Keras kernel order (ky, kx, channel).
func im2colConv1(dst, src []float32, w int, out Dims) {
	for oy := range out.Height {
		for ox := range out.Width {
			patch := dst[(oy*out.Width+ox)*27 : (oy*out.Width+ox+1)*27]
			for ky := range 3 {
				row := src[((2*oy+ky)*w+2*ox)*3 : ((2*oy+ky)*w+2*ox+3)*3]
				copy(patch[ky*9:ky*9+9], row)
			}
		}
	}
}

// maxPool3x3s2 computes a 3×3 max-pool, stride 2, valid padding, of src (in×c) into dst (out×c).
func maxPool3x3s2(dst, src []float32, in, out Dims, c int) {
	for oy := range out.Height {
		for ox := range out.Width {
			o := dst[(oy*out.Width+ox)*c : (oy*out.Width+ox+1)*c]
			copy(o, src[(2*oy*in.Width+2*ox)*c:(2*oy*in.Width+2*ox+1)*c])
			for ky := range 3 {
				for kx := range 3 {
					p := src[((2*oy+ky)*in.Width+2*ox+kx)*c : ((2*oy+ky)*in.Width+2*ox+kx+1)*c]
					p = p[:len(o)]
					for i, v := range p {
						if v > o[i] {
							o[i] = v
						}
					}
				}
			}
		}
	}
}
