// Package heatmap paints a Grad-CAM map, a small grid of values in [0,1], as a
// translucent colour overlay at the size an image is shown: bilinear
// upsampling, a blue-to-red colour scale, and opacity rising with the value so
// that where the model did not look stays clear.
package heatmap

import (
	"fmt"
	"math"
)

// stops is the colour scale: value → RGB, linear in between (dark blue, cyan, yellow, red).
var stops = [...]struct {
	v       float32
	r, g, b float32
}{
	{0, 20, 30, 140},
	{0.35, 0, 190, 220},
	{0.65, 250, 220, 0},
	{1, 220, 20, 20},
}

// Color returns the colour of value v, clamped to [0,1].
func Color(v float32) (r, g, b uint8) {
	v = clamp(v)
	for i := 1; i < len(stops); i++ {
		lo, hi := stops[i-1], stops[i]
		if v <= hi.v {
			t := (v - lo.v) / (hi.v - lo.v)
			mix := func(a, b float32) uint8 { return uint8(math.Round(float64(a + (b-a)*t))) }
			return mix(lo.r, hi.r), mix(lo.g, hi.g), mix(lo.b, hi.b)
		}
	}
	last := stops[len(stops)-1]
	return uint8(last.r), uint8(last.g), uint8(last.b)
}

func clamp(v float32) float32 {
	if !(v > 0) { // also NaN
		return 0
	}
	return min(v, 1)
}

// Paint writes into dst, non-premultiplied RGBA of dw×dh pixels (as a canvas's
// ImageData holds), the map m of mw×mh values upsampled bilinearly with pixel
// centres aligned, coloured by Color, with alpha opacity×255×value.
func Paint(dst []byte, dw, dh int, m []float32, mw, mh int, opacity float32) error {
	if dw <= 0 || dh <= 0 || len(dst) != dw*dh*4 {
		return fmt.Errorf("heatmap: destination has %d bytes, want %d×%d×4", len(dst), dw, dh)
	}
	if mw <= 0 || mh <= 0 || len(m) != mw*mh {
		return fmt.Errorf("heatmap: map has %d values, want %d×%d", len(m), mw, mh)
	}
	opacity = clamp(opacity)
	for y := range dh {
		y0, y1, fy := sample(y, dh, mh)
		for x := range dw {
			x0, x1, fx := sample(x, dw, mw)
			top := m[y0*mw+x0]*(1-fx) + m[y0*mw+x1]*fx
			bot := m[y1*mw+x0]*(1-fx) + m[y1*mw+x1]*fx
			v := clamp(top*(1-fy) + bot*fy)
			r, g, b := Color(v)
			o := dst[(y*dw+x)*4 : (y*dw+x)*4+4]
			o[0], o[1], o[2] = r, g, b
			o[3] = uint8(math.Round(float64(255 * opacity * v)))
		}
	}
	return nil
}

// sample maps destination pixel i of n onto a source axis of m cells: the two
// neighbouring cells and the weight of the second.
func sample(i, n, m int) (i0, i1 int, f float32) {
	s := (float32(i)+0.5)*float32(m)/float32(n) - 0.5
	if s <= 0 {
		return 0, 0, 0
	}
	if s >= float32(m-1) {
		return m - 1, m - 1, 0
	}
	i0 = int(s)
	return i0, i0 + 1, s - float32(i0)
}
