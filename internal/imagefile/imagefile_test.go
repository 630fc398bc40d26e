package imagefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

func testImage() image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, 12, 9))
	for y := range 9 {
		for x := range 12 {
			img.Set(x, y, color.NRGBA{uint8(20 * x), uint8(25 * y), 128, 255})
		}
	}
	return img
}

func encode(t *testing.T, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := enc(&b, testImage()); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNG returns a valid PNG whose header claims width×height pixels.
func hugePNG(t *testing.T, width, height uint32) []byte {
	data := encode(t, func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) })
	ihdr := data[8+8 : 8+8+13] // after signature, length and type
	binary.BigEndian.PutUint32(ihdr[0:], width)
	binary.BigEndian.PutUint32(ihdr[4:], height)
	binary.BigEndian.PutUint32(data[8+8+13:], crc32.ChecksumIEEE(data[8+4:8+8+13]))
	return data
}

func TestDecode(t *testing.T) {
	pngData := encode(t, func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) })
	jpegData := encode(t, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) })
	tests := []struct {
		name    string
		data    []byte
		wantErr string // empty: must decode to 12×9
	}{
		{"png", pngData, ""},
		{"jpeg", jpegData, ""},
		{"bmp", encode(t, func(b *bytes.Buffer, m image.Image) error { return bmp.Encode(b, m) }), ""},
		{"tiff", encode(t, func(b *bytes.Buffer, m image.Image) error { return tiff.Encode(b, m, nil) }), ""},
		{"empty", nil, "empty file"},
		{"text", []byte("hello, this is not an image\n"), "not a recognised image"},
		{"truncated jpeg", jpegData[:len(jpegData)/2], "corrupt or truncated"},
		{"jpeg cut in its data", jpegData[:len(jpegData)-40], "corrupt or truncated jpeg"},
		{"truncated png", pngData[:40], "png"},
		{"huge png", hugePNG(t, 100000, 100000), "at most 64 MP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Decode(tt.data)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if b := img.Bounds(); b.Dx() != 12 || b.Dy() != 9 {
					t.Fatalf("decoded %v, want 12x9", b)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Decode error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.png")
	if err := os.WriteFile(good, encode(t, func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) }), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.png")
	if err := os.WriteFile(bad, []byte("text"), 0o644); err != nil {
		t.Fatal(err)
	}
	if img, err := Read(good); err != nil || img.Bounds().Dx() != 12 {
		t.Errorf("Read(good.png) = %v, %v", img, err)
	}
	if _, err := Read(bad); err == nil || !strings.Contains(err.Error(), "bad.png: not a recognised image") {
		t.Errorf("Read(bad.png) error = %v, want one naming the file", err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: error %v, want one saying it is a directory", err)
	}
	if _, err := Read(filepath.Join(dir, "missing.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v, want not-exist", err)
	}
}
