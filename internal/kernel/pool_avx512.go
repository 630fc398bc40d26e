//go:build goexperiment.simd && amd64

package kernel

import "simd/archsimd"

// maxPoolSIMD is MaxPool3x3s2 over output rows lo…hi (of N·OH) with AVX-512
// when C is a multiple of 16, and reports whether it ran.
func maxPoolSIMD(y, x []float32, g Geom, lo, hi int) bool {
	c := g.C
	if !simdColumns(c) {
		return false
	}
	o := g.Pooled(c)
	for r := lo; r < hi; r++ {
		b, oy := r/o.H, r%o.H
		for ox := range o.W {
			out := y[(r*o.W+ox)*c : (r*o.W+ox+1)*c]
			for j := 0; j < c; j += 16 {
				q0 := ((b*g.H+2*oy)*g.W+2*ox)*c + j
				m := archsimd.LoadFloat32x16Array((*[16]float32)(x[q0 : q0+16]))
				for t := 1; t < 9; t++ {
					q := ((b*g.H+2*oy+t/3)*g.W+2*ox+t%3)*c + j
					m = m.Max(archsimd.LoadFloat32x16Array((*[16]float32)(x[q : q+16])))
				}
				m.StoreArray((*[16]float32)(out[j : j+16]))
			}
		}
	}
	return true
}

// maxPoolGradSIMD is MaxPool3x3s2Grad for images lo…hi with AVX-512 when C is
// a multiple of 16, into dx already cleared, and reports whether it ran.
// Each output's gradient goes to the first tap, in order, that equals the
// maximum: what is left of it after a tap took it is zero (d − d).
func maxPoolGradSIMD(dx, x, y, dy []float32, g Geom, lo, hi int) bool {
	c := g.C
	if !simdColumns(c) {
		return false
	}
	o := g.Pooled(c)
	for b := lo; b < hi; b++ {
		for oy := range o.H {
			for ox := range o.W {
				r := ((b*o.H+oy)*o.W + ox) * c
				for j := 0; j < c; j += 16 {
					m := archsimd.LoadFloat32x16Array((*[16]float32)(y[r+j : r+j+16]))
					left := archsimd.LoadFloat32x16Array((*[16]float32)(dy[r+j : r+j+16]))
					for t := range 9 {
						q := ((b*g.H+2*oy+t/3)*g.W+2*ox+t%3)*c + j
						take := left.Masked(archsimd.LoadFloat32x16Array((*[16]float32)(x[q : q+16])).Equal(m))
						d := (*[16]float32)(dx[q : q+16])
						archsimd.LoadFloat32x16Array(d).Add(take).StoreArray(d)
						left = left.Sub(take)
					}
				}
			}
		}
	}
	return true
}
