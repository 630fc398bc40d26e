package imagefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"papscope/internal/imagehead"
	"papscope/nn"

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
		errIs   error  // when set, the error must wrap it
	}{
		{"png", pngData, "", nil},
		{"jpeg", jpegData, "", nil},
		{"bmp", encode(t, func(b *bytes.Buffer, m image.Image) error { return bmp.Encode(b, m) }), "", nil},
		{"tiff", encode(t, func(b *bytes.Buffer, m image.Image) error { return tiff.Encode(b, m, nil) }), "", nil},
		{"gif", encode(t, func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) }), "", nil},
		{"empty", nil, "empty file", nil},
		{"text", []byte("hello, this is not an image\n"), "not a recognised image", nil},
		{"truncated jpeg", jpegData[:len(jpegData)/2], "corrupt or truncated", nil},
		{"jpeg cut in its data", jpegData[:len(jpegData)-40], "corrupt or truncated jpeg", nil},
		{"truncated png", pngData[:40], "png", nil},
		{"huge png", hugePNG(t, 100000, 100000), "too large", imagehead.ErrTooLarge},
		{"png just over the pixel limit", hugePNG(t, imagehead.MaxPixels/1000+1, 1000), "megapixels", imagehead.ErrTooLarge},
		{"png over the side limit", hugePNG(t, nn.MaxSourceSide+1, 1), "pixels a side", imagehead.ErrTooLarge},
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
			if tt.errIs != nil && !errors.Is(err, tt.errIs) {
				t.Fatalf("Decode error = %v, want it to wrap %v", err, tt.errIs)
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

// TestFormats: the help text names every format decoded, and the extensions
// are those of the formats decoded, each once, lower case with the dot.
func TestFormats(t *testing.T) {
	help := Formats()
	var want []string
	for _, f := range formats {
		if !strings.Contains(strings.ToLower(help), f.Name) {
			t.Errorf("Formats() = %q does not name %s", help, f.Name)
		}
		want = append(want, f.Extensions...)
	}
	got := Extensions()
	if !slices.Equal(got, want) {
		t.Errorf("Extensions() = %v, want %v", got, want)
	}
	for i, e := range got {
		if e != strings.ToLower(e) || !strings.HasPrefix(e, ".") || slices.Contains(got[:i], e) {
			t.Errorf("extension %q: want lower case, with the dot, listed once", e)
		}
	}
	got[0] = ".changed" // a copy: the caller cannot change the list
	if Extensions()[0] == ".changed" {
		t.Error("Extensions returned the package's own slice")
	}
}
