// Package kernel holds the compute kernels of papscope's network on
// row-major float32 (and, for gradient checks, float64) data: matrix
// products with a fused epilogue, the 3×3 depthwise convolution and its
// gradients, batch-normalization statistics and the reductions of training.
//
// Conventions, stated once:
//   - Activations are NHWC, held as matrices of N·H·W rows by C columns;
//     kernels of a layer are (inputs, outputs) matrices in Keras order.
//   - dst is the slice written; it never aliases an input unless a
//     function's doc says so. Lengths are the caller's contract: a slice
//     shorter than its dimensions say panics (a bug, not bad input).
//   - Nothing allocates per call except where a doc says so (per-worker
//     partial sums of reductions, a transposed copy of a small matrix).
//   - workers is how many goroutines a call may use (at least 1); results
//     do not depend on it except in the order of float additions of
//     reductions.
//   - Every kernel has a portable scalar form (the reference, and the path on
//     other architectures). Built with GOEXPERIMENT=simd on amd64, float32
//     kernels use AVX-512 when the CPU has it (simd/archsimd in the
//     *_avx512.go files, and one matrix-product micro-kernel in assembly,
//     gemm_amd64.s, where Go's register allocator left half the vector
//     registers unused) and are tested against the scalar form.
//   - Built with GOEXPERIMENT=simd for js/wasm (the browser's SIMD build),
//     the forward pass's kernels (Gemm, Depthwise3x3, MaxPool3x3s2) use
//     WebAssembly SIMD128: kernels in assembly (gemm_wasm.s,
//     depthwise_wasm.s, pool_wasm.s), which ran faster in Chromium than the
//     same loops in simd/archsimd (README, Speed), and archsimd for the
//     rest (*_wasm.go). With no fused multiply-add on wasm their results are
//     bitwise the scalar form's, which the fallback build (no GOEXPERIMENT)
//     runs in browsers without SIMD128.
package kernel
