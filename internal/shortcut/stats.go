// Package shortcut measures the cues in the LBC data that give a class away
// without any cytology — JPEG quality and the nearest-fill borders of
// augmented copies — and probes whether a classifier can use them: a
// classifier that sees only those statistics, scored by slide-grouped
// cross-validation, and augmented NILM fields that must stay NILM.
package shortcut

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
)

// ijgLuma is the JPEG standard's luminance quantisation table (Annex K), in
// natural order, that libjpeg, Pillow and Go's image/jpeg scale by quality.
var ijgLuma = [64]int{
	16, 11, 10, 16, 24, 40, 51, 61,
	12, 12, 14, 19, 26, 58, 60, 55,
	14, 13, 16, 24, 40, 57, 69, 56,
	14, 17, 22, 29, 51, 87, 80, 62,
	18, 22, 37, 56, 68, 109, 103, 77,
	24, 35, 55, 64, 81, 104, 113, 92,
	49, 64, 78, 87, 103, 121, 120, 101,
	72, 92, 95, 98, 112, 100, 103, 99,
}

// scaledLuma returns the luminance table libjpeg uses at quality q (1–100).
func scaledLuma(q int) [64]int {
	scale := 5000 / q
	if q >= 50 {
		scale = 200 - 2*q
	}
	var t [64]int
	for i, v := range ijgLuma {
		t[i] = min(max((v*scale+50)/100, 1), 255)
	}
	return t
}

// JPEGQuality estimates the quality a JPEG file was saved at, 1–100, from its
// first quantisation table: the libjpeg quality whose scaled standard table
// is nearest to it (sum of absolute differences; the table's order in the
// file does not matter for the sum's minimum up to zig-zag, so both are
// compared as sorted multisets). It fails when data is not a JPEG or has no
// quantisation table.
func JPEGQuality(data []byte) (int, error) {
	table, err := firstDQT(data)
	if err != nil {
		return 0, err
	}
	best, bestErr := 0, math.MaxInt
	for q := 1; q <= 100; q++ {
		ref := scaledLuma(q)
		if e := sortedDistance(table, ref); e < bestErr {
			best, bestErr = q, e
		}
	}
	return best, nil
}

// firstDQT returns the first 8-bit quantisation table of a JPEG stream.
func firstDQT(data []byte) ([64]int, error) {
	var t [64]int
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return t, errors.New("not a JPEG file (no SOI marker)")
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return t, fmt.Errorf("JPEG: no marker at byte %d", i)
		}
		marker := data[i+1]
		if marker == 0xff {
			i++
			continue
		}
		if marker == 0xd9 || marker == 0xda {
			break // end of image, or start of scan: no table before it
		}
		n := int(data[i+2])<<8 | int(data[i+3])
		if n < 2 || i+2+n > len(data) {
			return t, fmt.Errorf("JPEG: segment at byte %d runs past the end", i)
		}
		if marker == 0xdb {
			seg := data[i+4 : i+2+n]
			if len(seg) >= 65 && seg[0]>>4 == 0 {
				for k := range 64 {
					t[k] = int(seg[1+k])
				}
				return t, nil
			}
		}
		i += 2 + n
	}
	return t, errors.New("JPEG: no 8-bit quantisation table")
}

// sortedDistance is the sum of absolute differences of the sorted values of a and b.
func sortedDistance(a, b [64]int) int {
	sa, sb := sortInts(a), sortInts(b)
	d := 0
	for i := range sa {
		d += abs(sa[i] - sb[i])
	}
	return d
}

func sortInts(a [64]int) [64]int {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
	return a
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Requantize encodes img as a JPEG at quality (1–100) and decodes it again,
// the treatment that gives every image the same quantisation whatever it was
// saved at. It returns the new image and the encoded bytes.
func Requantize(img image.Image, quality int) (image.Image, []byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, nil, fmt.Errorf("re-encode at JPEG quality %d: %w", quality, err)
	}
	out, err := jpeg.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, nil, fmt.Errorf("decode the re-encoded JPEG: %w", err)
	}
	return out, buf.Bytes(), nil
}
