package heatmap

import (
	"math"
	"testing"
)

func TestColor(t *testing.T) {
	for _, tc := range []struct {
		v       float32
		r, g, b uint8
	}{
		{0, 20, 30, 140}, {-1, 20, 30, 140}, {float32(math.NaN()), 20, 30, 140},
		{1, 220, 20, 20}, {2, 220, 20, 20}, {0.65, 250, 220, 0},
	} {
		r, g, b := Color(tc.v)
		if r != tc.r || g != tc.g || b != tc.b {
			t.Errorf("Color(%g) = %d,%d,%d, want %d,%d,%d", tc.v, r, g, b, tc.r, tc.g, tc.b)
		}
	}
}

func TestPaint(t *testing.T) {
	for _, tc := range []struct {
		name      string
		m         []float32
		mw, mh    int
		dw, dh    int
		x, y      int // a pixel to check
		wantAlpha uint8
	}{
		{"identity size", []float32{0, 1, 0.5, 0}, 2, 2, 2, 2, 1, 0, 255},
		{"zero stays clear", []float32{0, 1, 0.5, 0}, 2, 2, 2, 2, 0, 0, 0},
		{"upsampled corner keeps the value", []float32{1, 0, 0, 0}, 2, 2, 8, 8, 0, 0, 255},
		{"upsampled centre interpolates", []float32{1, 0, 0, 0}, 2, 2, 8, 8, 4, 4, 36}, // (1-0.625)² × 255
		{"one cell", []float32{0.5}, 1, 1, 3, 5, 2, 4, 128},
	} {
		dst := make([]byte, tc.dw*tc.dh*4)
		if err := Paint(dst, tc.dw, tc.dh, tc.m, tc.mw, tc.mh, 1); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if a := dst[(tc.y*tc.dw+tc.x)*4+3]; a != tc.wantAlpha {
			t.Errorf("%s: alpha at (%d,%d) = %d, want %d", tc.name, tc.x, tc.y, a, tc.wantAlpha)
		}
	}
}

func TestPaintOpacity(t *testing.T) {
	dst := make([]byte, 4)
	if err := Paint(dst, 1, 1, []float32{1}, 1, 1, 0.5); err != nil {
		t.Fatal(err)
	}
	if dst[3] != 128 {
		t.Errorf("alpha = %d, want 128 at opacity 0.5", dst[3])
	}
}

func TestPaintErrors(t *testing.T) {
	for _, tc := range []struct {
		name           string
		dst            []byte
		dw, dh, mw, mh int
		m              []float32
	}{
		{"short dst", make([]byte, 3), 1, 1, 1, 1, []float32{1}},
		{"zero size", nil, 0, 0, 1, 1, []float32{1}},
		{"short map", make([]byte, 4), 1, 1, 2, 2, []float32{1}},
		{"empty map", make([]byte, 4), 1, 1, 0, 0, nil},
	} {
		if err := Paint(tc.dst, tc.dw, tc.dh, tc.m, tc.mw, tc.mh, 1); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
