package synth

import (
	"image"
	"image/color"

	"papscope/nn"
)

// ContactSheet renders k default-size fields of class c (seeds seed, seed+1, …),
// each shrunk to tileWidth pixels wide, in a grid of up to four columns under a
// label naming the class; each tile is marked with its seed.
func ContactSheet(c nn.Class, seed uint64, k, tileWidth int) *image.NRGBA {
	k = max(k, 1)
	tw := max(tileWidth, 16)
	th := tw * 3 / 4
	cols := min(k, 4)
	rows := (k + cols - 1) / cols
	const gap, head = 4, 24
	sheet := image.NewNRGBA(image.Rect(0, 0, cols*tw+(cols+1)*gap, head+rows*(th+gap)))
	fillRect(sheet, sheet.Bounds(), color.NRGBA{40, 40, 40, 255})
	drawText(sheet, gap, 5, 2, c.String()+" - SYNTHETIC", color.NRGBA{255, 255, 255, 255})
	for i := range k {
		x0 := gap + (i%cols)*(tw+gap)
		y0 := head + (i/cols)*(th+gap)
		shrink(sheet, x0, y0, tw, th, Field(c, seed+uint64(i), Options{}))
		drawText(sheet, x0+3, y0+3, 1, itoa(seed+uint64(i)), color.NRGBA{0, 0, 0, 255})
	}
	return sheet
}

// shrink draws src into dst's w×h rectangle at (x0,y0) by area averaging.
func shrink(dst *image.NRGBA, x0, y0, w, h int, src *image.NRGBA) {
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	for y := range h {
		sy0, sy1 := y*sh/h, max((y+1)*sh/h, y*sh/h+1)
		for x := range w {
			sx0, sx1 := x*sw/w, max((x+1)*sw/w, x*sw/w+1)
			var r, g, b, n int
			for sy := sy0; sy < sy1; sy++ {
				for sx := sx0; sx < sx1; sx++ {
					o := src.PixOffset(sx, sy)
					r += int(src.Pix[o])
					g += int(src.Pix[o+1])
					b += int(src.Pix[o+2])
					n++
				}
			}
			dst.SetNRGBA(x0+x, y0+y, color.NRGBA{uint8(r / n), uint8(g / n), uint8(b / n), 255})
		}
	}
}

func fillRect(img *image.NRGBA, r image.Rectangle, c color.NRGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetNRGBA(x, y, c)
		}
	}
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

// glyphs is a 5×7 bitmap font for the characters labels use.
var glyphs = map[rune][7]uint8{
	'0': {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E},
	'1': {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},
	'2': {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F},
	'3': {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},
	'4': {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02},
	'5': {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},
	'6': {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E},
	'7': {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
	'8': {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E},
	'9': {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C},
	'C': {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E},
	'E': {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F},
	'H': {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11},
	'I': {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E},
	'L': {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F},
	'M': {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11},
	'N': {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},
	'S': {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E},
	'T': {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},
	'Y': {0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04},
	'-': {0, 0, 0, 0x1F, 0, 0, 0},
	' ': {},
}

// drawText writes s at (x,y) with the given pixel scale; unknown characters are skipped.
func drawText(img *image.NRGBA, x, y, scale int, s string, c color.NRGBA) {
	for _, r := range s {
		g, ok := glyphs[r]
		if !ok {
			continue
		}
		for row, bits := range g {
			for col := range 5 {
				if bits&(0x10>>col) != 0 {
					fillRect(img, image.Rect(x+col*scale, y+row*scale, x+(col+1)*scale, y+(row+1)*scale).Intersect(img.Bounds()), c)
				}
			}
		}
		x += 6 * scale
	}
}
