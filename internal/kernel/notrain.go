//go:build !(goexperiment.simd && amd64)

// This file stands in for the training passes' SIMD kernels where there are
// none: they have AVX-512 forms only (the browser, even with WebAssembly
// SIMD128, runs only the forward pass). Each reports false and the caller
// runs its scalar code.

package kernel

func gemmTNSIMD(part, a, b []float32, m, k, n int) bool                               { return false }
func mulAddSIMD(dst, a, b []float32) bool                                             { return false }
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
func depthwiseGradKernelSIMD(part, x, dy []float32, g Geom, lo, hi int) bool { return false }
func maxPoolGradSIMD(dx, x, y, dy []float32, g Geom, lo, hi int) bool        { return false }
func simdColumns(c int) bool                                                 { return false }
func addSIMD(dst, a, b []float32) bool                                       { return false }
