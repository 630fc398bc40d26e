// Package outliers makes images that are not liquid-based-cytology fields —
// flat colours, noise, stripes, text-like pages and natural-scene-like
// pictures — to measure how well the out-of-distribution score tells them
// from real (or synthetic) fields. Images are seeded and deterministic.
package outliers

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
)

// Kind is a family of non-cytology images.
type Kind int

// The kinds, in the order Kinds returns them.
const (
	Flat    Kind = iota // one uniform colour
	Noise               // independent uniform noise per pixel and channel
	Stripes             // two-colour stripes at a random angle and period
	Text                // dark glyph-like strokes in lines on a light page
	Natural             // a sky-over-land scene with fractal (1/f) texture
)

// Kinds returns every kind.
func Kinds() []Kind { return []Kind{Flat, Noise, Stripes, Text, Natural} }

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Flat:
		return "flat"
	case Noise:
		return "noise"
	case Stripes:
		return "stripes"
	case Text:
		return "text"
	case Natural:
		return "natural"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Render returns image number index of kind k at width×height; the same
// arguments give the same pixels.
func Render(k Kind, seed uint64, index, width, height int) (*image.NRGBA, error) {
	if width < 1 || height < 1 {
		return nil, fmt.Errorf("outliers: size %dx%d, want at least 1x1", width, height)
	}
	rng := rand.New(rand.NewPCG(seed, uint64(k)<<32|uint64(index)))
	img := image.NewNRGBA(image.Rect(0, 0, width, height))
	switch k {
	case Flat:
		c := randColor(rng)
		fillFunc(img, func(x, y int) color.NRGBA { return c })
	case Noise:
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255
		}
	case Stripes:
		stripes(img, rng)
	case Text:
		text(img, rng)
	case Natural:
		natural(img, rng)
	default:
		return nil, fmt.Errorf("outliers: unknown kind %d", int(k))
	}
	return img, nil
}

func randColor(rng *rand.Rand) color.NRGBA {
	return color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
}

func fillFunc(img *image.NRGBA, f func(x, y int) color.NRGBA) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			img.SetNRGBA(x, y, f(x, y))
		}
	}
}

func stripes(img *image.NRGBA, rng *rand.Rand) {
	a, b := randColor(rng), randColor(rng)
	theta := rng.Float64() * math.Pi
	period := 6 + rng.Float64()*60
	duty := 0.3 + 0.4*rng.Float64()
	cs, sn := math.Cos(theta), math.Sin(theta)
	fillFunc(img, func(x, y int) color.NRGBA {
		p := (float64(x)*cs + float64(y)*sn) / period
		if p-math.Floor(p) < duty {
			return a
		}
		return b
	})
}

// text draws lines of "words": runs of glyph-sized cells, each a few strokes.
func text(img *image.NRGBA, rng *rand.Rand) {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	paper := color.NRGBA{uint8(225 + rng.IntN(31)), uint8(220 + rng.IntN(36)), uint8(205 + rng.IntN(51)), 255}
	ink := color.NRGBA{uint8(rng.IntN(60)), uint8(rng.IntN(60)), uint8(rng.IntN(90)), 255}
	fillFunc(img, func(x, y int) color.NRGBA { return paper })
	size := max(4, int(float64(h)*(0.02+0.03*rng.Float64())))
	stroke := max(1, size/6)
	margin := 2 * size
	for top := margin; top+size < h-margin/2; top += size * 2 {
		x := margin
		for x < w-margin {
			letters := 2 + rng.IntN(8)
			for range letters {
				if x+size > w-margin {
					break
				}
				glyph(img, rng, x, top, size*3/4, size, stroke, ink)
				x += size*3/4 + stroke
			}
			x += size
		}
	}
}

// glyph draws 2–4 random horizontal, vertical or diagonal strokes in a cell.
func glyph(img *image.NRGBA, rng *rand.Rand, x0, y0, cw, ch, stroke int, ink color.NRGBA) {
	for range 2 + rng.IntN(3) {
		x1, y1 := x0+rng.IntN(cw+1), y0+rng.IntN(ch+1)
		x2, y2 := x0+rng.IntN(cw+1), y0+rng.IntN(ch+1)
		switch rng.IntN(3) {
		case 0:
			y2 = y1
		case 1:
			x2 = x1
		}
		steps := max(abs(x2-x1), abs(y2-y1), 1)
		for s := 0; s <= steps; s++ {
			cx := x1 + (x2-x1)*s/steps
			cy := y1 + (y2-y1)*s/steps
			for dy := range stroke {
				for dx := range stroke {
					if (image.Point{cx + dx, cy + dy}).In(img.Bounds()) {
						img.SetNRGBA(cx+dx, cy+dy, ink)
					}
				}
			}
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// natural paints a sky gradient above a horizon and textured land below, both
// modulated by fractal value noise, so it has the 1/f statistics of photographs.
func natural(img *image.NRGBA, rng *rand.Rand) {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	n := newFractal(rng, 6)
	horizon := 0.3 + 0.35*rng.Float64()
	skyTop := [3]float64{0.2 + 0.2*rng.Float64(), 0.4 + 0.2*rng.Float64(), 0.75 + 0.25*rng.Float64()}
	skyLow := [3]float64{0.7 + 0.2*rng.Float64(), 0.8 + 0.15*rng.Float64(), 0.9 + 0.1*rng.Float64()}
	landA := [3]float64{0.15 + 0.2*rng.Float64(), 0.3 + 0.3*rng.Float64(), 0.05 + 0.15*rng.Float64()}
	landB := [3]float64{0.4 + 0.2*rng.Float64(), 0.3 + 0.15*rng.Float64(), 0.15 + 0.1*rng.Float64()}
	scale := 1 / float64(max(w, h))
	fillFunc(img, func(x, y int) color.NRGBA {
		u, v := float64(x)*scale, float64(y)*scale
		t := n.at(u*4, v*4)
		fy := float64(y) / float64(h)
		edge := horizon + 0.08*(n.at(u*2+9.1, 3.7)-0.5)
		var c [3]float64
		if fy < edge {
			s := fy / edge
			for i := range c {
				c[i] = skyTop[i]*(1-s) + skyLow[i]*s + 0.15*(t-0.5)
			}
		} else {
			for i := range c {
				c[i] = landA[i]*(1-t) + landB[i]*t
			}
		}
		return color.NRGBA{unit8(c[0]), unit8(c[1]), unit8(c[2]), 255}
	})
}

func unit8(v float64) uint8 { return uint8(math.Round(255 * min(max(v, 0), 1))) }

// fractal is value noise summed over octaves with halving amplitude.
type fractal struct {
	octaves int
	grid    [64 * 64]float64
}

func newFractal(rng *rand.Rand, octaves int) *fractal {
	f := &fractal{octaves: octaves}
	for i := range f.grid {
		f.grid[i] = rng.Float64()
	}
	return f
}

// at returns the noise at (x, y), in [0, 1].
func (f *fractal) at(x, y float64) float64 {
	sum, amp, norm := 0.0, 1.0, 0.0
	for o := range f.octaves {
		sum += amp * f.value(x*float64(int(1)<<o)+float64(o)*17.3, y*float64(int(1)<<o)+float64(o)*5.9)
		norm += amp
		amp /= 2
	}
	return sum / norm
}

// value interpolates the lattice smoothly (wrapping every 64 cells).
func (f *fractal) value(x, y float64) float64 {
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	fx, fy = fx*fx*(3-2*fx), fy*fy*(3-2*fy)
	i, j := int(x0)&63, int(y0)&63
	g := func(a, b int) float64 { return f.grid[(b&63)*64+(a&63)] }
	top := g(i, j)*(1-fx) + g(i+1, j)*fx
	bot := g(i, j+1)*(1-fx) + g(i+1, j+1)*fx
	return top*(1-fy) + bot*fy
}
