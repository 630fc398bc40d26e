package train

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"papscope/internal/imagefile"
	"papscope/internal/shortcut"
	"papscope/nn"
)

// TestValidationCropsAsInference: validation and calibration (forward) see
// each image as nn.Model, papscope classify's path, preprocesses it with the
// weights' crop; inputs cropped otherwise than the weights say are refused.
func TestValidationCropsAsInference(t *testing.T) {
	const w, h = 57, 43
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{uint8(30 + 3*x), uint8(200 - 4*y), uint8(x * y % 89), 255}
			if x < w/4 || x >= w-w/4 || y < h/4 || y >= h-h/4 {
				c = color.NRGBA{250, uint8(x%2) * 240, 20, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "field.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	decoded, err := imagefile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	in := nn.Dims{Height: 32, Width: 32}
	examples := []Example{{Path: path, Class: 1}}
	tests := []struct{ crop, other float64 }{{0, 0.5}, {1, 0.5}, {0.5, 0}, {0.75, 0.5}, {0.3, 1}}
	for _, tt := range tests {
		meta := nn.DefaultMetadata(in)
		meta.Crop = tt.crop
		weights, err := nn.InitWeights(meta, 2)
		if err != nil {
			t.Fatal(err)
		}
		m, err := nn.NewModel(weights)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, in.Height*in.Width*3)
		if err := m.Preprocess(want, decoded); err != nil {
			t.Fatal(err)
		}
		dec := decoder{in: in, treat: shortcut.Treatment{Crop: tt.crop}}
		got := make([]float32, len(want))
		var prep nn.Preprocessor
		if err := dec.load(got, path, &prep); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("crop %g: the trainer's input differs from nn.Model.Preprocess", tt.crop)
		}

		wantOut, err := m.ClassifyImage(decoded)
		if err != nil {
			t.Fatal(err)
		}
		for _, cache := range [][]float32{nil, got} {
			out, _, err := forward(context.Background(), weights, examples, &source{dec: dec}, cache, 1)
			if err != nil {
				t.Fatal(err)
			}
			if out.Logits[0] != wantOut.Logits {
				t.Errorf("crop %g (cached %v): validation logits %v, papscope classify's %v", tt.crop, cache != nil, out.Logits[0], wantOut.Logits)
			}
		}

		other := &source{dec: decoder{in: in, treat: shortcut.Treatment{Crop: tt.other}}}
		if _, _, err := forward(context.Background(), weights, examples, other, nil, 1); err == nil || !strings.Contains(err.Error(), "crop") {
			t.Errorf("weights with crop %g, inputs cropped at %g: err = %v", tt.crop, tt.other, err)
		}
	}
}
