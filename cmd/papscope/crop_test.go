package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"papscope/internal/bridge"
	"papscope/nn"
)

// framedField returns a w×h image whose border (a quarter of each side) is
// unlike its centre, as an augmented copy's fill is, varied by seed.
func framedField(w, h, seed int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{uint8(60 + (x*130/w+seed*37)%190), uint8(210 - y*140/h), uint8((x*y + seed*11) % 101), 255}
			if x < w/4 || x >= w-w/4 || y < h/4 || y >= h-h/4 {
				c = color.NRGBA{245, uint8((x+seed)%2) * 230, 15, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeCropWeights writes w with Metadata.Crop set to crop and returns the path.
func writeCropWeights(t *testing.T, w *nn.Weights, crop float64) string {
	t.Helper()
	m := w.Meta()
	m.Crop = crop
	m.Preprocessing = nn.PreprocessingWithCrop(crop)
	c, err := w.WithMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("crop%g.safetensors", crop))
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// classifyProbs runs papscope classify -json and returns each file's probabilities.
func classifyProbs(t *testing.T, weights string, files ...string) [][nn.NumClasses]float32 {
	t.Helper()
	stdout, stderr, st := runCLI(t, append([]string{"classify", "-json", "-weights", weights}, files...)...)
	if st != 0 {
		t.Fatalf("classify: status %d: %s", st, stderr)
	}
	var out [][nn.NumClasses]float32
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var c struct {
			Probs [nn.NumClasses]float32 `json:"probs"`
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		out = append(out, c.Probs)
	}
	return out
}

// TestClassifyAppliesWeightsCrop: papscope classify with weights carrying a
// crop gives exactly what the page's worker (bridge) gives on the same pixels,
// and what weights without a crop give on the centred part of the image alone.
func TestClassifyAppliesWeightsCrop(t *testing.T) {
	t.Parallel()
	base := loadWeightsT(t, importFixture(t))
	plain := writeCropWeights(t, base, 0)
	dir := t.TempDir()
	const w, h = 203, 151
	img := framedField(w, h, 1)
	field := filepath.Join(dir, "field.png")
	writePNG(t, field, img)
	whole := classifyProbs(t, plain, field)[0]

	for _, crop := range []float64{0.5, 0.75, 0.3} {
		weights := writeCropWeights(t, base, crop)
		centre := filepath.Join(dir, fmt.Sprintf("centre%g.png", crop))
		writePNG(t, centre, img.SubImage(nn.CropRect(img.Bounds(), crop)))

		got := classifyProbs(t, weights, field)[0]
		want := classifyProbs(t, plain, centre)[0]
		if got != want {
			t.Errorf("crop %g: classify gives %v, the centre alone without a crop %v", crop, got, want)
		}
		if got == whole {
			t.Errorf("crop %g: classify gives the whole image's %v: the test cannot tell", crop, whole)
		}

		data, err := os.ReadFile(weights)
		if err != nil {
			t.Fatal(err)
		}
		e := bridge.NewEngine()
		if r := e.Handle(bridge.Request{Kind: bridge.Load, ID: 1, Files: []string{"w.safetensors"}}, [][]byte{data}); r.Error != "" {
			t.Fatal(r.Error)
		}
		r := e.Handle(bridge.Request{Kind: bridge.Classify, ID: 2, Width: w, Height: h}, [][]byte{bytes.Clone(img.Pix)})
		if r.Error != "" {
			t.Fatal(r.Error)
		}
		if r.Probs != got {
			t.Errorf("crop %g: the page's worker gives %v, classify %v", crop, r.Probs, got)
		}
	}
}

// TestEvalAppliesWeightsCrop: papscope eval with weights carrying a crop
// reports what weights without a crop report on the images' centres.
func TestEvalAppliesWeightsCrop(t *testing.T) {
	t.Parallel()
	const crop = 0.5
	base := loadWeightsT(t, importFixture(t))
	fields, centres := t.TempDir(), t.TempDir()
	for c, name := range nn.ClassNames() {
		for _, dir := range []string{fields, centres} {
			if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 2 {
			img := framedField(97, 83, 2*c+i)
			file := fmt.Sprintf("f%d.png", i)
			writePNG(t, filepath.Join(fields, name, file), img)
			writePNG(t, filepath.Join(centres, name, file), img.SubImage(nn.CropRect(img.Bounds(), crop)))
		}
	}
	eval := func(weights, data string) string {
		t.Helper()
		stdout, stderr, err := callCmd(runEval, "-weights", weights, "-data", data, "-json", "-outliers", "0", "-workers", "2")
		if err != nil {
			t.Fatalf("eval: %v\n%s", err, stderr)
		}
		return stdout
	}
	plain := writeCropWeights(t, base, 0)
	got, want := eval(writeCropWeights(t, base, crop), fields), eval(plain, centres)
	if got != want {
		t.Errorf("eval with crop %g:\n%s\nwant what the centres give without a crop:\n%s", crop, got, want)
	}
	if whole := eval(plain, fields); whole == got {
		t.Errorf("eval with crop %g reports what the whole fields give: the test cannot tell", crop)
	}
}
