package imagehead

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// This file reads the dimensions of the five formats by hand, following what
// the decoders' DecodeConfig (image/png, image/jpeg, image/gif,
// golang.org/x/image/bmp and golang.org/x/image/webp) accept and refuse, so
// the binary links no decoder: the browser decodes the pixels.

// errFormat is returned when no format's signature matches.
var errFormat = errors.New("image: unknown format")

// decodeConfig returns the format and dimensions at the start of b. A header
// that runs past the end of b gives an error that is io.ErrUnexpectedEOF
// (except for GIF, whose decoder does not keep it).
func decodeConfig(b []byte) (format string, w, h int, err error) {
	switch {
	case strings.HasPrefix(string(b), "\x89PNG\r\n\x1a\n"):
		w, h, err = pngConfig(b)
		return "png", w, h, err
	case len(b) >= 2 && b[0] == 0xff && b[1] == 0xd8:
		w, h, err = jpegConfig(b)
		return "jpeg", w, h, err
	case len(b) >= 6 && string(b[:4]) == "GIF8" && b[5] == 'a':
		w, h, err = gifConfig(b)
		return "gif", w, h, err
	case len(b) >= 10 && string(b[:2]) == "BM" && string(b[6:10]) == "\x00\x00\x00\x00":
		w, h, err = bmpConfig(b)
		return "bmp", w, h, err
	case len(b) >= 15 && string(b[:4]) == "RIFF" && string(b[8:15]) == "WEBPVP8":
		w, h, err = webpConfig(b)
		return "webp", w, h, err
	}
	return "", 0, 0, errFormat
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

// pngConfig reads the IHDR chunk, which must come first.
func pngConfig(b []byte) (int, int, error) {
	b = b[8:]
	var length uint32
	for {
		if len(b) < 8 {
			return 0, 0, io.ErrUnexpectedEOF
		}
		length = be32(b)
		typ := string(b[4:8])
		if typ == "IHDR" {
			break
		}
		switch typ {
		case "PLTE", "tRNS", "IDAT", "IEND":
			return 0, 0, errors.New("png: invalid format: chunk out of order")
		}
		// Any other chunk before IHDR is skipped, as image/png does.
		if length > 0x7fffffff {
			return 0, 0, fmt.Errorf("png: invalid format: bad chunk length: %d", length)
		}
		if uint64(len(b)) < 8+uint64(length)+4 {
			return 0, 0, io.ErrUnexpectedEOF
		}
		if be32(b[8+length:]) != crc32.ChecksumIEEE(b[4:8+length]) {
			return 0, 0, errors.New("png: invalid format: invalid checksum")
		}
		b = b[8+length+4:]
	}
	if length != 13 {
		return 0, 0, errors.New("png: invalid format: bad IHDR length")
	}
	if len(b) < 8+13 {
		return 0, 0, io.ErrUnexpectedEOF
	}
	d := b[8 : 8+13]
	switch {
	case d[10] != 0:
		return 0, 0, errors.New("png: unsupported feature: compression method")
	case d[11] != 0:
		return 0, 0, errors.New("png: unsupported feature: filter method")
	case d[12] > 1:
		return 0, 0, errors.New("png: invalid format: invalid interlace method")
	}
	w, h := int32(be32(d[0:4])), int32(be32(d[4:8]))
	if w <= 0 || h <= 0 {
		return 0, 0, errors.New("png: invalid format: non-positive dimension")
	}
	depth, ct := d[8], d[9]
	ok := false
	switch depth {
	case 1, 2, 4:
		ok = ct == 0 || ct == 3
	case 8:
		ok = ct == 0 || ct == 2 || ct == 3 || ct == 4 || ct == 6
	case 16:
		ok = ct == 0 || ct == 2 || ct == 4 || ct == 6
	}
	if !ok {
		return 0, 0, fmt.Errorf("png: unsupported feature: bit depth %d, color type %d", depth, ct)
	}
	if len(b) < 8+13+4 {
		return 0, 0, io.ErrUnexpectedEOF
	}
	if be32(b[8+13:]) != crc32.ChecksumIEEE(b[4:8+13]) {
		return 0, 0, errors.New("png: invalid format: invalid checksum")
	}
	return int(w), int(h), nil
}

// jpegConfig walks the markers to the frame header (SOF0, SOF1 or SOF2). As
// image/jpeg does, it stops there in a JFIF file, and otherwise goes on to the
// first scan, refusing a second frame header.
func jpegConfig(b []byte) (int, int, error) {
	p := 2
	var tmp [2]byte
	next := func() (byte, error) {
		if p >= len(b) {
			return 0, io.ErrUnexpectedEOF
		}
		p++
		return b[p-1], nil
	}
	w, h, nComp, jfif := 0, 0, 0, false
	var ch, cv [4]int // the components' sampling factors
	for {
		if p+2 > len(b) {
			return 0, 0, io.ErrUnexpectedEOF
		}
		tmp[0], tmp[1] = b[p], b[p+1]
		p += 2
		for tmp[0] != 0xff { // extraneous data before a marker: skip it, as libjpeg does
			c, err := next()
			if err != nil {
				return 0, 0, err
			}
			tmp[0], tmp[1] = tmp[1], c
		}
		marker := tmp[1]
		if marker == 0 {
			continue
		}
		for marker == 0xff {
			c, err := next()
			if err != nil {
				return 0, 0, err
			}
			marker = c
		}
		if marker == 0xd9 { // EOI
			break
		}
		if 0xd0 <= marker && marker <= 0xd7 { // RSTn
			continue
		}
		if p+2 > len(b) {
			return 0, 0, io.ErrUnexpectedEOF
		}
		n := int(b[p])<<8 + int(b[p+1]) - 2
		p += 2
		if n < 0 {
			return 0, 0, errors.New("invalid JPEG format: short segment length")
		}
		switch {
		case marker == 0xc0 || marker == 0xc1 || marker == 0xc2: // SOF0, SOF1, SOF2
			if nComp != 0 {
				return 0, 0, errors.New("invalid JPEG format: multiple SOF markers")
			}
			switch n {
			case 6 + 3*1, 6 + 3*3, 6 + 3*4:
				nComp = (n - 6) / 3
			default:
				return 0, 0, errors.New("unsupported JPEG feature: number of components")
			}
			if p+n > len(b) {
				return 0, 0, io.ErrUnexpectedEOF
			}
			s := b[p : p+n]
			p += n
			if s[0] != 8 {
				return 0, 0, errors.New("unsupported JPEG feature: precision")
			}
			h, w = int(s[1])<<8+int(s[2]), int(s[3])<<8+int(s[4])
			if int(s[5]) != nComp {
				return 0, 0, errors.New("invalid JPEG format: SOF has wrong length")
			}
			for i := range nComp {
				for j := range i {
					if s[6+3*i] == s[6+3*j] {
						return 0, 0, errors.New("invalid JPEG format: repeated component identifier")
					}
				}
				if s[8+3*i] > 3 {
					return 0, 0, errors.New("invalid JPEG format: bad Tq value")
				}
				hv := s[7+3*i]
				hh, vv := int(hv>>4), int(hv&0x0f)
				if hh < 1 || 4 < hh || vv < 1 || 4 < vv {
					return 0, 0, errors.New("invalid JPEG format: luma/chroma subsampling ratio")
				}
				bad := hh == 3 || vv == 3
				switch nComp {
				case 1:
					hh, vv = 1, 1
				case 3: // any factors that divide the largest ones (checked below), as Go 1.27's decoder takes
				case 4:
					bad = bad || i == 0 && hv != 0x11 && hv != 0x22 ||
						(i == 1 || i == 2) && hv != 0x11 ||
						i == 3 && (ch[0] != hh || cv[0] != vv)
				}
				if bad {
					return 0, 0, errors.New("unsupported JPEG feature: luma/chroma subsampling ratio")
				}
				ch[i], cv[i] = hh, vv
			}
			if nComp == 3 {
				maxH, maxV := max(ch[0], ch[1], ch[2]), max(cv[0], cv[1], cv[2])
				for i := range 3 {
					if maxH%ch[i] != 0 || maxV%cv[i] != 0 {
						return 0, 0, errors.New("unsupported JPEG feature: luma/chroma subsampling ratio")
					}
				}
			}
			if jfif {
				return w, h, nil
			}
		case marker == 0xda: // SOS: the header is over
			if nComp == 0 {
				return 0, 0, errors.New("invalid JPEG format: missing SOF marker")
			}
			return w, h, nil
		case marker == 0xe0: // APP0: JFIF?
			if n >= 5 {
				if p+5 > len(b) {
					return 0, 0, io.ErrUnexpectedEOF
				}
				jfif = string(b[p:p+5]) == "JFIF\x00"
			}
			fallthrough
		case marker == 0xc4 || marker == 0xdb || marker == 0xdd || 0xe0 <= marker && marker <= 0xef || marker == 0xfe:
			// DHT, DQT, DRI, APPn, COM: skipped.
			if p+n > len(b) {
				return 0, 0, io.ErrUnexpectedEOF
			}
			p += n
		case marker < 0xc0:
			return 0, 0, errors.New("invalid JPEG format: unknown marker")
		default:
			return 0, 0, errors.New("unsupported JPEG feature: unknown marker")
		}
	}
	if nComp == 0 {
		return 0, 0, errors.New("invalid JPEG format: missing SOF marker")
	}
	return w, h, nil
}

// gifConfig reads the logical screen descriptor and checks that the global
// colour table is there. image/gif reports no truncation as io.ErrUnexpectedEOF.
func gifConfig(b []byte) (int, int, error) {
	if len(b) < 13 {
		return 0, 0, fmt.Errorf("gif: reading header: %v", io.ErrUnexpectedEOF)
	}
	if v := string(b[:6]); v != "GIF87a" && v != "GIF89a" {
		return 0, 0, fmt.Errorf("gif: can't recognize format %q", v)
	}
	if fields := b[10]; fields&0x80 != 0 {
		if n := 3 * (1 << (1 + fields&7)); len(b) < 13+n {
			return 0, 0, fmt.Errorf("gif: reading color table: %s", io.ErrUnexpectedEOF)
		}
	}
	return int(le16(b[6:8])), int(le16(b[8:10])), nil
}

// bmpConfig reads the file and info headers, accepting what golang.org/x/image/bmp decodes.
func bmpConfig(b []byte) (int, int, error) {
	const fileHeaderLen = 14
	errUnsupported := errors.New("bmp: unsupported BMP image")
	if len(b) < fileHeaderLen+4 {
		return 0, 0, io.ErrUnexpectedEOF
	}
	offset, infoLen := le32(b[10:14]), le32(b[14:18])
	if infoLen != 40 && infoLen != 108 && infoLen != 124 {
		return 0, 0, errUnsupported
	}
	if uint32(len(b)) < fileHeaderLen+infoLen {
		return 0, 0, io.ErrUnexpectedEOF
	}
	w, h := int(int32(le32(b[18:22]))), int(int32(le32(b[22:26])))
	if h < 0 {
		h = -h
	}
	if w < 0 || h < 0 || (w == 0) != (h == 0) {
		return 0, 0, errUnsupported
	}
	if uint64(w)*uint64(h) > (1<<63-1)/4 {
		return 0, 0, errUnsupported
	}
	planes, bpp, compression := le16(b[26:28]), le16(b[28:30]), le32(b[30:34])
	if compression == 3 && infoLen > 40 &&
		le32(b[54:58]) == 0xff0000 && le32(b[58:62]) == 0xff00 &&
		le32(b[62:66]) == 0xff && le32(b[66:70]) == 0xff000000 {
		compression = 0
	}
	if planes != 1 || compression != 0 {
		return 0, 0, errUnsupported
	}
	switch bpp {
	case 1, 2, 4, 8:
		colorUsed := le32(b[46:50])
		if colorUsed == 0 {
			colorUsed = 1 << bpp
		} else if colorUsed > 1<<bpp {
			return 0, 0, errUnsupported
		}
		if offset != fileHeaderLen+infoLen+colorUsed*4 {
			return 0, 0, errUnsupported
		}
		if uint32(len(b)) < fileHeaderLen+infoLen+colorUsed*4 {
			return 0, 0, io.ErrUnexpectedEOF
		}
	case 24, 32:
		if offset != fileHeaderLen+infoLen {
			return 0, 0, errUnsupported
		}
	default:
		return 0, 0, errUnsupported
	}
	return w, h, nil
}

// webpConfig walks the RIFF chunks to the first VP8X, VP8 or VP8L chunk,
// with the errors of golang.org/x/image/riff and webp: a chunk skipped whole
// that the data ends inside is "short chunk data", not a truncation.
func webpConfig(b []byte) (int, int, error) {
	var (
		errInvalid   = errors.New("webp: invalid format")
		errShortData = errors.New("riff: short chunk data")
		errShortHdr  = errors.New("riff: short chunk header")
		errTooLong   = errors.New("riff: list subchunk too long")
		errNoPadding = errors.New("riff: missing padding byte")
	)
	total := le32(b[4:8]) // the RIFF chunk's length, "WEBP" included
	if total < 4 {
		return 0, 0, errShortData
	}
	total -= 4
	p := 12
	for {
		if total == 0 {
			return 0, 0, errInvalid
		}
		if total < 8 {
			return 0, 0, errShortHdr
		}
		total -= 8
		if p+8 > len(b) {
			return 0, 0, errShortHdr
		}
		id, n := string(b[p:p+4]), le32(b[p+4:p+8])
		p += 8
		if n > total {
			return 0, 0, errTooLong
		}
		avail := b[p:min(len(b), p+int(n))]
		switch id {
		case "VP8X":
			if n != 10 {
				return 0, 0, errInvalid
			}
			if len(avail) < 10 {
				return 0, 0, io.ErrUnexpectedEOF
			}
			w := uint64(avail[4]) | uint64(avail[5])<<8 | uint64(avail[6])<<16 + 1
			h := uint64(avail[7]) | uint64(avail[8])<<8 | uint64(avail[9])<<16 + 1
			if w*h > 1<<31-1 {
				return 0, 0, errInvalid
			}
			return int(w), int(h), nil
		case "VP8 ":
			if int32(n) < 0 {
				return 0, 0, errInvalid
			}
			if len(avail) < 3 {
				return 0, 0, io.ErrUnexpectedEOF
			}
			if avail[0]&1 != 0 { // not a key frame: no dimensions
				return 0, 0, nil
			}
			if len(avail) < 10 {
				return 0, 0, io.ErrUnexpectedEOF
			}
			f := avail[3:10]
			if f[0] != 0x9d || f[1] != 0x01 || f[2] != 0x2a {
				return 0, 0, errors.New("vp8: invalid format")
			}
			return int(f[4]&0x3f)<<8 | int(f[3]), int(f[6]&0x3f)<<8 | int(f[5]), nil
		case "VP8L":
			if len(avail) < 1 {
				return 0, 0, io.ErrUnexpectedEOF
			}
			if avail[0] != 0x2f {
				return 0, 0, errors.New("vp8l: invalid header")
			}
			if len(avail) < 5 {
				return 0, 0, io.ErrUnexpectedEOF
			}
			bits := le32(avail[1:5])
			if bits>>29 != 0 {
				return 0, 0, errors.New("vp8l: invalid version")
			}
			return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1, nil
		case "ALPH":
			return 0, 0, errInvalid
		}
		// Any other chunk is skipped, with its padding byte.
		if len(avail) < int(n) {
			return 0, 0, errShortData
		}
		p += int(n)
		total -= n
		if n&1 == 1 {
			if total == 0 {
				return 0, 0, errTooLong
			}
			total--
			if p >= len(b) {
				return 0, 0, errNoPadding
			}
			p++
		}
	}
}
