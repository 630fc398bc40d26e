package nn

import (
	"bytes"
	"image"
	"image/color"
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
	if back.Meta.Crop != 0.625 || !strings.Contains(back.Meta.Preprocessing, "centre crop keeping 0.625") || back.Meta.Extra["crop"] != "" {
		t.Errorf("decoded Crop %g, preprocessing %q, extra %v", back.Meta.Crop, back.Meta.Preprocessing, back.Meta.Extra)
	}
	meta.Crop = 2
	if _, err := InitWeights(meta, 1); err == nil || !strings.Contains(err.Error(), "crop 2") {
		t.Errorf("crop 2: err = %v", err)
	}
}
