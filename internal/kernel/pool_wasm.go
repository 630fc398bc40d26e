//go:build goexperiment.simd && wasm

package kernel

// maxPoolSIMD is MaxPool3x3s2 over output rows lo…hi (of N·OH) with
// WebAssembly SIMD128 (maxPoolPixels, in pool_wasm.s) when C is a multiple of
// 16, and reports whether it ran.
func maxPoolSIMD(y, x []float32, g Geom, lo, hi int) bool {
	c := g.C
	if c%16 != 0 || c == 0 {
		return false
	}
	o := g.Pooled(c)
	if o.W <= 0 {
		return true
	}
	for r := lo; r < hi; r++ {
		b, oy := r/o.H, r%o.H
		top := (b*g.H + 2*oy) * g.W * c                         // the source pixel of the row's first window's top-left tap
		_, _ = x[top+(2*g.W+2*(o.W-1)+3)*c-1], y[(r+1)*o.W*c-1] // the last values maxPoolPixels reads and writes
		maxPoolPixels(&y[r*o.W*c], &x[top], uintptr(4*c), uintptr(4*g.W*c), o.W)
	}
	return true
}

// maxPoolPixels writes n consecutive output pixels of a 3×3 stride-2
// max-pool (pool_wasm.s): out is the first, top its window's top-left source
// pixel, c4 and stride the bytes of a pixel and of a source image row.
//
//go:noescape
func maxPoolPixels(out, top *float32, c4, stride uintptr, n int)
