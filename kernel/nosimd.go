//go:build !(goexperiment.simd && (amd64 || wasm))

// This file stands in for the SIMD kernels where there are none (other
// architectures, or a build without GOEXPERIMENT=simd): each reports false
// and the caller runs its scalar code.

package kernel

// SIMD reports whether Gemm runs SIMD micro-kernels: not in this build.
func SIMD() bool { return false }

// gemmSIMD reports that there is no SIMD form in this build: build with
// GOEXPERIMENT=simd on amd64 for one.
func gemmSIMD(dst, a, b []float32, m, k, n int, ep *Epilogue[float32]) bool { return false }

// gemmTNSIMD reports that there is no SIMD form in this build.
func gemmTNSIMD(part, a, b []float32, m, k, n int) bool { return false }

// mulAddSIMD reports that there is no SIMD form in this build.
func mulAddSIMD(dst, a, b []float32) bool { return false }

// The column passes' SIMD forms report that there are none in this build.

func sumsSIMD(part []float64, x []float32, c, lo, hi int, relu bool) bool             { return false }
func momentsSIMD(s1, s2 []float64, x, shift []float32, c, lo, hi int, relu bool) bool { return false }
func affineSIMD(y, x, scale, shift []float32, c, lo, hi int, relu bool) bool          { return false }
func affine2SIMD(dst, dy, x, a, b, shift []float32, c, lo, hi int, relu bool, part []float64) bool {
	return false
}
func reluGradSIMD(g, y, dy []float32) bool { return false }
func gradSumsSIMD(sumDy, sumDyXc []float64, dy, x, mean []float32, c, lo, hi int, relu bool) bool {
	return false
}

// depthwiseSIMD reports that there is no SIMD form in this build.
func depthwiseSIMD(y, x, k []float32, g Geom, lo, hi int) bool { return false }

// depthwiseGradKernelSIMD reports that there is no SIMD form in this build.
func depthwiseGradKernelSIMD(part, x, dy []float32, g Geom, lo, hi int) bool { return false }

// maxPoolSIMD reports that there is no SIMD form in this build.
func maxPoolSIMD(y, x []float32, g Geom, lo, hi int) bool { return false }

// maxPoolGradSIMD reports that there is no SIMD form in this build.
func maxPoolGradSIMD(dx, x, y, dy []float32, g Geom, lo, hi int) bool { return false }

// simdColumns reports that the column passes have no SIMD form in this build.
func simdColumns(c int) bool { return false }

// addSIMD reports that there is no SIMD form in this build.
func addSIMD(dst, a, b []float32) bool { return false }
