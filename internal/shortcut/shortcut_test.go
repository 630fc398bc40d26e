package shortcut

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"
)

// field is a synthetic field: a light, grainy background with dark round blobs.
func field(seed uint64, size int) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	type blob struct{ x, y, r float64 }
	var blobs []blob
	for range size * size / 150 {
		blobs = append(blobs, blob{rng.Float64() * float64(size), rng.Float64() * float64(size), float64(size)/80 + rng.Float64()*float64(size)/40})
	}
	for y := range size {
		for x := range size {
			g := uint8(rng.IntN(24))
			c := color.NRGBA{215 + g, 218 + g, 230 + g/2, 255}
			for _, b := range blobs {
				if dx, dy := float64(x)-b.x, float64(y)-b.y; dx*dx+dy*dy < b.r*b.r {
					c = color.NRGBA{80 + g, 60 + g, 140 + g, 255}
				}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func TestJPEGQuality(t *testing.T) {
	img := field(1, 64)
	for _, q := range []int{30, 50, 75, 90, 95} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
			t.Fatal(err)
		}
		got, err := JPEGQuality(buf.Bytes())
		if err != nil || got != q {
			t.Errorf("quality %d: got %d, %v", q, got, err)
		}
	}
	for _, bad := range [][]byte{nil, []byte("not a jpeg"), {0xff, 0xd8, 0xff, 0xd9}} {
		if _, err := JPEGQuality(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestFillFraction: a field whose left fifth repeats its column 102 (the
// nearest fill of a shift) shows that fill, its centre crop does not, and
// augmented copies show more fill on average than the field.
func TestFillFraction(t *testing.T) {
	img := field(2, 512)
	plain := FillFraction(img)
	shifted := image.NewNRGBA(img.Bounds())
	copy(shifted.Pix, img.Pix)
	for y := range 512 {
		for x := range 102 {
			shifted.SetNRGBA(x, y, img.NRGBAAt(102, y))
		}
	}
	if got := FillFraction(shifted); got < plain+0.1 || got > 0.3 {
		t.Errorf("a fifth of nearest fill: FillFraction %.3f (field alone %.3f), want 0.1 more, and at most 0.3", got, plain)
	}
	if got := FillFraction(crop(shifted, 0.5)); got > plain+0.01 {
		t.Errorf("centre crop of the shifted field: %.3f, want about the field's %.3f", got, plain)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	sum := 0.0
	const n = 6
	for range n {
		aug, err := AugmentLikeAbnormal(img, rng)
		if err != nil {
			t.Fatal(err)
		}
		sum += FillFraction(aug)
	}
	if sum/n <= plain {
		t.Errorf("augmented copies: mean FillFraction %.4f, field %.4f: want more", sum/n, plain)
	}
}

func TestAugmentLikeAbnormalDeterministic(t *testing.T) {
	img := field(5, 48)
	a, err := AugmentLikeAbnormal(img, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := AugmentLikeAbnormal(img, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := AugmentLikeAbnormal(img, rand.New(rand.NewPCG(9, 2)))
	if err != nil {
		t.Fatal(err)
	}
	same := func(x, y image.Image) bool {
		for yy := range 48 {
			for xx := range 48 {
				if x.At(xx, yy) != y.At(xx, yy) {
					return false
				}
			}
		}
		return true
	}
	if !same(a, b) || same(a, c) {
		t.Errorf("same seed same image: %v; other seed same image: %v", same(a, b), same(a, c))
	}
}

func TestProbe(t *testing.T) {
	// 4 classes × 3 slides × 5 images; a fold per slide index.
	var labels, fold []int
	var telling, constant []Stats
	for c := range 4 {
		for s := range 3 {
			for i := range 5 {
				labels, fold = append(labels, c), append(fold, s)
				q := 90
				if c != 2 {
					q = 75
				}
				telling = append(telling, Stats{Quality: q, Fill: 0.1*float64(c) + 0.001*float64(i)})
				constant = append(constant, Stats{Quality: 75, Fill: 0})
			}
		}
	}
	tests := []struct {
		name         string
		stats        []Stats
		minBal, maxB float64
		auc          float64
	}{
		{"statistics that give the class away", telling, 0.99, 1, 1},
		{"statistics that say nothing", constant, 0.25, 0.25, 0.5},
	}
	for _, tt := range tests {
		r, err := Probe(tt.stats, labels, fold)
		if err != nil {
			t.Fatal(err)
		}
		if r.BalancedAccuracy < tt.minBal || r.BalancedAccuracy > tt.maxB || math.Abs(r.NILMvsAbnormal-tt.auc) > 1e-9 || r.Chance != 0.25 || r.Folds != 3 {
			t.Errorf("%s: %+v", tt.name, r)
		}
	}
	if _, err := Probe(telling[:3], labels, fold); err == nil {
		t.Error("mismatched lengths: no error")
	}
}

func TestTreatmentApply(t *testing.T) {
	img := field(6, 100)
	out, err := Treatment{JPEGQuality: 75, Crop: 0.5}.Apply(img)
	if err != nil {
		t.Fatal(err)
	}
	if b := out.Bounds(); b != image.Rect(25, 25, 75, 75) {
		t.Errorf("bounds %v", b)
	}
	if s := (Treatment{JPEGQuality: 75, Crop: 0.5}).String(); s != "re-encoded at JPEG quality 75, centre crop keeping 0.5 of each side" {
		t.Errorf("String = %q", s)
	}
	if out, _ := None.Apply(img); out != image.Image(img) {
		t.Error("None changed the image")
	}
}
