package plots

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"papscope/metrics"
)

var keep = flag.String("keep", "", "also write the figures as PNGs to this folder, to look at them")

// fixture is a small four-class evaluation: the classes are told apart well
// but not perfectly, with confidences spread over the bins.
func fixture(t *testing.T) (*metrics.Report, []int, [][]float32) {
	t.Helper()
	var trueClass []int
	var probs [][]float32
	for i := range 120 {
		c := i % 4
		p := 0.3 + 0.69*float32((i*37)%100)/100 // confidence of the predicted class
		pred := c
		if i%9 == 0 {
			pred = (c + 1) % 4
		}
		row := make([]float32, 4)
		for j := range row {
			row[j] = (1 - p) / 3
		}
		row[pred] = p
		trueClass, probs = append(trueClass, c), append(probs, row)
	}
	r, err := metrics.Evaluate(trueClass, probs)
	if err != nil {
		t.Fatal(err)
	}
	return r, trueClass, probs
}

// encode round-trips img through PNG, as eval writes it, and keeps it under -keep.
func encode(t *testing.T, name string, img image.Image) image.Image {
	t.Helper()
	var b bytes.Buffer
	if err := WritePNG(&b, img); err != nil {
		t.Fatal(err)
	}
	if *keep != "" {
		if err := os.WriteFile(filepath.Join(*keep, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := png.Decode(&b)
	if err != nil {
		t.Fatalf("%s does not decode: %v", name, err)
	}
	return got
}

// colours counts the pixels of each colour of img.
func colours(img image.Image) map[color.NRGBA]int {
	n := map[color.NRGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			n[color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)]++
		}
	}
	return n
}

func TestFigures(t *testing.T) {
	r, trueClass, probs := fixture(t)
	for _, tc := range []struct {
		name       string
		draw       func() (image.Image, error)
		minW, minH int
		want       []color.NRGBA // colours that fill a visible area
	}{
		{"confusion.png", func() (image.Image, error) { return Confusion(r) }, 500, 500,
			[]color.NRGBA{Heat(float64(r.Confusion[0][0]) / float64(r.PerClass[0].Support)), Heat(0)}},
		{"reliability.png", func() (image.Image, error) { return Reliability(metrics.Reliability(trueClass, probs)) }, 600, 500,
			[]color.NRGBA{barFill}},
		{"roc.png", func() (image.Image, error) { return ROC(r, metrics.ClassROC(trueClass, probs)) }, 600, 500, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := tc.draw()
			if err != nil {
				t.Fatal(err)
			}
			img = encode(t, tc.name, img)
			if b := img.Bounds(); b.Dx() < tc.minW || b.Dy() < tc.minH {
				t.Errorf("image is %v, want at least %d×%d", b, tc.minW, tc.minH)
			}
			n := colours(img)
			if corner := color.NRGBAModel.Convert(img.At(0, 0)); corner != (color.NRGBA{255, 255, 255, 255}) {
				t.Errorf("background %v, want white", corner)
			}
			if len(n) < 10 {
				t.Errorf("only %d colours: nothing drawn", len(n))
			}
			for _, c := range tc.want {
				if n[c] < 400 {
					t.Errorf("%d pixels of %v, want an area of it", n[c], c)
				}
			}
		})
	}
}

// TestROCColours checks every class's curve is drawn in its own colour.
func TestROCColours(t *testing.T) {
	r, trueClass, probs := fixture(t)
	curves := metrics.ClassROC(trueClass, probs)
	with, err := ROC(r, curves)
	if err != nil {
		t.Fatal(err)
	}
	curves[2] = nil
	without, err := ROC(r, curves)
	if err != nil {
		t.Fatal(err)
	}
	a, b := colours(with), colours(without)
	if len(a) <= len(b) && a[color.NRGBA{}] == b[color.NRGBA{}] {
		t.Errorf("leaving a curve out changed nothing")
	}
}

func TestErrors(t *testing.T) {
	r, _, _ := fixture(t)
	if _, err := ROC(r, nil); err == nil {
		t.Error("ROC with no curves: no error")
	}
	if _, err := Reliability(nil); err == nil {
		t.Error("Reliability with no bins: no error")
	}
	bad := *r
	bad.Classes = bad.Classes[:2]
	if _, err := Confusion(&bad); err == nil {
		t.Error("Confusion with 2 names for 4 classes: no error")
	}
}
