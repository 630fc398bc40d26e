package nn

import (
	"fmt"
	"math"

	"papscope/internal/kernel"
)

// This file holds the compute kernels of the forward pass. They work on NHWC
// float32 slices, allocate nothing, and are written for Go's amd64 and wasm
// backends alike: inner loops over contiguous channels, slices re-sliced to a
// known length so the compiler drops bounds checks, borders outside the inner loop.

// epilogue is what a GEMM applies to each accumulated output before storing it:
// out = relu(acc + bias) * scale + shift (+ the value already in dst when residual).
// Every convolution of the network is followed by a ReLU; without batch
// normalization, scale is 1 and shift 0 (see newEpilogue).
type epilogue struct {
	bias, scale, shift []float32 // per output channel
	residual           bool      // add the destination's previous value (a residual connection)
}

// weightMatrix is a GEMM's right operand B (K×N, the weights) with its
// epilogue, in the form the kernel that runs it wants. Where package kernel
// runs SIMD micro-kernels (builds with GOEXPERIMENT=simd: native amd64 on an
// AVX-512 CPU, and the browser's SIMD128 build of wasm) that is kernel.Gemm
// on B row-major, multiplying and adding unfused so that its results are
// bitwise those of the scalar gemm below, which the browser's fallback build
// runs; elsewhere it is gemm on B packed. The depthwise convolution and the
// max-pool go to package kernel likewise (see sepconv.forward): bitwise the
// scalar results on wasm, within rounding natively, where kernel's depthwise
// convolution uses fused multiply-adds.
type weightMatrix struct {
	k, n   int                       // K padded to a multiple of kStep
	packed [][panelWidth]float32     // for gemm
	rows   []float32                 // for kernel.Gemm: K×N row-major, zero rows past the real K
	ep     epilogue                  // for gemm
	simd   *kernel.Epilogue[float32] // for kernel.Gemm
}

// newWeightMatrix prepares b (k×n row-major) and the epilogue ep.
func newWeightMatrix(b []float32, k, n int, ep epilogue) weightMatrix {
	m := weightMatrix{k: padK(k), n: n, ep: ep}
	if !kernel.SIMD() {
		m.packed = packPanels(b, k, n)
		return m
	}
	m.rows = make([]float32, m.k*n)
	copy(m.rows, b[:k*n])
	m.simd = &kernel.Epilogue[float32]{Bias: ep.bias, ReLU: true, Scale: ep.scale, Shift: ep.shift, Accumulate: ep.residual, Unfused: true}
	return m
}

// mul computes dst[rows×N] = ep(a[rows×K] · B) on this goroutine.
func (m *weightMatrix) mul(dst, a []float32, rows int) {
	if kernel.SIMD() && m.simd != nil { // SIMD() is false at compile time elsewhere: the scalar build links no kernel code
		kernel.Gemm(dst[:rows*m.n], a[:rows*m.k], m.rows, rows, m.k, m.n, m.simd, 1)
		return
	}
	gemm(dst, a, m.packed, rows, m.k, m.n, &m.ep)
}

// newEpilogue returns the epilogue relu(acc + bias) * scale + shift; nil
// scale and shift mean no batch normalization after the activation.
func newEpilogue(bias, scale, shift []float32) epilogue {
	if scale == nil {
		scale, shift = make([]float32, len(bias)), make([]float32, len(bias))
		for i := range scale {
			scale[i] = 1
		}
	}
	return epilogue{bias: bias, scale: scale, shift: shift}
}

// relu is max(v, 0) without a branch: Go's wasm backend has no float select
// and max(v, 0) on float32 is a runtime call. v+|v| is 2v or 0 exactly.
func relu(v float32) float32 {
	return 0.5 * (v + math.Float32frombits(math.Float32bits(v)&0x7fffffff))
}

// finish is the epilogue of one output: relu(acc + bias) * scale + shift + old,
// where old is the destination's previous value for a residual connection, else 0.
func finish(acc, bias, scale, shift, old float32) float32 {
	return relu(acc+bias)*scale + shift + old
}

// previous returns what a residual connection adds to a 4-wide output row: its old values, or zeros.
func (e *epilogue) previous(row *[4]float32) [4]float32 {
	if e.residual {
		return *row
	}
	return [4]float32{}
}

// panelWidth is the number of output channels a GEMM micro-kernel computes at once.
const panelWidth = 4

// kStep is the unrolling of the micro-kernel's K loop: K must be a multiple of it.
const kStep = 4

// gemmDepth's K loop is written out for kStep == 4: this fails to compile otherwise.
const _ = uint(kStep-4) + uint(4-kStep)

// packPanels reorders a K×N row-major matrix into N/panelWidth panels of K
// rows of panelWidth values, so the micro-kernel reads B sequentially and
// indexes a row without bounds checks. N must be a multiple of panelWidth.
// K is padded with zero rows to a multiple of kStep.
func packPanels(b []float32, k, n int) [][panelWidth]float32 {
	kp := padK(k)
	p := make([][panelWidth]float32, kp*n/panelWidth)
	for j0 := 0; j0 < n; j0 += panelWidth {
		panel := p[j0/panelWidth*kp : (j0/panelWidth+1)*kp]
		for kk := range k {
			copy(panel[kk][:], b[kk*n+j0:kk*n+j0+panelWidth])
		}
	}
	return p
}

// padK rounds k up to a multiple of kStep.
func padK(k int) int { return (k + kStep - 1) / kStep * kStep }

// gemm computes dst[M×N] = epilogue(a[M×K] · B) where B is packed by packPanels.
// K is one of the network's GEMM depths: conv1K, 64 or 128.
func gemm(dst, a []float32, bPacked [][panelWidth]float32, m, k, n int, ep *epilogue) {
	switch k {
	case conv1K:
		gemmDepth[*[3 * conv1K]float32, *[conv1K][panelWidth]float32](dst, a, bPacked, m, n, ep)
	case 64:
		gemmDepth[*[3 * 64]float32, *[64][panelWidth]float32](dst, a, bPacked, m, n, ep)
	case 128:
		gemmDepth[*[3 * 128]float32, *[128][panelWidth]float32](dst, a, bPacked, m, n, ep)
	default:
		panic(fmt.Sprintf("nn: no GEMM kernel for depth %d", k))
	}
}

// gemmDepth is gemm for one depth K, known at compile time: A is three rows of
// A (3K values) and B one packed panel (K rows), as array pointers whose length
// the compiler knows, so it proves every index in range and addresses the
// three rows from one base at constant offsets.
//
// The rows are taken three at a time by a 3×4 register-blocked micro-kernel.
// Go's wasm backend has 16 float32 registers: twelve accumulators, three
// operands of A and one of B fit, where a 4×4 tile spills on every step. The K
// loop is unrolled by kStep, as every loop back-edge is costly under wasm. In
// headless Chromium, 3×4 measured fastest of 2×4, 3×4, 4×4, 2×8, 3×8 and 4×8
// tiles unrolled by 2, 4 or 8, and the known depth sped up the pointwise
// convolutions, where unrolling by 8 and blocking rows for the cache gained
// nothing (figures: the README's Speed section). The epilogue is written with
// inlinable helpers (finish, previous): a method call per row was slower,
// mostly saving and reloading registers.
func gemmDepth[A *[3 * conv1K]float32 | *[3 * 64]float32 | *[3 * 128]float32, B *[conv1K][panelWidth]float32 | *[64][panelWidth]float32 | *[128][panelWidth]float32](dst, a []float32, bPacked [][panelWidth]float32, m, n int, ep *epilogue) {
	var panel B
	k := len(panel)
	i := 0
	for ; i+3 <= m; i += 3 {
		pa := A(a[i*k:])
		for j0 := 0; j0 < n; j0 += panelWidth {
			pb := B(bPacked[j0/panelWidth*k:])
			var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23 float32
			for kk := 0; kk <= k-kStep; kk += kStep {
				p, x0, x1, x2 := &pb[kk], pa[kk], pa[k+kk], pa[2*k+kk]
				c00 += x0 * p[0]
				c10 += x1 * p[0]
				c20 += x2 * p[0]
				c01 += x0 * p[1]
				c11 += x1 * p[1]
				c21 += x2 * p[1]
				c02 += x0 * p[2]
				c12 += x1 * p[2]
				c22 += x2 * p[2]
				c03 += x0 * p[3]
				c13 += x1 * p[3]
				c23 += x2 * p[3]
				p, x0, x1, x2 = &pb[kk+1], pa[kk+1], pa[k+kk+1], pa[2*k+kk+1]
				c00 += x0 * p[0]
				c10 += x1 * p[0]
				c20 += x2 * p[0]
				c01 += x0 * p[1]
				c11 += x1 * p[1]
				c21 += x2 * p[1]
				c02 += x0 * p[2]
				c12 += x1 * p[2]
				c22 += x2 * p[2]
				c03 += x0 * p[3]
				c13 += x1 * p[3]
				c23 += x2 * p[3]
				p, x0, x1, x2 = &pb[kk+2], pa[kk+2], pa[k+kk+2], pa[2*k+kk+2]
				c00 += x0 * p[0]
				c10 += x1 * p[0]
				c20 += x2 * p[0]
				c01 += x0 * p[1]
				c11 += x1 * p[1]
				c21 += x2 * p[1]
				c02 += x0 * p[2]
				c12 += x1 * p[2]
				c22 += x2 * p[2]
				c03 += x0 * p[3]
				c13 += x1 * p[3]
				c23 += x2 * p[3]
				p, x0, x1, x2 = &pb[kk+3], pa[kk+3], pa[k+kk+3], pa[2*k+kk+3]
				c00 += x0 * p[0]
				c10 += x1 * p[0]
				c20 += x2 * p[0]
				c01 += x0 * p[1]
				c11 += x1 * p[1]
				c21 += x2 * p[1]
				c02 += x0 * p[2]
				c12 += x1 * p[2]
				c22 += x2 * p[2]
				c03 += x0 * p[3]
				c13 += x1 * p[3]
				c23 += x2 * p[3]
			}
			b, s, t := (*[4]float32)(ep.bias[j0:]), (*[4]float32)(ep.scale[j0:]), (*[4]float32)(ep.shift[j0:])
			r0, r1, r2 := (*[4]float32)(dst[i*n+j0:]), (*[4]float32)(dst[(i+1)*n+j0:]), (*[4]float32)(dst[(i+2)*n+j0:])
			o0, o1, o2 := ep.previous(r0), ep.previous(r1), ep.previous(r2)
			*r0 = [4]float32{finish(c00, b[0], s[0], t[0], o0[0]), finish(c01, b[1], s[1], t[1], o0[1]), finish(c02, b[2], s[2], t[2], o0[2]), finish(c03, b[3], s[3], t[3], o0[3])}
			*r1 = [4]float32{finish(c10, b[0], s[0], t[0], o1[0]), finish(c11, b[1], s[1], t[1], o1[1]), finish(c12, b[2], s[2], t[2], o1[2]), finish(c13, b[3], s[3], t[3], o1[3])}
			*r2 = [4]float32{finish(c20, b[0], s[0], t[0], o2[0]), finish(c21, b[1], s[1], t[1], o2[1]), finish(c22, b[2], s[2], t[2], o2[2]), finish(c23, b[3], s[3], t[3], o2[3])}
		}
	}
	for ; i < m; i++ {
		a0 := a[i*k : (i+1)*k]
		for j0 := 0; j0 < n; j0 += panelWidth {
			c := kernel1x4(a0, bPacked[j0/panelWidth*k:(j0/panelWidth+1)*k])
			b, s, t := (*[4]float32)(ep.bias[j0:]), (*[4]float32)(ep.scale[j0:]), (*[4]float32)(ep.shift[j0:])
			r := (*[4]float32)(dst[i*n+j0:])
			o := ep.previous(r)
			*r = [4]float32{finish(c[0], b[0], s[0], t[0], o[0]), finish(c[1], b[1], s[1], t[1], o[1]), finish(c[2], b[2], s[2], t[2], o[2]), finish(c[3], b[3], s[3], t[3], o[3])}
		}
	}
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

// depthwise computes a 3×3 depthwise convolution as depthwise3x3 does, with
// package kernel's SIMD form where the build has one.
func depthwise(dst, src, k []float32, h, w, c int) {
	if kernel.SIMD() {
		kernel.Depthwise3x3(dst, src, k, kernel.Geom{N: 1, H: h, W: w, C: c}, 1)
		return
	}
	depthwise3x3(dst, src, k, h, w, c)
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
// three source rows (above, same, below) are all inside the image, three
// pixels at a time: they share six of their nine source pixels and every
// kernel value, which cuts the loads per output from 18 to 8.
func depthwiseInteriorRow(dst, rows, kernel []float32, w, c int) {
	k0, k1, k2 := kernel[0*c:1*c], kernel[1*c:2*c], kernel[2*c:3*c]
	k3, k4, k5 := kernel[3*c:4*c], kernel[4*c:5*c], kernel[5*c:6*c]
	k6, k7, k8 := kernel[6*c:7*c], kernel[7*c:8*c], kernel[8*c:9*c]
	stride := w * c
	x := 1
	for ; x+2 < w-1; x += 3 {
		base := (x - 1) * c
		depthwiseTriple(dst[(x-1)*c:(x+2)*c], rows[base:base+5*c], rows[stride+base:stride+base+5*c],
			rows[2*stride+base:2*stride+base+5*c], k0, k1, k2, k3, k4, k5, k6, k7, k8)
	}
	for ; x < w-1; x++ {
		base := (x - 1) * c
		depthwisePixel(dst[(x-1)*c:x*c], rows[base:base+3*c], rows[stride+base:stride+base+3*c],
			rows[2*stride+base:2*stride+base+3*c], k0, k1, k2, k3, k4, k5, k6, k7, k8)
	}
}

// depthwiseTriple computes three neighbouring interior output pixels into out
// (3c values): r0, r1, r2 hold the five neighbouring source pixels (5c
// values) of the rows above, at and below. Every operand is re-sliced to c so
// the loop has no bounds checks; the sums are in depthwisePixel's order.
func depthwiseTriple(out, r0, r1, r2, k0, k1, k2, k3, k4, k5, k6, k7, k8 []float32) {
	c := len(out) / 3
	o0, o1, o2 := out[:c], out[c:2*c], out[2*c:3*c]
	a0, a1, a2, a3, a4 := r0[:c], r0[c:2*c], r0[2*c:3*c], r0[3*c:4*c], r0[4*c:5*c]
	b0, b1, b2, b3, b4 := r1[:c], r1[c:2*c], r1[2*c:3*c], r1[3*c:4*c], r1[4*c:5*c]
	d0, d1, d2, d3, d4 := r2[:c], r2[c:2*c], r2[2*c:3*c], r2[3*c:4*c], r2[4*c:5*c]
	o1, o2, a1, a2, a3, a4 = o1[:c], o2[:c], a1[:c], a2[:c], a3[:c], a4[:c]
	b1, b2, b3, b4, d1, d2, d3, d4 = b1[:c], b2[:c], b3[:c], b4[:c], d1[:c], d2[:c], d3[:c], d4[:c]
	k0, k1, k2 = k0[:c], k1[:c], k2[:c]
	k3, k4, k5 = k3[:c], k4[:c], k5[:c]
	k6, k7, k8 = k6[:c], k7[:c], k8[:c]
	for i := range o0 {
		w0, w1, w2 := k0[i], k1[i], k2[i]
		s0 := a0[i]*w0 + a1[i]*w1 + a2[i]*w2
		s1 := a1[i]*w0 + a2[i]*w1 + a3[i]*w2
		s2 := a2[i]*w0 + a3[i]*w1 + a4[i]*w2
		w0, w1, w2 = k3[i], k4[i], k5[i]
		s0 = s0 + b0[i]*w0 + b1[i]*w1 + b2[i]*w2
		s1 = s1 + b1[i]*w0 + b2[i]*w1 + b3[i]*w2
		s2 = s2 + b2[i]*w0 + b3[i]*w1 + b4[i]*w2
		w0, w1, w2 = k6[i], k7[i], k8[i]
		o0[i] = s0 + d0[i]*w0 + d1[i]*w1 + d2[i]*w2
		o1[i] = s1 + d1[i]*w0 + d2[i]*w1 + d3[i]*w2
		o2[i] = s2 + d2[i]*w0 + d3[i]*w1 + d4[i]*w2
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

// conv1K is conv1's GEMM depth: its 27 inputs (3×3×3) padded to a multiple of kStep.
const conv1K = (27 + kStep - 1) / kStep * kStep

// im2colConv1 gathers, for each output pixel of a 3×3 stride-2 valid
// convolution over an h×w×3 image, its 27 inputs in Keras kernel order (ky, kx,
// channel), followed by zeros up to conv1K.
func im2colConv1(dst, src []float32, w int, out Dims) {
	for oy := range out.Height {
		for ox := range out.Width {
			patch := dst[(oy*out.Width+ox)*conv1K : (oy*out.Width+ox+1)*conv1K]
			for ky := range 3 {
				row := src[((2*oy+ky)*w+2*ox)*3 : ((2*oy+ky)*w+2*ox+3)*3]
				copy(patch[ky*9:ky*9+9], row)
			}
			clear(patch[27:])
		}
	}
}

// maxPool computes a 3×3 stride-2 max-pool as maxPool3x3s2 does, with
// package kernel's SIMD form where the build has one.
func maxPool(dst, src []float32, in, out Dims, c int) {
	if kernel.SIMD() {
		kernel.MaxPool3x3s2(dst[:out.Height*out.Width*c], src[:in.Height*in.Width*c], kernel.Geom{N: 1, H: in.Height, W: in.Width, C: c}, 1)
		return
	}
	maxPool3x3s2(dst, src, in, out, c)
}

// maxPool3x3s2 computes a 3×3 max-pool, stride 2, valid padding, of src (in×c) into dst (out×c).
// src must hold no negative values (it is a ReLU's output): the maximum is
// then that of the floats' bit patterns as int32, which Go's wasm backend
// computes without a branch or a runtime call, unlike a float32 max.
func maxPool3x3s2(dst, src []float32, in, out Dims, c int) {
	for oy := range out.Height {
		for ox := range out.Width {
			o := dst[(oy*out.Width+ox)*c : (oy*out.Width+ox+1)*c]
			r0 := src[((2*oy)*in.Width+2*ox)*c:][:3*c]
			r1 := src[((2*oy+1)*in.Width+2*ox)*c:][:3*c]
			r2 := src[((2*oy+2)*in.Width+2*ox)*c:][:3*c]
			maxPoolPixel(o, r0, r1, r2)
		}
	}
}

// maxPoolPixel writes to o the per-channel maximum of the three neighbouring pixels in each of r0, r1, r2.
func maxPoolPixel(o, r0, r1, r2 []float32) {
	c := len(o)
	a0, a1, a2 := r0[:c], r0[c:2*c], r0[2*c:3*c]
	b0, b1, b2 := r1[:c], r1[c:2*c], r1[2*c:3*c]
	d0, d1, d2 := r2[:c], r2[c:2*c], r2[2*c:3*c]
	a1, a2, b1, b2, d1, d2 = a1[:c], a2[:c], b1[:c], b2[:c], d1[:c], d2[:c]
	for i := range o {
		m := max(bits(a0[i]), bits(a1[i]), bits(a2[i]),
			bits(b0[i]), bits(b1[i]), bits(b2[i]),
			bits(d0[i]), bits(d1[i]), bits(d2[i]))
		o[i] = math.Float32frombits(uint32(m))
	}
}

// bits is the bit pattern of v as an int32, ordered as v is when v >= 0.
func bits(v float32) int32 { return int32(math.Float32bits(v)) }
