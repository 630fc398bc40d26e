// Package plots draws the figures of `papscope eval` with gonum.org/v1/plot:
// the confusion matrix, the reliability diagram and the one-vs-rest ROC
// curves, from what package metrics computes. It is a package of its own so
// that metrics, which the browser links, stays free of the plotting library
// and its fonts.
package plots

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"papscope/metrics"
)

// dpi is the resolution the figures are rendered at.
const dpi = 96

// Colours of the figures.
var (
	light     = color.NRGBA{247, 251, 255, 255} // heat 0 (a matplotlib "Blues" end)
	dark      = color.NRGBA{8, 48, 107, 255}    // heat 1
	emptyCell = color.NRGBA{236, 236, 236, 255} // a row with no examples
	ink       = color.NRGBA{33, 33, 33, 255}
	faint     = color.NRGBA{150, 150, 150, 255}
	white     = color.NRGBA{255, 255, 255, 255}
	barFill   = color.NRGBA{66, 146, 198, 255}
	gapLine   = color.NRGBA{203, 24, 29, 255}
)

// Heat returns the colour of a confusion-matrix cell holding fraction f (0 to 1) of its row.
func Heat(f float64) color.NRGBA {
	lerp := func(a, b uint8) uint8 { return uint8(float64(a) + (float64(b)-float64(a))*f + 0.5) }
	return color.NRGBA{lerp(light.R, dark.R), lerp(light.G, dark.G), lerp(light.B, dark.B), 255}
}

// Confusion draws r's confusion matrix: rows are the true class, columns the
// predicted one, each cell coloured by its fraction of the row (Heat) and
// showing its count and that percentage; the title gives the accuracy.
func Confusion(r *metrics.Report) (image.Image, error) {
	k := len(r.Confusion)
	if k == 0 || len(r.Classes) != k {
		return nil, fmt.Errorf("confusion plot: %d classes but a %d-row matrix", len(r.Classes), k)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Confusion matrix — n = %d, accuracy %s, balanced %s", r.N, percent(r.Accuracy), percent(r.BalancedAccuracy))
	p.X.Label.Text = "predicted class"
	p.Y.Label.Text = "true class"
	p.NominalX(r.Classes...)
	rows := make([]string, k) // true classes, top to bottom
	for t, name := range r.Classes {
		rows[k-1-t] = name
	}
	p.NominalY(rows...)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -0.5, float64(k)-0.5, -0.5, float64(k)-0.5

	var labels plotter.XYLabels
	var styles []text.Style
	for t, row := range r.Confusion {
		if len(row) != k {
			return nil, fmt.Errorf("confusion plot: row %d has %d cells, want %d", t, len(row), k)
		}
		total := 0
		for _, v := range row {
			total += v
		}
		y := float64(k - 1 - t)
		for c, v := range row {
			fill, fg, share := emptyCell, faint, "–"
			if total > 0 {
				f := float64(v) / float64(total)
				fill, fg, share = Heat(f), ink, percent(f)
				switch {
				case f > 0.5:
					fg = white
				case v == 0:
					fg = faint // zeros recede so the errors stand out
				}
			}
			x := float64(c)
			cell, err := plotter.NewPolygon(plotter.XYs{{X: x - 0.5, Y: y - 0.5}, {X: x + 0.5, Y: y - 0.5}, {X: x + 0.5, Y: y + 0.5}, {X: x - 0.5, Y: y + 0.5}})
			if err != nil {
				return nil, fmt.Errorf("confusion plot: %w", err)
			}
			cell.Color, cell.LineStyle.Color, cell.LineStyle.Width = fill, white, vg.Points(1)
			p.Add(cell)
			labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: y})
			labels.Labels = append(labels.Labels, fmt.Sprintf("%d\n%s", v, share))
			styles = append(styles, text.Style{Color: fg, Font: font.From(plot.DefaultFont, vg.Points(13)),
				XAlign: text.XCenter, YAlign: text.YCenter, Handler: plot.DefaultTextHandler})
		}
	}
	l, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, fmt.Errorf("confusion plot: %w", err)
	}
	l.TextStyle = styles
	p.Add(l)
	side := vg.Length(k)*1.3*vg.Inch + 1.5*vg.Inch
	return render(p, side+0.8*vg.Inch, side)
}

// Reliability draws the reliability diagram of bins: each bin's accuracy as a
// bar over its confidence range, the gap to its mean confidence outlined, the
// count of examples above it, and the diagonal of perfect calibration; the
// title gives the expected calibration error.
func Reliability(bins []metrics.Bin) (image.Image, error) {
	if len(bins) == 0 {
		return nil, fmt.Errorf("reliability plot: no bins")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Reliability diagram — ECE %.3f (%d bins)", metrics.ECE(bins), len(bins))
	p.X.Label.Text = "confidence of the predicted class"
	p.Y.Label.Text = "accuracy"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1.08
	p.Add(plotter.NewGrid())

	var counts plotter.XYLabels
	for _, b := range bins {
		if b.Count == 0 {
			continue
		}
		bar, err := box(b.Lo, b.Hi, 0, b.Accuracy)
		if err != nil {
			return nil, fmt.Errorf("reliability plot: %w", err)
		}
		bar.Color, bar.LineStyle.Color = barFill, white
		gap, err := box(b.Lo, b.Hi, b.Accuracy, b.Confidence)
		if err != nil {
			return nil, fmt.Errorf("reliability plot: %w", err)
		}
		gap.Color, gap.LineStyle.Color, gap.LineStyle.Width = nil, gapLine, vg.Points(1.5)
		p.Add(bar, gap)
		counts.XYs = append(counts.XYs, plotter.XY{X: (b.Lo + b.Hi) / 2, Y: max(b.Accuracy, b.Confidence) + 0.01})
		counts.Labels = append(counts.Labels, fmt.Sprint(b.Count))
	}
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return nil, fmt.Errorf("reliability plot: %w", err)
	}
	diag.Color, diag.Dashes = ink, []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(diag)
	if len(counts.XYs) > 0 {
		l, err := plotter.NewLabels(counts)
		if err != nil {
			return nil, fmt.Errorf("reliability plot: %w", err)
		}
		for i := range l.TextStyle {
			l.TextStyle[i].XAlign, l.TextStyle[i].Color = text.XCenter, ink
		}
		p.Add(l)
	}
	bars, err := box(0, 0, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("reliability plot: %w", err)
	}
	bars.Color, bars.LineStyle.Width = barFill, 0
	gaps, _ := box(0, 0, 0, 0)
	gaps.Color, gaps.LineStyle.Color, gaps.LineStyle.Width = nil, gapLine, vg.Points(1.5)
	p.Legend.Add("accuracy (count above)", bars)
	p.Legend.Add("gap to mean confidence", gaps)
	p.Legend.Add("perfect calibration", diag)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(8)
	return render(p, 7*vg.Inch, 6*vg.Inch)
}

// ROC draws the one-vs-rest ROC curve of each class of r (curves in class
// order, as metrics.ClassROC returns them; a nil curve is left out) with its
// AUC in the legend, and the diagonal of chance.
func ROC(r *metrics.Report, curves [][]metrics.Point) (image.Image, error) {
	if len(curves) != len(r.Classes) || len(r.PerClass) != len(r.Classes) {
		return nil, fmt.Errorf("ROC plot: %d curves for %d classes", len(curves), len(r.Classes))
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("ROC curves, one class vs the rest — macro AUC %s", decimal(r.MacroAUC))
	p.X.Label.Text = "false positive rate"
	p.Y.Label.Text = "true positive rate"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	p.Add(plotter.NewGrid())
	chance, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return nil, fmt.Errorf("ROC plot: %w", err)
	}
	chance.Color, chance.Dashes = faint, []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(chance)
	for c, curve := range curves {
		if curve == nil {
			continue
		}
		xys := make(plotter.XYs, len(curve))
		for i, pt := range curve {
			xys[i] = plotter.XY{X: pt.FPR, Y: pt.TPR}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("ROC plot: %s: %w", r.Classes[c], err)
		}
		line.Color, line.Width = plotutil.Color(c), vg.Points(2)
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s (AUC %s)", r.Classes[c], decimal(r.PerClass[c].AUC)), line)
	}
	p.Legend.Add("chance", chance)
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(8), vg.Points(8)
	return render(p, 7*vg.Inch, 6*vg.Inch)
}

// WritePNG encodes img as a PNG to w.
func WritePNG(w io.Writer, img image.Image) error {
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("write PNG: %w", err)
	}
	return nil
}

// render draws p on a white canvas of w × h.
func render(p *plot.Plot, w, h vg.Length) (image.Image, error) {
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.Title.Padding = vg.Points(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(13)
		a.Tick.Label.Font.Size = vg.Points(12)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(12)
	p.Legend.Padding = vg.Points(3) // rows of 12-point text apart
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	p.Draw(draw.New(c))
	return c.Image(), nil
}

// box is the rectangle [x0, x1] × [y0, y1].
func box(x0, x1, y0, y1 float64) (*plotter.Polygon, error) {
	return plotter.NewPolygon(plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
}

// percent formats a fraction as a percentage with one decimal (none for 0
// and 100), "–" if undefined.
func percent(f float64) string {
	switch {
	case math.IsNaN(f):
		return "–"
	case f == 0:
		return "0%"
	case f == 1:
		return "100%"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

// decimal formats x with three decimals, "–" if undefined.
func decimal(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf("%.3f", x)
}
