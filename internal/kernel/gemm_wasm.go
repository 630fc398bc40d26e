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
// ep.Unfused changes nothing here), and the epilogue is applied in the
// scalar form's order before each tile is stored.
//
// In headless Chromium the 5476×128×128 product runs several times faster
// than the scalar 3×4 kernel (figures: README, Speed). A broadcast costs a
// shuffle, which competes with the arithmetic: 2×16 and 1×32 tiles (two or
// one broadcast per 16 multiplies) beat 4×8 (four); packing a's
// rows, 6-row tiles and unrolling by 1, 2 or 4 changed nothing measurable,
// and 3×16 (17 vector locals for 16 registers) spilled.
func gemmSIMD(dst, a, b []float32, m, k, n int, ep *Epilogue[float32]) bool {
	if n%16 != 0 || n > wasmMaxWidth || k == 0 || k%stripUnroll != 0 || k > wasmMaxDepth || m == 0 {
		return false
	}
	a, b, dst = a[:m*k], b[:k*n], dst[:m*n]
	var e wasmEpilogue
	if ep != nil {
		if ep.Bias != nil {
			e.bias = &ep.Bias[:n][0]
		}
		if ep.Scale != nil {
			e.scale, e.shift = &ep.Scale[:n][0], &ep.Shift[:n][0]
		}
		if ep.ReLU {
			e.flags |= epilogueReLU
		}
		if ep.Accumulate {
			e.flags |= epilogueAccumulate
		}
	}
	i := 0
	for ; i+2 <= m; i += 2 {
		strip2x16(&a[i*k], &a[(i+1)*k], &b[0], uintptr(4*n), k, n/16, &dst[i*n], uintptr(4*n), &e)
	}
	if i < m { // the last row alone: twice into a strip of its own, then the epilogue
		var out [2 * wasmMaxWidth]float32
		strip2x16(&a[i*k], &a[i*k], &b[0], uintptr(4*n), k, n/16, &out[0], uintptr(4*n), &wasmEpilogue{})
		epilogue4(dst[i*n:(i+1)*n], out[:n], ep)
	}
	return true
}

// wasmEpilogue is an Epilogue as strip2x16 reads it: the first column's
// bias, scale and shift (nil for none), and flags.
type wasmEpilogue struct {
	bias, scale, shift *float32
	flags              uint64
}

// The flags of a wasmEpilogue.
const (
	epilogueReLU       = 1
	epilogueAccumulate = 2
)

// stripUnroll is the unrolling of strip2x16's loop along k (k must be a multiple of it).
const stripUnroll = 4

// strip2x16 computes two rows of a product with the epilogue ep, sixteen
// columns at a time (gemm_wasm.s).
//
//go:noescape
func strip2x16(a0, a1, b *float32, ldb uintptr, k, tiles int, out *float32, ldo uintptr, ep *wasmEpilogue)

// epilogue4 stores ep applied to the accumulated row acc into row (for an
// odd last row), four columns at a time, in the scalar form's order.
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
