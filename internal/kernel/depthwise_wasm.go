//go:build goexperiment.simd && wasm

package kernel

import "simd/archsimd"

// wasmMaxChannels bounds the channels depthwiseSIMD takes: its packed kernel lives on the stack.
const wasmMaxChannels = 512

// depthwiseSIMD is Depthwise3x3 over image rows lo…hi (of N·H) with
// WebAssembly SIMD128 when C is a multiple of 16 (at most 512), and reports
// whether it ran. Interior pixels go to depthwiseInterior (depthwise_wasm.s),
// the image's border in Go (simd/archsimd). Either way each output sums its
// taps in the scalar form's order, a multiply then an add per tap (no fused
// multiply-add on wasm): bitwise the scalar results.
func depthwiseSIMD(y, x, k []float32, g Geom, lo, hi int) bool {
	c := g.C
	if c%16 != 0 || c == 0 || c > wasmMaxChannels {
		return false
	}
	// The kernel by groups of 16 channels, each group's nine taps together,
	// so the assembly reads them at constant offsets from one pointer.
	var packed [9 * wasmMaxChannels]float32
	k = k[:9*c]
	for j := 0; j < c; j += 16 {
		for t := range 9 {
			copy(packed[9*j+16*t:9*j+16*t+16], k[t*c+j:t*c+j+16])
		}
	}
	for r := lo; r < hi; r++ {
		b, yy := r/g.H, r%g.H
		for xx := 0; xx < g.W; xx++ {
			if xx == 1 && yy > 0 && yy < g.H-1 && g.W >= 3 {
				top := (b*g.H + yy - 1) * g.W * c             // the source pixel up and left of (yy, 1)
				_, _ = x[top+3*g.W*c-1], y[(r*g.W+g.W-1)*c-1] // the last values depthwiseInterior reads and writes
				depthwiseInterior(&y[(r*g.W+1)*c], &x[top], &packed[0], uintptr(4*c), uintptr(4*g.W*c), g.W-2)
				xx = g.W - 2
				continue
			}
			depthwisePixel4(y, x, k, g, r, xx)
		}
	}
	return true
}

// depthwiseInterior computes n consecutive output pixels away from the
// image's border (depthwise_wasm.s): out is the first, top the source pixel
// up and left of it, k the kernel packed by depthwiseSIMD, c4 and stride the
// bytes of a pixel and of an image row.
//
//go:noescape
func depthwiseInterior(out, top, k *float32, c4, stride uintptr, n int)

// depthwisePixel4 computes output pixel xx of image row r (of N·H), taps
// that fall outside the image skipped, 16 channels at a time.
func depthwisePixel4(y, x, k []float32, g Geom, r, xx int) {
	c := g.C
	b, yy := r/g.H, r%g.H
	ky0, ky1 := max(0, 1-yy), min(3, g.H+1-yy) // taps whose source row is inside
	kx0, kx1 := max(0, 1-xx), min(3, g.W+1-xx)
	p := r*g.W + xx
	out := y[p*c : (p+1)*c]
	for j := 0; j < c; j += 16 {
		var a0, a1, a2, a3 archsimd.Float32x4
		for ky := ky0; ky < ky1; ky++ {
			row := (b*g.H + yy + ky - 1) * g.W
			for kx := kx0; kx < kx1; kx++ {
				q := (row+xx+kx-1)*c + j
				t := (ky*3+kx)*c + j
				xs, ks := x[q:q+16], k[t:t+16]
				a0 = a0.Add(load4(xs[0:4]).Mul(load4(ks[0:4])))
				a1 = a1.Add(load4(xs[4:8]).Mul(load4(ks[4:8])))
				a2 = a2.Add(load4(xs[8:12]).Mul(load4(ks[8:12])))
				a3 = a3.Add(load4(xs[12:16]).Mul(load4(ks[12:16])))
			}
		}
		o := out[j : j+16]
		a0.StoreArray((*[4]float32)(o[0:4]))
		a1.StoreArray((*[4]float32)(o[4:8]))
		a2.StoreArray((*[4]float32)(o[8:12]))
		a3.StoreArray((*[4]float32)(o[12:16]))
	}
}

// load4 loads the first four values of s.
func load4(s []float32) archsimd.Float32x4 { return archsimd.LoadFloat32x4Array((*[4]float32)(s)) }
