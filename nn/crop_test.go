package nn

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestCropRect(t *testing.T) {
	tests := []struct {
		b    image.Rectangle
		crop float64
		want image.Rectangle
	}{
		{image.Rect(0, 0, 512, 512), 0, image.Rect(0, 0, 512, 512)},
		{image.Rect(0, 0, 512, 512), 1, image.Rect(0, 0, 512, 512)},
		{image.Rect(0, 0, 512, 512), 0.5, image.Rect(128, 128, 384, 384)},
		{image.Rect(0, 0, 2048, 1536), 0.75, image.Rect(256, 192, 1792, 1344)},
		{image.Rect(10, 20, 15, 23), 0.5, image.Rect(11, 20, 14, 22)}, // 2.5 → 3 wide (offset 1), 1.5 → 2 high (offset 0)
		{image.Rect(0, 0, 3, 3), 0.01, image.Rect(1, 1, 2, 2)},
	}
	for _, tt := range tests {
		if got := CropRect(tt.b, tt.crop); got != tt.want {
			t.Errorf("CropRect(%v, %g) = %v, want %v", tt.b, tt.crop, got, tt.want)
		}
	}
}

// TestPreprocessCropIsSubImage: a cropping preprocessor gives exactly what
// the whole-image preprocessor gives on the centred sub-image, on both entry points.
func TestPreprocessCropIsSubImage(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 6), uint8(y * 8), uint8(x * y), 255})
		}
	}
	dst := Dims{Height: 8, Width: 8}
	want := make([]float32, 8*8*3)
	var plain Preprocessor
	if err := plain.Image(want, dst, img.SubImage(CropRect(img.Bounds(), 0.6))); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(want))
	p := Preprocessor{Crop: 0.6}
	if err := p.Image(got, dst, img); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Error("Image with Crop differs from Image of the centred sub-image")
	}
	if err := p.RGBA(got, dst, img.Pix, 40, 30); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Error("RGBA with Crop differs from Image of the centred sub-image")
	}
	whole := make([]float32, len(want))
	if err := plain.Image(whole, dst, img); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(whole, want) {
		t.Error("the crop changed nothing: the test image cannot tell")
	}
	for _, bad := range []float64{-0.1, 1.5} {
		p.Crop = bad
		if err := p.Image(got, dst, img); err == nil || !strings.Contains(err.Error(), "crop") {
			t.Errorf("Crop %g: err = %v", bad, err)
		}
	}
}

func TestMetadataCropRoundTrip(t *testing.T) {
	meta := DefaultMetadata(Dims{Height: 32, Width: 32})
	meta.Crop = 0.625
	meta.Preprocessing = PreprocessingWithCrop(meta.Crop)
	w, err := InitWeights(meta, 1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := w.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeWeights(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if back.Meta().Crop != 0.625 || !strings.Contains(back.Meta().Preprocessing, "centre crop keeping 0.625") || back.Meta().Extra["crop"] != "" {
		t.Errorf("decoded Crop %g, preprocessing %q, extra %v", back.Meta().Crop, back.Meta().Preprocessing, back.Meta().Extra)
	}
	meta.Crop = 2
	if _, err := InitWeights(meta, 1); err == nil || !strings.Contains(err.Error(), "crop 2") {
		t.Errorf("crop 2: err = %v", err)
	}
}

// framed returns a w×h image whose border (a quarter of each side) is
// unlike its centre, so that a crop changes what a model sees.
func framed(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{uint8(40 + x*150/w), uint8(200 - y*120/h), uint8((x * y) % 97), 255}
			if x < w/4 || x >= w-w/4 || y < h/4 || y >= h-h/4 {
				c = color.NRGBA{250, uint8(x%2) * 255, 10, 255} // streaks, like an augmented copy's fill
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// TestModelAppliesWeightsCrop: a model made from weights with Metadata.Crop
// classifies an image exactly as weights without a crop classify its centred
// sub-image (nn.CropRect), on every entry point and in clones, so papscope
// classify, eval and the page's worker see the same pixels.
func TestModelAppliesWeightsCrop(t *testing.T) {
	in := Dims{Height: 32, Width: 32}
	tests := []struct {
		crop          float64
		width, height int
	}{
		{0, 40, 30},
		{1, 40, 30},
		{0.5, 40, 30},
		{0.5, 41, 29}, // odd sides: round half away from zero, offset rounded down
		{0.75, 64, 48},
		{0.3, 33, 35},
		{0.01, 9, 7}, // at least one pixel
	}
	for _, tt := range tests {
		img := framed(tt.width, tt.height)
		plain := testWeights(t, in, 11)
		cropped := changeMeta(t, testWeights(t, in, 11), func(m *Metadata) { m.Crop = tt.crop })
		ref, err := NewModel(plain)
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewModel(cropped)
		if err != nil {
			t.Fatal(err)
		}
		if m.Crop() != tt.crop {
			t.Errorf("crop %g: Model.Crop() = %g", tt.crop, m.Crop())
		}
		centre := img.SubImage(CropRect(img.Bounds(), tt.crop))
		want, err := ref.ClassifyImage(centre)
		if err != nil {
			t.Fatal(err)
		}
		wantLogits := want.Logits

		var plainPrep Preprocessor
		wantInput := make([]float32, in.Height*in.Width*3)
		if err := plainPrep.Image(wantInput, in, centre); err != nil {
			t.Fatal(err)
		}
		input := make([]float32, len(wantInput))
		if err := m.Preprocess(input, img); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(input, wantInput) {
			t.Errorf("crop %g, %dx%d: Preprocess differs from the plain preprocessing of the centre", tt.crop, tt.width, tt.height)
		}
		if err := m.PreprocessRGBA(input, img.Pix, tt.width, tt.height); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(input, wantInput) {
			t.Errorf("crop %g, %dx%d: PreprocessRGBA differs from the plain preprocessing of the centre", tt.crop, tt.width, tt.height)
		}

		for _, c := range []struct {
			name     string
			classify func() (Output, error)
		}{
			{"ClassifyImage", func() (Output, error) { return m.ClassifyImage(img) }},
			{"ClassifyRGBA", func() (Output, error) { return m.ClassifyRGBA(img.Pix, tt.width, tt.height) }},
			{"Clone().ClassifyImage", func() (Output, error) { return m.Clone().ClassifyImage(img) }},
		} {
			got, err := c.classify()
			if err != nil {
				t.Fatal(err)
			}
			if got.Logits != wantLogits {
				t.Errorf("crop %g, %dx%d: %s logits %v, want the centre's %v", tt.crop, tt.width, tt.height, c.name, got.Logits, wantLogits)
			}
		}
		if tt.crop > 0 && tt.crop < 1 {
			whole, err := ref.ClassifyImage(img)
			if err != nil {
				t.Fatal(err)
			}
			if whole.Logits == wantLogits {
				t.Errorf("crop %g, %dx%d: the whole image classifies as its centre: the test cannot tell", tt.crop, tt.width, tt.height)
			}
		}
	}
}

// TestWithMetaRejectsBadCrop: a crop outside (0, 1] is refused when the
// weights are made, so no model can see one.
func TestWithMetaRejectsBadCrop(t *testing.T) {
	for _, crop := range []float64{-0.5, 1.5, math.NaN()} {
		m := testWeights(t, Dims{Height: 32, Width: 32}, 1).Meta()
		m.Crop = crop
		if _, err := NewWeights(m, nil); err == nil || !strings.Contains(err.Error(), "crop") {
			t.Errorf("crop %g: err = %v", crop, err)
		}
	}
}
