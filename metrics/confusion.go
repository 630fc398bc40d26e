package metrics

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
)

// Layout of the confusion-matrix plot, in image pixels.
const (
	cellW      = 120 // cell width, at least
	cellH      = 76  // cell height
	margin     = 24  // outer margin
	labelScale = 2   // scale of labels and percentages (5×7 glyphs drawn 10×14)
	countScale = 3   // scale of the counts in the cells and of the title
	gap        = 12  // space between a label and what it labels
)

// Colours of the plot.
var (
	background = color.NRGBA{255, 255, 255, 255}
	ink        = color.NRGBA{33, 33, 33, 255}
	subtle     = color.NRGBA{96, 96, 96, 255}
	faint      = color.NRGBA{160, 160, 160, 255}
	gridLine   = color.NRGBA{200, 200, 200, 255}
	emptyCell  = color.NRGBA{236, 236, 236, 255}
	light      = color.NRGBA{247, 251, 255, 255} // heat 0 (a matplotlib "Blues" end)
	dark       = color.NRGBA{8, 48, 107, 255}    // heat 1
	white      = color.NRGBA{255, 255, 255, 255}
)

// heat returns the colour of a cell holding fraction f (0 to 1) of its row.
func heat(f float64) color.NRGBA {
	lerp := func(a, b uint8) uint8 { return uint8(float64(a) + (float64(b)-float64(a))*f + 0.5) }
	return color.NRGBA{lerp(light.R, dark.R), lerp(light.G, dark.G), lerp(light.B, dark.B), 255}
}

// ConfusionPNG draws r's confusion matrix: a heatmap grid (rows = true class,
// columns = predicted) coloured by the row-normalised fraction, each cell
// showing its count and its percentage of the row, with class labels on both
// axes, the axis names TRUE and PREDICTED, a title with the overall accuracy,
// and a colour scale. The drawing is deterministic.
func ConfusionPNG(r *Report) *image.NRGBA {
	k := len(r.Confusion)
	labelW := 0
	for _, name := range r.Classes {
		labelW = max(labelW, textWidth(name, labelScale))
	}
	lh := textHeight(labelScale)
	cw := max(cellW, labelW+2*gap) // cells widen for long class names

	// Vertical layout: title, subtitle, axis name, column labels, grid, note.
	titleY := margin
	subY := titleY + textHeight(countScale) + gap
	axisY := subY + lh + 2*gap
	colLabelY := axisY + lh + gap
	gridY := colLabelY + lh + gap
	gridH := k * cellH
	noteY := gridY + gridH + 2*gap
	height := noteY + lh + margin

	// Horizontal layout: axis name (rotated), row labels, grid, colour bar.
	axisX := margin
	gridX := axisX + lh + 2*gap + labelW + gap
	gridW := k * cw
	barX := gridX + gridW + 2*gap
	barW := 18
	width := barX + barW + gap + textWidth("100%", labelScale) + margin

	title := "CONFUSION MATRIX"
	sub := fmt.Sprintf("N=%d  ACCURACY %s  BALANCED %s", r.N, pctLabel(r.Accuracy), pctLabel(r.BalancedAccuracy))
	width = max(width, gridX+textWidth(sub, labelScale)+margin, gridX+textWidth(title, countScale)+margin)

	img := image.NewNRGBA(image.Rect(0, 0, width, height))
	fill(img, img.Rect, background)

	drawText(img, gridX, titleY, title, countScale, ink)
	drawText(img, gridX, subY, sub, labelScale, subtle)
	drawTextCentered(img, gridX+gridW/2, axisY, "PREDICTED", labelScale, ink)
	drawTextUp(img, axisX, gridY+gridH/2, "TRUE", labelScale, ink)

	fill(img, image.Rect(gridX-1, gridY-1, gridX+gridW+1, gridY+gridH+1), gridLine)
	for c, name := range r.Classes {
		drawTextCentered(img, gridX+c*cw+cw/2, colLabelY, name, labelScale, ink)
		drawText(img, gridX-gap-textWidth(name, labelScale), gridY+c*cellH+(cellH-lh)/2, name, labelScale, ink)
	}
	for t, row := range r.Confusion {
		total := 0
		for _, v := range row {
			total += v
		}
		for p, v := range row {
			cell := image.Rect(gridX+p*cw, gridY+t*cellH, gridX+(p+1)*cw, gridY+(t+1)*cellH)
			inner := image.Rect(cell.Min.X+1, cell.Min.Y+1, cell.Max.X-1, cell.Max.Y-1)
			percent, bg, fg := "-", emptyCell, subtle
			if total > 0 {
				f := float64(v) / float64(total)
				percent, bg, fg = pctLabel(f), heat(f), ink
				switch {
				case f > 0.5:
					fg = white
				case v == 0:
					fg = faint // zeros recede so the errors stand out
				}
			}
			fill(img, inner, bg)
			cx := cell.Min.X + cw/2
			top := cell.Min.Y + (cellH-textHeight(countScale)-gap/2-lh)/2
			drawTextCentered(img, cx, top, fmt.Sprint(v), countScale, fg)
			drawTextCentered(img, cx, top+textHeight(countScale)+gap/2, percent, labelScale, fg)
		}
	}

	// Colour scale: 100% at the top, 0% at the bottom.
	fill(img, image.Rect(barX-1, gridY-1, barX+barW+1, gridY+gridH+1), gridLine)
	for y := range gridH {
		fill(img, image.Rect(barX, gridY+y, barX+barW, gridY+y+1), heat(1-float64(y)/float64(gridH-1)))
	}
	drawText(img, barX+barW+gap, gridY, "100%", labelScale, subtle)
	drawText(img, barX+barW+gap, gridY+gridH-lh, "0%", labelScale, subtle)

	drawText(img, gridX, noteY, "CELLS: COUNT AND % OF TRUE CLASS", labelScale, subtle)
	return img
}

// WriteConfusionPNG encodes ConfusionPNG(r) as a PNG to w.
func WriteConfusionPNG(w io.Writer, r *Report) error {
	if err := png.Encode(w, ConfusionPNG(r)); err != nil {
		return fmt.Errorf("write confusion PNG: %w", err)
	}
	return nil
}

// pctLabel formats a fraction as a percentage for the plot: one decimal, none
// for 0 and 100, "-" if undefined.
func pctLabel(f float64) string {
	switch {
	case f != f:
		return "-"
	case f == 0:
		return "0%"
	case f == 1:
		return "100%"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}
