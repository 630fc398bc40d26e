package outliers

import (
	"bytes"
	"image"
	"image/color"
	"testing"
)

func colours(img *image.NRGBA) map[color.NRGBA]int {
	m := map[color.NRGBA]int{}
	for i := 0; i < len(img.Pix); i += 4 {
		m[color.NRGBA{img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3]}]++
	}
	return m
}

// TestKindsLookAsNamed checks each kind for the property that makes it what it is.
func TestKindsLookAsNamed(t *testing.T) {
	const w, h = 160, 120
	for _, tc := range []struct {
		kind  Kind
		check func(img *image.NRGBA) string
	}{
		{Flat, func(img *image.NRGBA) string {
			if n := len(colours(img)); n != 1 {
				return "more than one colour"
			}
			return ""
		}},
		{Noise, func(img *image.NRGBA) string {
			if n := len(colours(img)); n < w*h*9/10 {
				return "too few distinct colours for noise"
			}
			return ""
		}},
		{Stripes, func(img *image.NRGBA) string {
			c := colours(img)
			if len(c) > 2 {
				return "more than two colours"
			}
			for _, n := range c {
				if n < w*h/10 && len(c) == 2 {
					return "one colour barely present"
				}
			}
			return ""
		}},
		{Text, func(img *image.NRGBA) string {
			c := colours(img)
			if len(c) != 2 {
				return "not paper and ink"
			}
			least := w * h
			for _, n := range c {
				least = min(least, n)
			}
			if f := float64(least) / float64(w*h); f < 0.01 || f > 0.4 {
				return "ink covers an implausible share of the page"
			}
			return ""
		}},
		{Natural, func(img *image.NRGBA) string {
			if n := len(colours(img)); n < 200 {
				return "too few colours for a scene"
			}
			top, bottom := img.NRGBAAt(w/2, 0), img.NRGBAAt(w/2, h-1)
			if top.B <= bottom.B {
				return "the sky is not bluer than the land"
			}
			return ""
		}},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			for i := range 5 {
				img, err := Render(tc.kind, 3, i, w, h)
				if err != nil {
					t.Fatal(err)
				}
				if msg := tc.check(img); msg != "" {
					t.Errorf("image %d: %s", i, msg)
				}
				again, _ := Render(tc.kind, 3, i, w, h)
				if !bytes.Equal(img.Pix, again.Pix) {
					t.Errorf("image %d: not deterministic", i)
				}
				other, _ := Render(tc.kind, 4, i, w, h)
				if bytes.Equal(img.Pix, other.Pix) {
					t.Errorf("image %d: seeds 3 and 4 give the same pixels", i)
				}
			}
		})
	}
}

func TestRenderRefusesBadInput(t *testing.T) {
	if _, err := Render(Flat, 1, 0, 0, 10); err == nil {
		t.Error("zero width: no error")
	}
	if _, err := Render(Kind(99), 1, 0, 10, 10); err == nil {
		t.Error("unknown kind: no error")
	}
}
