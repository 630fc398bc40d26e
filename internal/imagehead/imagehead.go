// Package imagehead reads an image file's format and dimensions from its first
// bytes, so the browser can refuse a file it cannot read, or one too large to
// decode safely, before asking the browser to decode the full bitmap.
//
// It also holds papscope's one image admission policy, which the page, its
// worker and the CLI's decoder (internal/imagefile) all apply: at most
// MaxPixels pixels and nn.MaxSourceSide a side (CheckSize), refused with
// ErrTooLarge. It links no image decoder, so the browser binary can use it.
package imagehead

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"papscope/nn"
)

// MaxPixels is the largest decoded image papscope accepts, on the page and in
// the CLI: 50 megapixels (200 MB of RGBA), far above an LBC field capture
// (2048×1536 is 3 MP).
const MaxPixels = 50_000_000

// PrefixBytes is how much of a file Read usually needs to find the dimensions.
const PrefixBytes = 256 << 10

// Formats lists the formats the page reads (those Read parses, which every
// browser decodes), for messages.
const Formats = "PNG, JPEG, GIF, BMP or WebP"

// ErrNeedMore is returned when prefix ends before the header does: call Read
// again with the whole file.
var ErrNeedMore = errors.New("image header extends beyond the bytes read")

// ErrTooLarge is the admission policy's one sentinel, returned (wrapped) for an
// image above MaxPixels or nn.MaxSourceSide a side (CheckSize, on the page, in
// the worker and in internal/imagefile) and for an image file above
// imagefile.MaxFileBytes.
var ErrTooLarge = errors.New("too large")

// Header is what the first bytes of an image file say about it.
type Header struct {
	Format        string // "png", "jpeg", "gif", "bmp" or "webp"
	Width, Height int
}

// Read returns the header of a file of size bytes whose first bytes are
// prefix, and checks it: a known format, positive dimensions, at most MaxPixels.
func Read(prefix []byte, size int64) (Header, error) {
	if size == 0 {
		return Header{}, errors.New("empty file (0 bytes)")
	}
	format, width, height, err := decodeConfig(prefix)
	switch {
	case errors.Is(err, errFormat) && isTIFF(prefix):
		return Header{}, errors.New("a TIFF image, which browsers cannot decode: convert it to PNG (same pixels), or classify it with papscope classify")
	case errors.Is(err, errFormat):
		return Header{}, fmt.Errorf("not an image papscope can read (want %s)", Formats)
	case err != nil && int64(len(prefix)) < size && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)):
		return Header{}, ErrNeedMore
	case err != nil:
		return Header{}, fmt.Errorf("corrupt or truncated image (header unreadable): %w", err)
	}
	h := Header{Format: format, Width: width, Height: height}
	return h, CheckSize(h.Format, h.Width, h.Height)
}

// CheckSize applies the admission policy to an image of format: it refuses one
// with no pixels, and with ErrTooLarge one above MaxPixels or with a side above
// nn.MaxSourceSide.
func CheckSize(format string, width, height int) error {
	format = strings.ToUpper(format)
	if width <= 0 || height <= 0 {
		return fmt.Errorf("%s image has no pixels (%d×%d)", format, width, height)
	}
	if px := int64(width) * int64(height); px > MaxPixels || width > nn.MaxSourceSide || height > nn.MaxSourceSide {
		return fmt.Errorf("%s image is %d×%d (%.1f megapixels): %w; papscope decodes at most %d megapixels, %d pixels a side — crop or downscale the field first",
			format, width, height, float64(px)/1e6, ErrTooLarge, MaxPixels/1_000_000, nn.MaxSourceSide)
	}
	return nil
}

// isTIFF says whether b starts like a TIFF file (little- or big-endian), the
// format microscope cameras often write: the page names it in its refusal.
func isTIFF(b []byte) bool {
	return strings.HasPrefix(string(b), "II*\x00") || strings.HasPrefix(string(b), "MM\x00*")
}
