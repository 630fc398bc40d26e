//go:build goexperiment.simd && amd64

package kernel

import "simd/archsimd"

// depthwiseSIMD is Depthwise3x3 over image rows lo…hi (of N·H) with AVX-512
// when C is a multiple of 16, and reports whether it ran: each output pixel's
// 16-channel strip sums its taps in a register and is stored once (the
// scalar form adds each tap into the output in memory).
func depthwiseSIMD(y, x, k []float32, g Geom, lo, hi int) bool {
	c := g.C
	if !simdColumns(c) {
		return false
	}
	k = k[:9*c]
	for r := lo; r < hi; r++ {
		b, yy := r/g.H, r%g.H
		ky0, ky1 := max(0, 1-yy), min(3, g.H+1-yy) // taps whose source row is inside
		for xx := range g.W {
			kx0, kx1 := max(0, 1-xx), min(3, g.W+1-xx)
			p := r*g.W + xx
			out := y[p*c : (p+1)*c]
			j := 0
			for ; j+64 <= c; j += 64 { // four strips at a time: fewer index computations per multiply-add
				var a0, a1, a2, a3 archsimd.Float32x16
				for ky := ky0; ky < ky1; ky++ {
					row := (b*g.H + yy + ky - 1) * g.W
					for kx := kx0; kx < kx1; kx++ {
						q := (row+xx+kx-1)*c + j
						t := (ky*3+kx)*c + j
						xs, ks := x[q:q+64], k[t:t+64]
						a0 = archsimd.LoadFloat32x16Array((*[16]float32)(xs[0:16])).MulAdd(archsimd.LoadFloat32x16Array((*[16]float32)(ks[0:16])), a0)
						a1 = archsimd.LoadFloat32x16Array((*[16]float32)(xs[16:32])).MulAdd(archsimd.LoadFloat32x16Array((*[16]float32)(ks[16:32])), a1)
						a2 = archsimd.LoadFloat32x16Array((*[16]float32)(xs[32:48])).MulAdd(archsimd.LoadFloat32x16Array((*[16]float32)(ks[32:48])), a2)
						a3 = archsimd.LoadFloat32x16Array((*[16]float32)(xs[48:64])).MulAdd(archsimd.LoadFloat32x16Array((*[16]float32)(ks[48:64])), a3)
					}
				}
				o := out[j : j+64]
				a0.StoreArray((*[16]float32)(o[0:16]))
				a1.StoreArray((*[16]float32)(o[16:32]))
				a2.StoreArray((*[16]float32)(o[32:48]))
				a3.StoreArray((*[16]float32)(o[48:64]))
			}
			for ; j < c; j += 16 {
				var acc archsimd.Float32x16
				for ky := ky0; ky < ky1; ky++ {
					row := (b*g.H + yy + ky - 1) * g.W
					for kx := kx0; kx < kx1; kx++ {
						q := (row+xx+kx-1)*c + j
						t := (ky*3+kx)*c + j
						acc = archsimd.LoadFloat32x16Array((*[16]float32)(x[q:q+16])).MulAdd(archsimd.LoadFloat32x16Array((*[16]float32)(k[t:t+16])), acc)
					}
				}
				acc.StoreArray((*[16]float32)(out[j : j+16]))
			}
		}
	}
	return true
}

// depthwiseGradKernelSIMD is Depthwise3x3GradKernel's sum over image rows
// lo…hi into part (9×C) with AVX-512 when C is a multiple of 16, and reports
// whether it ran: each pixel's output gradient is loaded once for its nine
// taps, 64 channels at a time.
func depthwiseGradKernelSIMD(part, x, dy []float32, g Geom, lo, hi int) bool {
	c := g.C
	if !simdColumns(c) || c%64 != 0 {
		return false
	}
	part = part[:9*c]
	for r := lo; r < hi; r++ {
		b, yy := r/g.H, r%g.H
		ky0, ky1 := max(0, 1-yy), min(3, g.H+1-yy)
		for xx := range g.W {
			kx0, kx1 := max(0, 1-xx), min(3, g.W+1-xx)
			p := r*g.W + xx
			for j := 0; j < c; j += 64 {
				ds := dy[p*c+j : p*c+j+64]
				d0 := archsimd.LoadFloat32x16Array((*[16]float32)(ds[0:16]))
				d1 := archsimd.LoadFloat32x16Array((*[16]float32)(ds[16:32]))
				d2 := archsimd.LoadFloat32x16Array((*[16]float32)(ds[32:48]))
				d3 := archsimd.LoadFloat32x16Array((*[16]float32)(ds[48:64]))
				for ky := ky0; ky < ky1; ky++ {
					row := (b*g.H + yy + ky - 1) * g.W
					for kx := kx0; kx < kx1; kx++ {
						q := (row+xx+kx-1)*c + j
						t := (ky*3+kx)*c + j
						xs, ps := x[q:q+64], part[t:t+64]
						p0, p1, p2, p3 := (*[16]float32)(ps[0:16]), (*[16]float32)(ps[16:32]), (*[16]float32)(ps[32:48]), (*[16]float32)(ps[48:64])
						archsimd.LoadFloat32x16Array((*[16]float32)(xs[0:16])).MulAdd(d0, archsimd.LoadFloat32x16Array(p0)).StoreArray(p0)
						archsimd.LoadFloat32x16Array((*[16]float32)(xs[16:32])).MulAdd(d1, archsimd.LoadFloat32x16Array(p1)).StoreArray(p1)
						archsimd.LoadFloat32x16Array((*[16]float32)(xs[32:48])).MulAdd(d2, archsimd.LoadFloat32x16Array(p2)).StoreArray(p2)
						archsimd.LoadFloat32x16Array((*[16]float32)(xs[48:64])).MulAdd(d3, archsimd.LoadFloat32x16Array(p3)).StoreArray(p3)
					}
				}
			}
		}
	}
	return true
}
