package imagehead

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"papscope/nn"

	"golang.org/x/image/bmp"
)

func encode(t *testing.T, format string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "gif":
		err = gif.Encode(&b, img, nil)
	case "bmp":
		err = bmp.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader returns the first bytes of a PNG claiming w×h pixels (no pixel data).
func pngHeader(w, h uint32) []byte {
	chunk := []byte("IHDR")
	chunk = binary.BigEndian.AppendUint32(chunk, w)
	chunk = binary.BigEndian.AppendUint32(chunk, h)
	chunk = append(chunk, 8, 6, 0, 0, 0)
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, chunk...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		data   []byte
		size   int64 // 0: len(data)
		want   Header
		errSub string
		errIs  error
	}{
		{name: "png", data: encode(t, "png", 30, 20), want: Header{"png", 30, 20}},
		{name: "jpeg", data: encode(t, "jpeg", 17, 9), want: Header{"jpeg", 17, 9}},
		{name: "gif", data: encode(t, "gif", 5, 6), want: Header{"gif", 5, 6}},
		{name: "bmp", data: encode(t, "bmp", 8, 3), want: Header{"bmp", 8, 3}},
		{name: "webp lossless", data: riffWebP("VP8L", vp8lHeader(300, 200)), want: Header{"webp", 300, 200}},
		{name: "webp extended", data: riffWebP("VP8X", vp8xHeader(640, 480), "VP8L", vp8lHeader(640, 480)), want: Header{"webp", 640, 480}},
		{name: "webp lossy", data: riffWebP("VP8 ", vp8Header(33, 21)), want: Header{"webp", 33, 21}},
		{name: "webp huge", data: riffWebP("VP8X", vp8xHeader(10000, 6000)), errIs: ErrTooLarge},
		{name: "png signature only", data: pngHeader(4, 4)[:8], errSub: "corrupt"},
		{name: "jpeg 12-bit", data: []byte("\xff\xd8\xff\xc0\x00\x0b\x0c\x00\x10\x00\x10\x01\x01\x11\x00"), errSub: "precision"},
		{name: "jpeg no frame", data: []byte("\xff\xd8\xff\xd9"), errSub: "missing SOF"},
		{name: "gif 87a", data: []byte("GIF87a\x07\x00\x03\x00\x00\x00\x00"), want: Header{"gif", 7, 3}},
		{name: "bmp 16 bpp", data: func() []byte { b := encode(t, "bmp", 8, 3); b[28] = 16; return b }(), errSub: "unsupported"},
		{name: "zero bytes", data: nil, errSub: "empty file"},
		{name: "text", data: []byte("hello, this is not an image at all"), errSub: "not an image"},
		{name: "tiff little-endian", data: []byte("II*\x00\x08\x00\x00\x00"), errSub: "a TIFF image, which browsers cannot decode: convert it to PNG"},
		{name: "tiff big-endian", data: []byte("MM\x00*\x00\x00\x00\x08"), errSub: "a TIFF image"},
		{name: "huge png", data: pngHeader(10000, 6000), errSub: "60.0 megapixels", errIs: ErrTooLarge},
		{name: "exactly the cap", data: pngHeader(10000, 5000), want: Header{"png", 10000, 5000}},
		{name: "no pixels", data: pngHeader(0, 5), errSub: "corrupt"},
		{name: "truncated file", data: encode(t, "png", 4, 4)[:12], errSub: "corrupt"},
		{name: "prefix too short", data: encode(t, "png", 4, 4)[:12], size: 1000, errIs: ErrNeedMore},
	} {
		size := tc.size
		if size == 0 {
			size = int64(len(tc.data))
		}
		got, err := Read(tc.data, size)
		if tc.errSub == "" && tc.errIs == nil {
			if err != nil || got != tc.want {
				t.Errorf("%s: Read = %+v, %v; want %+v", tc.name, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want one containing %q", tc.name, tc.errSub)
			continue
		}
		if !strings.Contains(err.Error(), tc.errSub) {
			t.Errorf("%s: error %q does not contain %q", tc.name, err, tc.errSub)
		}
		if tc.errIs != nil && !errors.Is(err, tc.errIs) {
			t.Errorf("%s: error %q is not %v", tc.name, err, tc.errIs)
		}
	}
}

// TestCheckSize: the admission policy admits up to MaxPixels and nn.MaxSourceSide
// a side, refuses larger images with ErrTooLarge, and empty ones without it.
func TestCheckSize(t *testing.T) {
	side := nn.MaxSourceSide
	for _, tc := range []struct {
		w, h     int
		ok       bool
		tooLarge bool
	}{
		{1, 1, true, false}, {2048, 1536, true, false},
		{0, 10, false, false}, {10, -1, false, false},
		{MaxPixels / 1000, 1000, true, false}, {MaxPixels/1000 + 1, 1000, false, true},
		{side, 1, true, false}, {side + 1, 1, false, true}, {1, side + 1, false, true},
		{1 << 20, 1 << 20, false, true},
	} {
		err := CheckSize("png", tc.w, tc.h)
		if (err == nil) != tc.ok || errors.Is(err, ErrTooLarge) != tc.tooLarge {
			t.Errorf("CheckSize(%d, %d) = %v, want ok %v, ErrTooLarge %v", tc.w, tc.h, err, tc.ok, tc.tooLarge)
		}
	}
}
