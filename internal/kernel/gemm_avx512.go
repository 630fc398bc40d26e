//go:build goexperiment.simd && amd64

package kernel

import "simd/archsimd"

// gemmSIMD computes gemmRows with AVX-512 when the CPU has it and n is a
// multiple of 16, and reports whether it did.
//
// The micro-kernel keeps a 4×32 tile of dst in eight 16-wide registers and,
// for each step along k, loads 32 values of one row of b and broadcasts one
// value of each of four rows of a: eight fused multiply-adds per six loads.
// b is read in place (no packing): with n a multiple of 16, 32 values are two
// whole cache lines, and a 32-column panel of b (k×32) stays in L1 while the
// rows of a stream past it.
func gemmSIMD(dst, a, b []float32, m, k, n int, ep *Epilogue[float32]) bool {
	if !archsimd.X86.AVX512() || n%16 != 0 || k == 0 {
		return false
	}
	if ep != nil && ep.Unfused {
		gemmUnfused(dst, a, b, m, k, n, ep)
		return true
	}
	b = b[:k*n]
	i := 0
	// 8×32 tiles in assembly where they fit (tile8x32 uses all 32 vector
	// registers and broadcasts from memory; Go's register allocator gives
	// SIMD code 15, which caps the Go tiles below at 4×32).
	if n%32 == 0 {
		var tile [256]float32
		for ; i+8 <= m; i += 8 {
			for j := 0; j < n; j += 32 {
				_ = a[(i+7)*k+k-1] // the rows tile8x32 reads
				tile8x32(&a[i*k], uintptr(4*k), 4, &b[j], uintptr(4*n), k, &tile)
				for r := range 8 {
					t := tile[32*r : 32*r+32]
					store16(dst[(i+r)*n+j:], archsimd.LoadFloat32x16Array((*[16]float32)(t[:16])), ep, j)
					store16(dst[(i+r)*n+j+16:], archsimd.LoadFloat32x16Array((*[16]float32)(t[16:32])), ep, j+16)
				}
			}
		}
	}
	for ; i+4 <= m; i += 4 {
		a0, a1, a2, a3 := a[i*k:(i+1)*k], a[(i+1)*k:(i+2)*k], a[(i+2)*k:(i+3)*k], a[(i+3)*k:(i+4)*k]
		j := 0
		for ; j+32 <= n; j += 32 {
			var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x16
			for kk := range a0 {
				row := b[kk*n+j:]
				b0 := archsimd.LoadFloat32x16Array((*[16]float32)(row[:16]))
				b1 := archsimd.LoadFloat32x16Array((*[16]float32)(row[16:32]))
				x := archsimd.BroadcastFloat32x16(a0[kk])
				c00 = x.MulAdd(b0, c00)
				c01 = x.MulAdd(b1, c01)
				x = archsimd.BroadcastFloat32x16(a1[kk])
				c10 = x.MulAdd(b0, c10)
				c11 = x.MulAdd(b1, c11)
				x = archsimd.BroadcastFloat32x16(a2[kk])
				c20 = x.MulAdd(b0, c20)
				c21 = x.MulAdd(b1, c21)
				x = archsimd.BroadcastFloat32x16(a3[kk])
				c30 = x.MulAdd(b0, c30)
				c31 = x.MulAdd(b1, c31)
			}
			store16(dst[i*n+j:], c00, ep, j)
			store16(dst[i*n+j+16:], c01, ep, j+16)
			store16(dst[(i+1)*n+j:], c10, ep, j)
			store16(dst[(i+1)*n+j+16:], c11, ep, j+16)
			store16(dst[(i+2)*n+j:], c20, ep, j)
			store16(dst[(i+2)*n+j+16:], c21, ep, j+16)
			store16(dst[(i+3)*n+j:], c30, ep, j)
			store16(dst[(i+3)*n+j+16:], c31, ep, j+16)
		}
		for ; j < n; j += 16 {
			var c0, c1, c2, c3 archsimd.Float32x16
			for kk := range a0 {
				b0 := archsimd.LoadFloat32x16Array((*[16]float32)(b[kk*n+j:]))
				c0 = archsimd.BroadcastFloat32x16(a0[kk]).MulAdd(b0, c0)
				c1 = archsimd.BroadcastFloat32x16(a1[kk]).MulAdd(b0, c1)
				c2 = archsimd.BroadcastFloat32x16(a2[kk]).MulAdd(b0, c2)
				c3 = archsimd.BroadcastFloat32x16(a3[kk]).MulAdd(b0, c3)
			}
			store16(dst[i*n+j:], c0, ep, j)
			store16(dst[(i+1)*n+j:], c1, ep, j)
			store16(dst[(i+2)*n+j:], c2, ep, j)
			store16(dst[(i+3)*n+j:], c3, ep, j)
		}
	}
	for ; i < m; i++ {
		ai := a[i*k : (i+1)*k]
		for j := 0; j < n; j += 16 {
			var c archsimd.Float32x16
			for kk, x := range ai {
				c = archsimd.BroadcastFloat32x16(x).MulAdd(archsimd.LoadFloat32x16Array((*[16]float32)(b[kk*n+j:])), c)
			}
			store16(dst[i*n+j:], c, ep, j)
		}
	}
	return true
}

// gemmUnfused is gemmSIMD with a multiply and an add (two roundings) in
// place of each fused multiply-add, every output summed along k in order as
// the scalar form does: bitwise the scalar results. Its tile is 4×16.
func gemmUnfused(dst, a, b []float32, m, k, n int, ep *Epilogue[float32]) {
	b = b[:k*n]
	i := 0
	for ; i+4 <= m; i += 4 {
		a0, a1, a2, a3 := a[i*k:(i+1)*k], a[(i+1)*k:(i+2)*k], a[(i+2)*k:(i+3)*k], a[(i+3)*k:(i+4)*k]
		for j := 0; j < n; j += 16 {
			var c0, c1, c2, c3 archsimd.Float32x16
			for kk := range a0 {
				b0 := archsimd.LoadFloat32x16Array((*[16]float32)(b[kk*n+j:]))
				c0 = c0.Add(archsimd.BroadcastFloat32x16(a0[kk]).Mul(b0))
				c1 = c1.Add(archsimd.BroadcastFloat32x16(a1[kk]).Mul(b0))
				c2 = c2.Add(archsimd.BroadcastFloat32x16(a2[kk]).Mul(b0))
				c3 = c3.Add(archsimd.BroadcastFloat32x16(a3[kk]).Mul(b0))
			}
			store16(dst[i*n+j:], c0, ep, j)
			store16(dst[(i+1)*n+j:], c1, ep, j)
			store16(dst[(i+2)*n+j:], c2, ep, j)
			store16(dst[(i+3)*n+j:], c3, ep, j)
		}
	}
	for ; i < m; i++ {
		ai := a[i*k : (i+1)*k]
		for j := 0; j < n; j += 16 {
			var c archsimd.Float32x16
			for kk, x := range ai {
				c = c.Add(archsimd.BroadcastFloat32x16(x).Mul(archsimd.LoadFloat32x16Array((*[16]float32)(b[kk*n+j:]))))
			}
			store16(dst[i*n+j:], c, ep, j)
		}
	}
}

// tnSIMDBlock is how many rows gemmTNSIMD sums at a time: a block of both
// operands (k and n ≤ 256 columns) stays in the core's L2 cache while every
// tile of the output passes over it.
const tnSIMDBlock = 256

// gemmTNSIMD adds a[m×k]ᵀ·b[m×n] to part (k×n) with AVX-512 when the CPU has
// it, k is a multiple of 4 and n of 32, and reports whether it did. It reads
// a as it lies: a 4×32 tile of part (rows kk…kk+3) sums, over the rows r of a
// block, a[r][kk+i] broadcast times 32 values of b's row r, eight fused
// multiply-adds per two loads and four broadcasts, as gemmSIMD's tile does.
func gemmTNSIMD(part, a, b []float32, m, k, n int) bool {
	if !archsimd.X86.AVX512() || k%4 != 0 || n%32 != 0 {
		return false
	}
	a, b, part = a[:m*k], b[:m*n], part[:k*n]
	var tile [256]float32
	for r0 := 0; r0 < m; r0 += tnSIMDBlock {
		r1 := min(m, r0+tnSIMDBlock)
		kk := 0
		// Eight rows of part at a time in assembly: A(i, d) = a[r0+d][kk+i].
		for ; kk+8 <= k; kk += 8 {
			for j := 0; j < n; j += 32 {
				_, _ = a[(r1-1)*k+kk+7], b[(r1-1)*n+j+31] // what tile8x32 reads
				tile8x32(&a[r0*k+kk], 4, uintptr(4*k), &b[r0*n+j], uintptr(4*n), r1-r0, &tile)
				for i := range 8 {
					t := tile[32*i : 32*i+32]
					addStore16(part[(kk+i)*n+j:], archsimd.LoadFloat32x16Array((*[16]float32)(t[:16])))
					addStore16(part[(kk+i)*n+j+16:], archsimd.LoadFloat32x16Array((*[16]float32)(t[16:32])))
				}
			}
		}
		for ; kk < k; kk += 4 {
			for j := 0; j < n; j += 32 {
				var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x16
				for r := r0; r < r1; r++ {
					ar := a[r*k+kk : r*k+kk+4]
					row := b[r*n+j : r*n+j+32]
					b0 := archsimd.LoadFloat32x16Array((*[16]float32)(row[:16]))
					b1 := archsimd.LoadFloat32x16Array((*[16]float32)(row[16:32]))
					x := archsimd.BroadcastFloat32x16(ar[0])
					c00, c01 = x.MulAdd(b0, c00), x.MulAdd(b1, c01)
					x = archsimd.BroadcastFloat32x16(ar[1])
					c10, c11 = x.MulAdd(b0, c10), x.MulAdd(b1, c11)
					x = archsimd.BroadcastFloat32x16(ar[2])
					c20, c21 = x.MulAdd(b0, c20), x.MulAdd(b1, c21)
					x = archsimd.BroadcastFloat32x16(ar[3])
					c30, c31 = x.MulAdd(b0, c30), x.MulAdd(b1, c31)
				}
				addStore16(part[kk*n+j:], c00)
				addStore16(part[kk*n+j+16:], c01)
				addStore16(part[(kk+1)*n+j:], c10)
				addStore16(part[(kk+1)*n+j+16:], c11)
				addStore16(part[(kk+2)*n+j:], c20)
				addStore16(part[(kk+2)*n+j+16:], c21)
				addStore16(part[(kk+3)*n+j:], c30)
				addStore16(part[(kk+3)*n+j+16:], c31)
			}
		}
	}
	return true
}

// addStore16 adds v to the 16 values at dst.
func addStore16(dst []float32, v archsimd.Float32x16) {
	d := (*[16]float32)(dst[:16])
	v.Add(archsimd.LoadFloat32x16Array(d)).StoreArray(d)
}

// SIMD reports whether Gemm runs AVX-512 micro-kernels in this build on
// this CPU (for outputs of a multiple of 16 columns).
func SIMD() bool { return archsimd.X86.AVX512() }

// tile8x32 computes an 8×32 tile of a matrix product (gemm_amd64.s).
//
//go:noescape
func tile8x32(a *float32, rowStride, depthStride uintptr, b *float32, ldb uintptr, k int, tile *[256]float32)

// store16 applies the epilogue to 16 accumulated values of columns j… and
// stores them at dst.
func store16(dst []float32, v archsimd.Float32x16, ep *Epilogue[float32], j int) {
	d := (*[16]float32)(dst)
	if ep != nil {
		if ep.Bias != nil {
			v = v.Add(archsimd.LoadFloat32x16Array((*[16]float32)(ep.Bias[j:])))
		}
		if ep.ReLU {
			v = v.Max(archsimd.Float32x16{})
		}
		if ep.Scale != nil {
			scale, shift := archsimd.LoadFloat32x16Array((*[16]float32)(ep.Scale[j:])), archsimd.LoadFloat32x16Array((*[16]float32)(ep.Shift[j:]))
			if ep.Unfused {
				v = v.Mul(scale).Add(shift)
			} else {
				v = v.MulAdd(scale, shift)
			}
		}
		if ep.Accumulate {
			v = v.Add(archsimd.LoadFloat32x16Array(d))
		}
	}
	v.StoreArray(d)
}

// mulAddSIMD computes MulAdd with AVX-512 when the CPU has it and the length
// is a multiple of 16, and reports whether it did.
func mulAddSIMD(dst, a, b []float32) bool {
	n := len(dst)
	if !archsimd.X86.AVX512() || n%16 != 0 {
		return false
	}
	a, b = a[:n], b[:n]
	for i := 0; i < n; i += 16 {
		d := (*[16]float32)(dst[i:])
		v := archsimd.LoadFloat32x16Array((*[16]float32)(a[i:])).MulAdd(archsimd.LoadFloat32x16Array((*[16]float32)(b[i:])), archsimd.LoadFloat32x16Array(d))
		v.StoreArray(d)
	}
	return true
}
