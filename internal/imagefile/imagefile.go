// Package imagefile decodes the image files papscope classifies — PNG, JPEG,
// GIF, BMP, TIFF and WebP — checking their declared size before decoding, so a
// hostile or gigantic file is refused instead of exhausting memory.
package imagefile

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // register GIF
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG

	"papscope/internal/safefile"

	_ "golang.org/x/image/bmp"  // register BMP
	_ "golang.org/x/image/tiff" // register TIFF
	_ "golang.org/x/image/webp" // register WebP
)

// MaxPixels is the largest decoded image accepted: 64 megapixels, far above
// an LBC field capture (2048×1536 is 3 MP) and small enough to decode safely.
const MaxPixels = 64 << 20

// MaxFileBytes is the largest file read: larger files are refused before reading.
const MaxFileBytes = 256 << 20

// Formats lists the accepted formats, for messages.
const Formats = "PNG, JPEG, GIF, BMP, TIFF or WebP"

// ErrTooLarge is returned (wrapped) for images above MaxPixels or MaxFileBytes.
var ErrTooLarge = safefile.ErrTooLarge

// Decode decodes an image held in memory, refusing unknown formats and images
// above MaxPixels. A JPEG is turned as its EXIF orientation says, as browsers
// (and so papscope's page) show it.
func Decode(data []byte) (image.Image, error) {
	if len(data) == 0 {
		return nil, errors.New("empty file: 0 bytes")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, fmt.Errorf("not a recognised image (want %s)", Formats)
		}
		return nil, fmt.Errorf("corrupt or truncated image (header unreadable): %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s image has no pixels (%dx%d)", format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > MaxPixels {
		return nil, fmt.Errorf("%s image is %dx%d (%d MP): %w; papscope accepts at most %d MP — crop or downscale the field first",
			format, cfg.Width, cfg.Height, px>>20, ErrTooLarge, MaxPixels>>20)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("corrupt or truncated %s image: %w", format, err)
	}
	if format == "jpeg" {
		img = orient(img, jpegOrientation(data)) // as browsers show it
	}
	return img, nil
}

// Read reads and decodes an image file.
func Read(path string) (image.Image, error) {
	data, err := safefile.Read(path, MaxFileBytes)
	if err != nil {
		return nil, err
	}
	img, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}
