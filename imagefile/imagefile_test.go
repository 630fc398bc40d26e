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

func TestReadFileLimited(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	if err := os.WriteFile(path, make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFileLimited(path, 99); !errors.Is(err, ErrTooLarge) {
		t.Errorf("100-byte file with limit 99: error %v, want ErrTooLarge", err)
	}
	if data, err := ReadFileLimited(path, 100); err != nil || len(data) != 100 {
		t.Errorf("100-byte file with limit 100: %d bytes, %v", len(data), err)
	}
	if _, err := ReadFileLimited(dir, 100); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: error %v, want one saying it is a directory", err)
	}
	if _, err := Read(filepath.Join(dir, "missing.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v, want not-exist", err)
	}
}
