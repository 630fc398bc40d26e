package synth

import (
	"image"
	"testing"

	"papscope/nn"
)

// meanRGB is an image's mean colour.
func meanRGB(img *image.NRGBA) [3]float64 {
	var m [3]float64
	for i := 0; i < len(img.Pix); i += 4 {
		m[0] += float64(img.Pix[i])
		m[1] += float64(img.Pix[i+1])
		m[2] += float64(img.Pix[i+2])
	}
	n := float64(len(img.Pix) / 4)
	return [3]float64{m[0] / n, m[1] / n, m[2] / n}
}

// TestMeanColourBaseline trains a nearest-centroid classifier on per-image mean
// RGB and checks that it does badly: the classes are not told apart by colour.
func TestMeanColourBaseline(t *testing.T) {
	const nTrain, nTest = 60, 60
	opt := Options{Width: 320, Height: 240}
	feats := func(c nn.Class, from, n int) [][3]float64 {
		out := make([][3]float64, n)
		for i := range n {
			out[i] = meanRGB(Field(c, uint64(from+i), opt))
		}
		return out
	}
	var cent [nn.NumClasses][3]float64
	for c := range nn.Class(nn.NumClasses) {
		for _, m := range feats(c, 1000, nTrain) {
			for k := range m {
				cent[c][k] += m[k] / float64(nTrain)
			}
		}
	}
	right := 0
	for c := range nn.Class(nn.NumClasses) {
		for _, m := range feats(c, 5000, nTest) {
			best, bd := nn.Class(0), 1e300
			for k := range nn.Class(nn.NumClasses) {
				d := 0.0
				for j := range m {
					d += (m[j] - cent[k][j]) * (m[j] - cent[k][j])
				}
				if d < bd {
					best, bd = k, d
				}
			}
			if best == c {
				right++
			}
		}
	}
	acc := float64(right) / float64(nn.NumClasses*nTest)
	t.Logf("nearest-centroid on mean RGB: accuracy %.3f (chance 0.25); centroids %.1f", acc, cent)
	if acc > 0.5 {
		t.Errorf("mean-colour baseline accuracy %.3f > 0.5: the classes differ in global colour", acc)
	}
}
