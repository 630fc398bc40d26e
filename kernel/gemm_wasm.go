//go:build goexperiment.simd && wasm

package kernel

import "simd/archsimd"

// SIMD reports whether Gemm runs SIMD micro-kernels: WebAssembly SIMD128 in
// this build (for outputs of a multiple of 16 columns).
func SIMD() bool { return true }

// wasmMaxDepth and wasmMaxWidth bound the depth k and width n gemmSIMD
// takes: its packed rows of a and its strip of results live on the stack.
const (
	wasmMaxDepth = 512
	wasmMaxWidth = 512
)

// gemmSIMD computes gemmRows with WebAssembly SIMD128 when n is a multiple of
// 16 and k of 4 (both at most 512), and reports whether it did.
//
// The micro-kernel (strip2x16, in gemm_wasm.s) walks two rows of a across b,
// sixteen columns at a time: eight 4-wide accumulators; per step along k four
// loads of b and two broadcasts of a for sixteen multiplies and sixteen adds.
// WebAssembly has no fused multiply-add: each output is summed in k's order
// with two roundings per step, bitwise what the scalar form computes (so
// ep.Unfused changes nothing here). The strip's results then get the
// epilogue, 4 columns at a time, with simd/archsimd.
//
// In headless Chromium on a 2-core Xeon the 5476×128×128 product runs at
// 33–35 GFLOP/s, four times the scalar 3×4 kernel. A broadcast costs a
// shuffle, which competes with the arithmetic: 2×16 and 1×32 tiles (two or
// one broadcast per 16 multiplies) beat 4×8 (four, 29 GFLOP/s); packing a's
// rows, 6-row tiles and unrolling by 1, 2 or 4 changed nothing measurable,
// and 3×16 (17 vector locals for 16 registers) spilled.
func gemmSIMD(dst, a, b []float32, m, k, n int, ep *Epilogue[float32]) bool {
	if n%16 != 0 || n > wasmMaxWidth || k == 0 || k%stripUnroll != 0 || k > wasmMaxDepth || m == 0 {
		return false
	}
	var out [2 * wasmMaxWidth]float32
	a, b = a[:m*k], b[:k*n]
	for i := 0; i < m; i += 2 {
		a0, a1 := &a[i*k], &a[min(i+1, m-1)*k] // past the last row, it again: computed, then dropped
		strip2x16(a0, a1, &b[0], uintptr(4*n), k, n/16, &out[0], uintptr(4*n))
		for q := range min(2, m-i) {
			epilogue4(dst[(i+q)*n:(i+q+1)*n], out[q*n:(q+1)*n], ep)
		}
	}
	return true
}

// stripUnroll is the unrolling of strip2x16's loop along k (k must be a multiple of it).
const stripUnroll = 4

// strip2x16 computes two rows of a product, sixteen columns at a time (gemm_wasm.s).
//
//go:noescape
func strip2x16(a0, a1, b *float32, ldb uintptr, k, tiles int, out *float32, ldo uintptr)

// epilogue4 stores ep applied to the accumulated row acc into row, four
// columns at a time (len(row) is a multiple of 4), in the scalar form's order.
func epilogue4(row, acc []float32, ep *Epilogue[float32]) {
	if ep == nil {
		copy(row, acc)
		return
	}
	n := len(row)
	acc = acc[:n]
	for j := 0; j < n; j += 4 {
		v := archsimd.LoadFloat32x4Array((*[4]float32)(acc[j:]))
		if ep.Bias != nil {
			v = v.Add(archsimd.LoadFloat32x4Array((*[4]float32)(ep.Bias[j:])))
		}
		if ep.ReLU {
			v = v.Max(archsimd.Float32x4{})
		}
		if ep.Scale != nil {
			v = v.Mul(archsimd.LoadFloat32x4Array((*[4]float32)(ep.Scale[j:]))).Add(archsimd.LoadFloat32x4Array((*[4]float32)(ep.Shift[j:])))
		}
		if ep.Accumulate {
			v = v.Add(archsimd.LoadFloat32x4Array((*[4]float32)(row[j:])))
		}
		v.StoreArray((*[4]float32)(row[j:]))
	}
}
