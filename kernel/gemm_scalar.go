//go:build !(goexperiment.simd && amd64)

package kernel

// gemmSIMD reports that there is no SIMD form in this build: build with
// GOEXPERIMENT=simd on amd64 for one.
func gemmSIMD(dst, a, b []float32, m, k, n int, ep *Epilogue[float32]) bool { return false }

// mulAddSIMD reports that there is no SIMD form in this build.
func mulAddSIMD(dst, a, b []float32) bool { return false }
