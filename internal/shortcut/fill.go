package shortcut

import (
	"image"
	"math"
)

// Fill detection parameters: the image is reduced to at most fillSide
// pixels a side (box average) and split into fillCell-pixel cells. A cell is
// fill when, along some direction within fillAngle degrees of an axis, the
// mean absolute difference between pixels fillStep apart is at most
// fillAlong levels (8-bit) while across that direction it is at least
// fillAcross levels and fillRatio times the difference along: constant
// along, varying across. Directions are tried every fillAngle degrees. Only fill cells
// connected through fill cells to the image's edge count, as nearest fill
// always starts at the edge.
const (
	fillSide   = 192
	fillCell   = 8
	fillAngle  = 5
	fillStep   = 3
	fillAlong  = 1.5
	fillAcross = 4
	fillRatio  = 4
)

// FillFraction estimates the share of img covered by nearest-fill streaks:
// the marks Keras's ImageDataGenerator leaves where a rotated, shifted or
// zoomed copy had no source pixels and repeated the edge pixels instead.
// Such a region is constant along one direction (the rotated axis) and
// varies across it, and it touches the edge of the image (see the fill
// constants); the estimate is the share of the image's cells that look so.
func FillFraction(img image.Image) float64 {
	lum, w, h := luminance(img, fillSide)
	cw, ch := w/fillCell, h/fillCell
	if cw < 1 || ch < 1 {
		return 0
	}
	at := func(x, y float64) (float64, bool) {
		if x < 0 || y < 0 || x > float64(w-1) || y > float64(h-1) {
			return 0, false
		}
		x0, y0 := int(x), int(y)
		x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
		fx, fy := x-float64(x0), y-float64(y0)
		top := lum[y0*w+x0]*(1-fx) + lum[y0*w+x1]*fx
		bot := lum[y1*w+x0]*(1-fx) + lum[y1*w+x1]*fx
		return top*(1-fy) + bot*fy, true
	}
	// diff is the mean absolute difference over the cell between each pixel
	// and the one fillStep away in direction (dx, dy).
	diff := func(cx, cy int, dx, dy float64) float64 {
		sum, n := 0.0, 0
		for y := cy * fillCell; y < (cy+1)*fillCell; y++ {
			for x := cx * fillCell; x < (cx+1)*fillCell; x++ {
				v, ok := at(float64(x)+fillStep*dx, float64(y)+fillStep*dy)
				if !ok {
					continue
				}
				sum += math.Abs(v - lum[y*w+x])
				n++
			}
		}
		if n == 0 {
			return math.Inf(1)
		}
		return sum / float64(n)
	}
	fill := make([]bool, cw*ch)
	for cy := range ch {
		for cx := range cw {
			for a := 0; a < 180; a += fillAngle {
				t := float64(a) * math.Pi / 180
				ux, uy := math.Cos(t), math.Sin(t)
				along := diff(cx, cy, ux, uy)
				if along > fillAlong {
					continue
				}
				if across := diff(cx, cy, -uy, ux); across >= fillAcross && across >= fillRatio*along {
					fill[cy*cw+cx] = true
					break
				}
			}
		}
	}
	// Keep the fill cells connected to the edge.
	seen := make([]bool, len(fill))
	var stack []int
	for cy := range ch {
		for cx := range cw {
			if (cx == 0 || cy == 0 || cx == cw-1 || cy == ch-1) && fill[cy*cw+cx] {
				seen[cy*cw+cx] = true
				stack = append(stack, cy*cw+cx)
			}
		}
	}
	count := 0
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		count++
		cx, cy := i%cw, i/cw
		for _, d := range [][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
			x, y := cx+d[0], cy+d[1]
			if x < 0 || y < 0 || x >= cw || y >= ch {
				continue
			}
			if j := y*cw + x; fill[j] && !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		}
	}
	return float64(count) / float64(cw*ch)
}

// luminance returns img's luma (Rec. 601, 8-bit levels) box-averaged down so
// that neither side exceeds side pixels, and its width and height.
func luminance(img image.Image, side int) ([]float64, int, int) {
	b := img.Bounds()
	f := max(1, (max(b.Dx(), b.Dy())+side-1)/side)
	w, h := b.Dx()/f, b.Dy()/f
	out := make([]float64, w*h)
	for y := range h * f {
		for x := range w * f {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			out[(y/f)*w+x/f] += (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
		}
	}
	for i := range out {
		out[i] /= float64(f * f)
	}
	return out, w, h
}
