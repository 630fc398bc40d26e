// Package imagefile decodes the image files the CLI classifies, in the formats
// it lists (Formats, Extensions), checking their declared size against the
// admission policy (imagehead.CheckSize) before decoding, so a hostile or
// gigantic file is refused instead of exhausting memory.
package imagefile

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // register GIF
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG
	"strings"

	"papscope/internal/imagehead"
	"papscope/internal/safefile"

	_ "golang.org/x/image/bmp"  // register BMP
	_ "golang.org/x/image/tiff" // register TIFF
	_ "golang.org/x/image/webp" // register WebP
)

// MaxFileBytes is the largest file read: larger files are refused before reading.
const MaxFileBytes = 256 << 20

// format is one image format the CLI decodes.
type format struct {
	Name       string   // as image.DecodeConfig names it: "png", "jpeg", ...
	Extensions []string // its file extensions, lower case, with the dot
}

// formats is the one list of the formats this package decodes (the decoders
// registered above); Formats, Extensions and Decode's refusal derive from it.
var formats = []format{
	{"jpeg", []string{".jpg", ".jpeg"}},
	{"png", []string{".png"}},
	{"bmp", []string{".bmp"}},
	{"tiff", []string{".tif", ".tiff"}},
	{"gif", []string{".gif"}},
	{"webp", []string{".webp"}},
}

// Formats lists the formats decoded, for messages and help: "JPEG, PNG, …, GIF or WebP".
func Formats() string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = strings.ToUpper(f.Name)
		if f.Name == "webp" {
			names[i] = "WebP"
		}
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// decodes says whether name (as image.DecodeConfig gives it) is in formats.
func decodes(name string) bool {
	for _, f := range formats {
		if f.Name == name {
			return true
		}
	}
	return false
}

// Extensions returns the file extensions of the formats decoded, lower case
// with the dot, in a new slice; matching them is meant case-insensitively.
func Extensions() []string {
	var ext []string
	for _, f := range formats {
		ext = append(ext, f.Extensions...)
	}
	return ext
}

// Decode decodes an image held in memory, refusing unknown formats and images
// outside the admission policy (imagehead.CheckSize, with imagehead.ErrTooLarge). A JPEG is turned as its EXIF orientation says, as browsers
// (and so papscope's page) show it.
func Decode(data []byte) (image.Image, error) {
	if len(data) == 0 {
		return nil, errors.New("empty file: 0 bytes")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err == nil && !decodes(format) {
		err = image.ErrFormat // a decoder some other package registered
	}
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, fmt.Errorf("not a recognised image (want %s)", Formats())
		}
		return nil, fmt.Errorf("corrupt or truncated image (header unreadable): %w", err)
	}
	if err := imagehead.CheckSize(format, cfg.Width, cfg.Height); err != nil {
		return nil, err
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
	if errors.Is(err, safefile.ErrTooLarge) {
		return nil, fmt.Errorf("%s: image file is %w: more than the %d MiB accepted", path, imagehead.ErrTooLarge, MaxFileBytes>>20)
	}
	if err != nil {
		return nil, err
	}
	img, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}
