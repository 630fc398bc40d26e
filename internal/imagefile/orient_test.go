package imagefile

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// withOrientation returns a JPEG of img with an APP1 Exif segment declaring
// orientation o (byte order bo), right after SOI as cameras write it.
func withOrientation(t *testing.T, img image.Image, o uint16, bo binary.ByteOrder) []byte {
	t.Helper()
	var j bytes.Buffer
	if err := jpeg.Encode(&j, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	tiff := make([]byte, 8+2+12+4)
	if bo == binary.LittleEndian {
		copy(tiff, "II")
	} else {
		copy(tiff, "MM")
	}
	bo.PutUint16(tiff[2:], 42)
	bo.PutUint32(tiff[4:], 8)
	bo.PutUint16(tiff[8:], 1)       // one entry
	bo.PutUint16(tiff[10:], 0x0112) // Orientation
	bo.PutUint16(tiff[12:], 3)      // SHORT
	bo.PutUint32(tiff[14:], 1)
	bo.PutUint16(tiff[18:], o)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(2+len(seg)))
	data := append([]byte{0xFF, 0xD8}, app1...)
	data = append(data, seg...)
	return append(data, j.Bytes()[2:]...)
}

// quadrants is a 64×32 image: red, green on top; blue, white below.
func quadrants() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for y := range 32 {
		for x := range 64 {
			c := [2][2]color.RGBA{{{255, 0, 0, 255}, {0, 255, 0, 255}}, {{0, 0, 255, 255}, {255, 255, 255, 255}}}[y/16][x/32]
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// name says which colour c is near: r, g, b or w.
func name(c color.Color) string {
	r, g, b, _ := c.RGBA()
	hi := func(v uint32) bool { return v > 0x8000 }
	switch {
	case hi(r) && hi(g) && hi(b):
		return "w"
	case hi(r):
		return "r"
	case hi(g):
		return "g"
	case hi(b):
		return "b"
	}
	return "?"
}

// TestDecodeOrientation: Decode turns a JPEG as its EXIF orientation says,
// as a browser shows it: the corners land where they should for each of the
// eight orientations, in either byte order.
func TestDecodeOrientation(t *testing.T) {
	// The colours at the shown image's top-left, top-right, bottom-left and bottom-right.
	want := map[uint16]string{1: "rgbw", 2: "grwb", 3: "wbgr", 4: "bwrg", 5: "rbgw", 6: "brwg", 7: "wgbr", 8: "gwrb"}
	for o := uint16(1); o <= 8; o++ {
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			img, err := Decode(withOrientation(t, quadrants(), o, bo))
			if err != nil {
				t.Fatalf("orientation %d: %v", o, err)
			}
			b := img.Bounds()
			wantW, wantH := 64, 32
			if o >= 5 {
				wantW, wantH = 32, 64
			}
			if b.Dx() != wantW || b.Dy() != wantH {
				t.Errorf("orientation %d (%v): %dx%d, want %dx%d", o, bo, b.Dx(), b.Dy(), wantW, wantH)
				continue
			}
			got := name(img.At(b.Min.X+4, b.Min.Y+4)) + name(img.At(b.Max.X-5, b.Min.Y+4)) + name(img.At(b.Min.X+4, b.Max.Y-5)) + name(img.At(b.Max.X-5, b.Max.Y-5))
			if got != want[o] {
				t.Errorf("orientation %d (%v): corners %s, want %s", o, bo, got, want[o])
			}
		}
	}
}

// TestJPEGOrientationRobust: what is not a well-formed orientation reads as 1
// and never panics.
func TestJPEGOrientationRobust(t *testing.T) {
	good := withOrientation(t, quadrants(), 6, binary.BigEndian)
	if o := jpegOrientation(good); o != 6 {
		t.Fatalf("jpegOrientation = %d, want 6", o)
	}
	for n := range len(good) {
		jpegOrientation(good[:n]) // must not panic
	}
	bad := withOrientation(t, quadrants(), 9, binary.BigEndian)
	if o := jpegOrientation(bad); o != 1 {
		t.Errorf("orientation 9: got %d, want 1", o)
	}
	for _, data := range [][]byte{nil, {0xFF}, []byte("not a jpeg"), {0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01}} {
		if o := jpegOrientation(data); o != 1 {
			t.Errorf("jpegOrientation(%q) = %d, want 1", data, o)
		}
	}
}
