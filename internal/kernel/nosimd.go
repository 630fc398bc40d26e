//go:build !(goexperiment.simd && (amd64 || wasm))

// This file stands in for the forward pass's SIMD kernels where there are
// none (other architectures, or a build without GOEXPERIMENT=simd): each
// reports false and the caller runs its scalar code.

package kernel

// SIMD reports whether Gemm runs SIMD micro-kernels: not in this build.
func SIMD() bool { return false }

// gemmSIMD reports that there is no SIMD form in this build: build with
// GOEXPERIMENT=simd on amd64 or js/wasm for one.
func gemmSIMD(dst, a, b []float32, m, k, n int, ep *Epilogue[float32]) bool { return false }

// depthwiseSIMD reports that there is no SIMD form in this build.
func depthwiseSIMD(y, x, k []float32, g Geom, lo, hi int) bool { return false }

// maxPoolSIMD reports that there is no SIMD form in this build.
func maxPoolSIMD(y, x []float32, g Geom, lo, hi int) bool { return false }
