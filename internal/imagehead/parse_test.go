package imagehead

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math/rand/v2"
	"testing"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"
)

// riffWebP wraps chunks (id, data) in a RIFF WEBP container.
func riffWebP(chunks ...any) []byte {
	var body []byte
	body = append(body, "WEBP"...)
	for i := 0; i < len(chunks); i += 2 {
		id, data := chunks[i].(string), chunks[i+1].([]byte)
		body = append(body, id...)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(data)))
		body = append(body, data...)
		if len(data)%2 == 1 {
			body = append(body, 0)
		}
	}
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...)
}

func vp8lHeader(w, h int) []byte {
	bits := uint32(w-1) | uint32(h-1)<<14
	return binary.LittleEndian.AppendUint32([]byte{0x2f}, bits)
}

func vp8xHeader(w, h int) []byte {
	b := make([]byte, 10)
	b[4], b[5], b[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
	b[7], b[8], b[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
	return b
}

func vp8Header(w, h int) []byte {
	return []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, byte(w), byte(w >> 8 & 0x3f), byte(h), byte(h >> 8 & 0x3f), 0, 0}
}

// samples are valid headers of every format, for the comparison with the decoders.
func samples(t *testing.T) map[string][]byte {
	return map[string][]byte{
		"png":       encode(t, "png", 30, 20),
		"png big":   pngHeader(10000, 5000),
		"jpeg":      encode(t, "jpeg", 17, 9),
		"gif":       encode(t, "gif", 5, 6),
		"bmp":       encode(t, "bmp", 8, 3),
		"webp vp8l": riffWebP("VP8L", vp8lHeader(300, 200)),
		"webp vp8x": riffWebP("VP8X", vp8xHeader(640, 480), "VP8L", vp8lHeader(640, 480)),
		"webp vp8":  riffWebP("VP8 ", vp8Header(33, 21)),
	}
}

// TestDecodeConfigMatchesDecoders checks the hand parser against the decoders'
// DecodeConfig on valid headers, every truncation of them and random damage.
func TestDecodeConfigMatchesDecoders(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, data := range samples(t) {
		inputs := [][]byte{data}
		for n := range min(len(data), 400) {
			inputs = append(inputs, data[:n])
		}
		for range 3000 {
			b := bytes.Clone(data[:min(len(data), 200)])
			for range 1 + rng.IntN(3) {
				b[rng.IntN(len(b))] = byte(rng.Uint32())
			}
			inputs = append(inputs, b)
		}
		for _, in := range inputs {
			cfg, wantFormat, wantErr := image.DecodeConfig(bytes.NewReader(in))
			format, w, h, err := decodeConfig(in)
			if (err == nil) != (wantErr == nil) {
				t.Errorf("%s %x: error %v, decoder's %v", name, in[:min(len(in), 64)], err, wantErr)
				continue
			}
			if errors.Is(err, io.ErrUnexpectedEOF) != (errors.Is(wantErr, io.ErrUnexpectedEOF) || errors.Is(wantErr, io.EOF)) {
				t.Errorf("%s %x: error %v, decoder's %v: truncation differs", name, in[:min(len(in), 64)], err, wantErr)
			}
			if errors.Is(err, errFormat) != errors.Is(wantErr, image.ErrFormat) {
				t.Errorf("%s %x: error %v, decoder's %v: format differs", name, in[:min(len(in), 64)], err, wantErr)
			}
			if err == nil && (format != wantFormat || w != cfg.Width || h != cfg.Height) {
				t.Errorf("%s: %s %d×%d, decoder's %s %d×%d", name, format, w, h, wantFormat, cfg.Width, cfg.Height)
			}
		}
	}
}
