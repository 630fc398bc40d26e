//go:build goexperiment.simd && amd64

package kernel

import "simd/archsimd"

// columnBlock is how many rows the SIMD column sums add in float32 before
// adding the block's sums to the float64 partial sums.
const columnBlock = 128

// simdColumns reports whether the SIMD column passes apply: AVX-512 and
// whole 16-wide vectors per row.
func simdColumns(c int) bool { return archsimd.X86.AVX512() && c%16 == 0 && c > 0 }

// load16 loads x[i:i+16], as max(·, 0) when relu.
func load16(x []float32, i int, relu bool) archsimd.Float32x16 {
	v := archsimd.LoadFloat32x16Array((*[16]float32)(x[i : i+16]))
	if relu {
		v = v.Max(archsimd.Float32x16{})
	}
	return v
}

// addBlock adds the 16 float32 sums in v to part[0:16] in float64.
func addBlock(part []float64, v archsimd.Float32x16) {
	var s [16]float32
	v.StoreArray(&s)
	p := part[:16]
	for k, x := range s {
		p[k] += float64(x)
	}
}

// sumsSIMD is ColumnSums's loop over rows lo…hi.
func sumsSIMD(part []float64, x []float32, c, lo, hi int, relu bool) bool {
	if !simdColumns(c) {
		return false
	}
	for r0 := lo; r0 < hi; r0 += columnBlock {
		r1 := min(hi, r0+columnBlock)
		for j := 0; j < c; j += 16 {
			var acc archsimd.Float32x16
			for r := r0; r < r1; r++ {
				acc = acc.Add(load16(x, r*c+j, relu))
			}
			addBlock(part[j:], acc)
		}
	}
	return true
}

// momentsSIMD is ColumnMoments's loop over rows lo…hi: Σd and Σd² of
// d = x̃ − shift, into s1 and s2.
func momentsSIMD(s1, s2 []float64, x, shift []float32, c, lo, hi int, relu bool) bool {
	if !simdColumns(c) {
		return false
	}
	for r0 := lo; r0 < hi; r0 += columnBlock {
		r1 := min(hi, r0+columnBlock)
		for j := 0; j < c; j += 16 {
			sh := archsimd.LoadFloat32x16Array((*[16]float32)(shift[j : j+16]))
			var a1, a2 archsimd.Float32x16
			for r := r0; r < r1; r++ {
				d := load16(x, r*c+j, relu).Sub(sh)
				a1 = a1.Add(d)
				a2 = d.MulAdd(d, a2)
			}
			addBlock(s1[j:], a1)
			addBlock(s2[j:], a2)
		}
	}
	return true
}

// gradSumsSIMD is ColumnGradSums's loop over rows lo…hi.
func gradSumsSIMD(sumDy, sumDyXc []float64, dy, x, mean []float32, c, lo, hi int, relu bool) bool {
	if !simdColumns(c) {
		return false
	}
	for r0 := lo; r0 < hi; r0 += columnBlock {
		r1 := min(hi, r0+columnBlock)
		for j := 0; j < c; j += 16 {
			mu := archsimd.LoadFloat32x16Array((*[16]float32)(mean[j : j+16]))
			var s1, s2 archsimd.Float32x16
			for r := r0; r < r1; r++ {
				d := archsimd.LoadFloat32x16Array((*[16]float32)(dy[r*c+j : r*c+j+16]))
				s1 = s1.Add(d)
				s2 = d.MulAdd(load16(x, r*c+j, relu).Sub(mu), s2)
			}
			addBlock(sumDy[j:], s1)
			addBlock(sumDyXc[j:], s2)
		}
	}
	return true
}

// affineSIMD is Affine's loop over rows lo…hi, a row at a time (a pass down
// each 16-column strip would stream the matrix once per strip).
func affineSIMD(y, x, scale, shift []float32, c, lo, hi int, relu bool) bool {
	if !simdColumns(c) {
		return false
	}
	scale, shift = scale[:c], shift[:c]
	for r := lo; r < hi; r++ {
		xr, yr := x[r*c:(r+1)*c], y[r*c:(r+1)*c]
		for j := 0; j < c; j += 16 {
			sc := archsimd.LoadFloat32x16Array((*[16]float32)(scale[j : j+16]))
			sh := archsimd.LoadFloat32x16Array((*[16]float32)(shift[j : j+16]))
			load16(xr, j, relu).MulAdd(sc, sh).StoreArray((*[16]float32)(yr[j : j+16]))
		}
	}
	return true
}

// affine2SIMD is Affine2's loop over rows lo…hi, a row at a time; with
// part (c values) not empty it adds each column's sum of dst to it, summing
// blocks of columnBlock rows in float32 first.
func affine2SIMD(dst, dy, x, a, b, shift []float32, c, lo, hi int, relu bool, part []float64) bool {
	if !simdColumns(c) {
		return false
	}
	var zero archsimd.Float32x16
	a, b, shift = a[:c], b[:c], shift[:c]
	sum := len(part) > 0
	var blk []float32
	if sum {
		blk = make([]float32, c)
	}
	for r0 := lo; r0 < hi; r0 += columnBlock {
		r1 := min(hi, r0+columnBlock)
		for r := r0; r < r1; r++ {
			xr, dr, or := x[r*c:(r+1)*c], dy[r*c:(r+1)*c], dst[r*c:(r+1)*c]
			for j := 0; j < c; j += 16 {
				va := archsimd.LoadFloat32x16Array((*[16]float32)(a[j : j+16]))
				vb := archsimd.LoadFloat32x16Array((*[16]float32)(b[j : j+16]))
				vs := archsimd.LoadFloat32x16Array((*[16]float32)(shift[j : j+16]))
				xv := archsimd.LoadFloat32x16Array((*[16]float32)(xr[j : j+16]))
				v := archsimd.LoadFloat32x16Array((*[16]float32)(dr[j:j+16])).MulAdd(va, xv.MulAdd(vb, vs))
				if relu {
					v = v.Masked(xv.Greater(zero))
				}
				v.StoreArray((*[16]float32)(or[j : j+16]))
				if sum {
					s := (*[16]float32)(blk[j : j+16])
					v.Add(archsimd.LoadFloat32x16Array(s)).StoreArray(s)
				}
			}
		}
		if sum {
			for j, v := range blk {
				part[j] += float64(v)
			}
			clear(blk)
		}
	}
	return true
}

// addSIMD is Add on whole 16-value vectors (the tail in scalar code).
func addSIMD(dst, a, b []float32) bool {
	if !archsimd.X86.AVX512() {
		return false
	}
	n := len(dst)
	a, b = a[:n], b[:n]
	i := 0
	for ; i+16 <= n; i += 16 {
		archsimd.LoadFloat32x16Array((*[16]float32)(a[i : i+16])).Add(archsimd.LoadFloat32x16Array((*[16]float32)(b[i : i+16]))).StoreArray((*[16]float32)(dst[i : i+16]))
	}
	for ; i < n; i++ {
		dst[i] = a[i] + b[i]
	}
	return true
}

// reluGradSIMD is ReLUGrad on whole 16-value vectors (the tail in scalar code).
func reluGradSIMD(g, y, dy []float32) bool {
	if !archsimd.X86.AVX512() {
		return false
	}
	n := len(g)
	y, dy = y[:n], dy[:n]
	var zero archsimd.Float32x16
	i := 0
	for ; i+16 <= n; i += 16 {
		yv := archsimd.LoadFloat32x16Array((*[16]float32)(y[i : i+16]))
		archsimd.LoadFloat32x16Array((*[16]float32)(dy[i : i+16])).Masked(yv.Greater(zero)).StoreArray((*[16]float32)(g[i : i+16]))
	}
	for ; i < n; i++ {
		v := dy[i]
		if !(y[i] > 0) {
			v = 0
		}
		g[i] = v
	}
	return true
}
