// Preprocessing: images to network input.
//
// Image and RGBA turn a picture into the network's input: Height×Width×3 float32
// values, row-major, RGB interleaved (NHWC without the batch axis), in [0,1]
// (only an invalid premultiplied colour, with a channel above its alpha, can go
// beyond 1).
// Every pixel is read as 16-bit premultiplied RGBA exactly as color.Color.RGBA
// returns it for the image's colour model and composited over white:
// v = float32(c + 0xffff - a) / 65535, so an opaque 8-bit channel c gives
// exactly c/255, a gray image gives R = G = B, and a transparent pixel is white.
// Any image type works (RGBA, NRGBA, YCbCr with any subsampling as image/jpeg
// returns, Gray, Paletted, CMYK, the 16-bit types, sub-images); the bytes given to
// RGBA are non-premultiplied RGBA read exactly as an *image.NRGBA holding them,
// so both entry points agree bit for bit. The whole image is stretched to the
// destination size (no crop, aspect ratio not kept, as Keras flow_from_directory
// does) by separable resampling with a triangle filter widened by the scale
// factor when downscaling, so it is antialiased like Pillow's BILINEAR resize:
// along an axis of in source and out destination pixels, destination pixel d
// centres the filter at (d+0.5)*in/out - 0.5 (source pixel i sits at i), its
// support is max(1, in/out) pixels on each side, and its weights are normalised
// to sum to one over the source pixels they reach (fewer at the image edges).
// When Preprocessor.Crop is set (weights record it in Metadata.Crop), only the
// centred rectangle of round(Crop·side) pixels on each axis (at least one) is
// kept before resizing: it drops the borders where augmented copies carry
// their fill, for every image alike.
// A source that already has the destination size is copied exactly. The same
// input gives the same bits on every run and on every platform, native or
// WebAssembly.
//
// Implementation: the weights of each axis are computed once per (source,
// destination) length and kept. Each source row is converted to float32 R, G and
// B planes and filtered horizontally into a srcHeight×dstWidth×3 scratch, which
// is then filtered vertically into the output. The per-pixel work is plain
// float32 + and *, summed in a fixed order, with each product rounded explicitly
// (float32(w*v)) so that no platform fuses it into an FMA (Go does on arm64 and
// with GOAMD64=v3, and that changes the bits); the golden test would notice.

package nn

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
)

// Preprocessor turns images into network input. It keeps scratch buffers between calls,
// so steady-state use at a fixed source size allocates nothing; it is not safe for concurrent use.
// Pixels are composited over white and scaled to [0,1] (an opaque 8-bit value c gives c/255),
// and the whole image is stretched to the destination size with an antialiased triangle filter;
// the comment at the top of preprocess.go gives the exact rules. The zero value is ready to use.
type Preprocessor struct {
	// Crop is the share of each side kept, centred, before resizing: in
	// (0, 1], or 0 for the whole image. Inference with weights preprocesses
	// through Model (Preprocess, ClassifyImage), which sets it from the
	// weights' Metadata.Crop; a bare Preprocessor is for inputs prepared
	// apart from a model (training).
	Crop float64

	xw, yw axisWeights // resampling weights of each axis, reused while the lengths repeat
	row    []float32   // one source row as float32 R, G and B planes, 3×srcWidth
	tmp    []float32   // horizontal pass output, srcHeight×dstWidth×3
	raw    image.NRGBA // wraps the bytes given to RGBA without allocating
}

// axisWeights are the resampling contributions from in source pixels to out
// destination pixels along one axis: destination pixel i is the sum over k of
// w[off[i]+k] times source pixel start[i]+k, for k < off[i+1]-off[i].
type axisWeights struct {
	in, out int
	start   []int
	off     []int
	w       []float32
}

// set makes a hold the weights from in to out pixels, recomputing them only when
// the lengths changed.
func (a *axisWeights) set(in, out int) {
	if a.in == in && a.out == out && a.off != nil {
		return
	}
	a.in, a.out = in, out
	a.start = a.start[:0]
	a.off = append(a.off[:0], 0)
	a.w = a.w[:0]
	if in == out {
		// Same size: each output pixel is its source pixel, weight exactly 1.
		for i := range out {
			a.start = append(a.start, i)
			a.w = append(a.w, 1)
			a.off = append(a.off, len(a.w))
		}
		return
	}
	scale := float64(in) / float64(out)
	support := max(scale, 1) // the triangle's half-width, widened when downscaling
	for i := range out {
		// In continuous coordinates source pixel x covers [x, x+1), so its centre is
		// x+0.5 and the filter centre (i+0.5)*scale is pixel-centre coordinate
		// (i+0.5)*scale - 0.5.
		centre := (float64(i) + 0.5) * scale
		lo := max(int(centre-support+0.5), 0)
		hi := min(int(centre+support+0.5), in)
		sum := 0.0
		for x := lo; x < hi; x++ {
			sum += tent((float64(x) + 0.5 - centre) / support)
		}
		// Keep only the taps with a non-zero weight; the tent is positive on an
		// interval, so they are contiguous.
		first := -1
		for x := lo; x < hi; x++ {
			t := tent((float64(x) + 0.5 - centre) / support)
			if t == 0 {
				if first >= 0 {
					break
				}
				continue
			}
			if first < 0 {
				first = x
			}
			a.w = append(a.w, float32(t/sum))
		}
		a.start = append(a.start, first)
		a.off = append(a.off, len(a.w))
	}
}

// tent is the triangle filter: 1-|t| for |t| < 1, else 0.
func tent(t float64) float64 {
	if t < 0 {
		t = -t
	}
	if t >= 1 {
		return 0
	}
	return 1 - t
}

// unit8[k] is k/255 as float32. It is also (257k)/65535, the value of an opaque
// 8-bit channel k (and, for k up to 510, of premultiplied c8 + 255 - a8), since both
// are the correctly rounded float32 of the same rational.
var unit8 = func() (t [511]float32) {
	for k := range t {
		t[k] = float32(k) / 255
	}
	return t
}()

// MaxSourceSide is the largest image side preprocessing accepts. It bounds the
// scratch memory (source height × destination width × 3 values) for any image,
// including synthetic ones whose bounds are not backed by pixels.
const MaxSourceSide = 1 << 16

// over returns channel c of a 16-bit premultiplied colour with alpha a composited
// over white, scaled to [0,1]: float32(c+0xffff-a) / 65535. It multiplies in
// float64 instead of dividing in float32, which is faster and gives the same bits
// for every numerator up to 2*0xffff (TestPreprocessOverIsDivision checks them all).
func over(c, a uint32) float32 { return float32(float64(c+0xffff-a) * (1.0 / 0xffff)) }

// Image writes img, resized to size, into dst (len size.Height*size.Width*3).
func (p *Preprocessor) Image(dst []float32, size Dims, img image.Image) error {
	if err := p.image(dst, size, img); err != nil {
		return fmt.Errorf("preprocess image: %w", err)
	}
	return nil
}

// RGBA does the same for raw non-premultiplied RGBA bytes, 4 per pixel, row-major, as a canvas's getImageData gives.
func (p *Preprocessor) RGBA(dst []float32, size Dims, pix []byte, width, height int) error {
	if err := p.rgba(dst, size, pix, width, height); err != nil {
		return fmt.Errorf("preprocess RGBA: %w", err)
	}
	return nil
}

func (p *Preprocessor) rgba(out []float32, dst Dims, pix []byte, width, height int) error {
	if width <= 0 || height <= 0 {
		return fmt.Errorf("bad image size %dx%d: width and height must be positive", width, height)
	}
	if width > math.MaxInt/4/height {
		return fmt.Errorf("image size %dx%d is too large", width, height)
	}
	if want := 4 * width * height; len(pix) != want {
		return fmt.Errorf("got %d bytes for a %dx%d RGBA image, want %d", len(pix), width, height, want)
	}
	p.raw = image.NRGBA{Pix: pix, Stride: 4 * width, Rect: image.Rect(0, 0, width, height)}
	err := p.image(out, dst, &p.raw)
	p.raw.Pix = nil // do not keep the caller's pixels alive
	return err
}

func (p *Preprocessor) image(out []float32, dst Dims, img image.Image) error {
	if dst.Height < 1 || dst.Width < 1 {
		return fmt.Errorf("bad destination size %dx%d: it must be at least 1x1", dst.Width, dst.Height)
	}
	if dst.Width > math.MaxInt/3/dst.Height {
		return fmt.Errorf("destination size %dx%d is too large", dst.Width, dst.Height)
	}
	if want := dst.Height * dst.Width * 3; len(out) != want {
		return fmt.Errorf("output has %d values, want %d for %dx%dx3", len(out), want, dst.Width, dst.Height)
	}
	if isNil(img) {
		return errors.New("nil image")
	}
	b := img.Bounds()
	if b.Empty() {
		return fmt.Errorf("empty image (bounds %v)", b)
	}
	if err := checkPix(img, b); err != nil {
		return err
	}
	sw, sh := b.Dx(), b.Dy()
	if sw <= 0 || sh <= 0 || sw > MaxSourceSide || sh > MaxSourceSide {
		return fmt.Errorf("image is %dx%d: sides above %d pixels are not accepted; downscale or crop it first", sw, sh, MaxSourceSide)
	}
	if err := CheckCrop(p.Crop); err != nil {
		return err
	}
	b = CropRect(b, p.Crop)
	sw, sh = b.Dx(), b.Dy()

	p.xw.set(sw, dst.Width)
	p.yw.set(sh, dst.Height)
	p.row = grow(p.row, sw*3)
	p.tmp = grow(p.tmp, sh*dst.Width*3)

	// Horizontal pass: each source row, converted to planar R, G, B float32, into tmp.
	rr, gg, bb := p.row[:sw], p.row[sw:2*sw], p.row[2*sw:3*sw]
	xs, xo, xw := p.xw.start, p.xw.off, p.xw.w
	tw := dst.Width * 3
	for y := range sh {
		loadRow(rr, gg, bb, img, b, b.Min.Y+y)
		t := p.tmp[y*tw : (y+1)*tw]
		for dx := range dst.Width {
			ws := xw[xo[dx]:xo[dx+1]]
			s := xs[dx]
			r, g, bl := rr[s:s+len(ws)], gg[s:s+len(ws)], bb[s:s+len(ws)]
			var sr, sg, sb float32
			for k, w := range ws {
				sr += float32(w * r[k])
				sg += float32(w * g[k])
				sb += float32(w * bl[k])
			}
			d := t[3*dx : 3*dx+3 : 3*dx+3]
			d[0], d[1], d[2] = sr, sg, sb
		}
	}

	// Vertical pass: each output row is a weighted sum of tmp rows, summed in
	// increasing source row order.
	ys, yo, yw := p.yw.start, p.yw.off, p.yw.w
	for dy := range dst.Height {
		o := out[dy*tw : (dy+1)*tw]
		clear(o)
		for k, w := range yw[yo[dy]:yo[dy+1]] {
			sy := ys[dy] + k
			src := p.tmp[sy*tw : (sy+1)*tw]
			src = src[:len(o)]
			for i, v := range src {
				o[i] += float32(w * v)
			}
		}
	}
	return nil
}

// CheckCrop reports an error unless crop is 0 (no crop) or in (0, 1].
func CheckCrop(crop float64) error {
	if crop < 0 || crop > 1 || math.IsNaN(crop) {
		return fmt.Errorf("crop %g: want the share of each side kept, in (0, 1], or 0 for the whole image", crop)
	}
	return nil
}

// CropRect returns the centred part of b that preprocessing keeps at crop
// (see Preprocessor.Crop): round(crop·side) pixels on each axis, at least
// one, offset by half the rest (rounded down). Crop 0 or 1 returns b.
func CropRect(b image.Rectangle, crop float64) image.Rectangle {
	if crop <= 0 || crop >= 1 {
		return b
	}
	w := max(1, int(math.Round(float64(b.Dx())*crop)))
	h := max(1, int(math.Round(float64(b.Dy())*crop)))
	x0, y0 := b.Min.X+(b.Dx()-w)/2, b.Min.Y+(b.Dy()-h)/2
	return image.Rect(x0, y0, x0+w, y0+h)
}

// grow returns s resized to n, reusing its storage when it is large enough.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// isNil reports whether img is nil or a nil pointer of one of the image types
// with a fast path.
func isNil(img image.Image) bool {
	switch im := img.(type) {
	case nil:
		return true
	case *image.RGBA:
		return im == nil
	case *image.NRGBA:
		return im == nil
	case *image.YCbCr:
		return im == nil
	case *image.Gray:
		return im == nil
	}
	return false
}

// checkPix reports an error when the pixel buffers of an image with a fast path
// are too small for its bounds b, which would make reading it panic.
func checkPix(img image.Image, b image.Rectangle) error {
	last := b.Max.Sub(image.Pt(1, 1))
	span := func(kind string, first, lastOff, n, size int) error {
		if first < 0 || lastOff < 0 || lastOff+n > size {
			return fmt.Errorf("malformed %s image: pixel buffer of %d bytes does not cover bounds %v", kind, size, b)
		}
		return nil
	}
	switch im := img.(type) {
	case *image.RGBA:
		return span("RGBA", im.PixOffset(b.Min.X, b.Min.Y), im.PixOffset(last.X, last.Y), 4, len(im.Pix))
	case *image.NRGBA:
		return span("NRGBA", im.PixOffset(b.Min.X, b.Min.Y), im.PixOffset(last.X, last.Y), 4, len(im.Pix))
	case *image.Gray:
		return span("Gray", im.PixOffset(b.Min.X, b.Min.Y), im.PixOffset(last.X, last.Y), 1, len(im.Pix))
	case *image.YCbCr:
		if im.YStride < 0 || im.CStride < 0 {
			return fmt.Errorf("malformed YCbCr image: negative stride")
		}
		if err := span("YCbCr", im.YOffset(b.Min.X, b.Min.Y), im.YOffset(last.X, last.Y), 1, len(im.Y)); err != nil {
			return err
		}
		c0, c1 := im.COffset(b.Min.X, b.Min.Y), im.COffset(last.X, last.Y)
		return span("YCbCr", c0, c1, 1, min(len(im.Cb), len(im.Cr)))
	}
	return nil
}

// loadRow writes row y of img, columns b.Min.X to b.Max.X, composited over white,
// into r, g and b (each of length b.Dx()). The fast paths give exactly what the
// generic one, through At and color.Color.RGBA, gives.
func loadRow(r, g, b []float32, img image.Image, bounds image.Rectangle, y int) {
	w := len(r)
	g, b = g[:w], b[:w]
	switch im := img.(type) {
	case *image.NRGBA:
		i := im.PixOffset(bounds.Min.X, y)
		pix := im.Pix[i : i+4*w]
		for j := range w {
			s := pix[4*j : 4*j+4 : 4*j+4]
			if s[3] == 0xff {
				r[j], g[j], b[j] = unit8[s[0]], unit8[s[1]], unit8[s[2]]
				continue
			}
			cr, cg, cb, a := color.NRGBA{s[0], s[1], s[2], s[3]}.RGBA()
			r[j], g[j], b[j] = over(cr, a), over(cg, a), over(cb, a)
		}
	case *image.RGBA:
		// Premultiplied 8-bit: c16 + 0xffff - a16 = 257*(c8 + 255 - a8).
		i := im.PixOffset(bounds.Min.X, y)
		pix := im.Pix[i : i+4*w]
		for j := range w {
			s := pix[4*j : 4*j+4 : 4*j+4]
			t := 255 - int(s[3])
			r[j], g[j], b[j] = unit8[int(s[0])+t], unit8[int(s[1])+t], unit8[int(s[2])+t]
		}
	case *image.Gray:
		i := im.PixOffset(bounds.Min.X, y)
		pix := im.Pix[i : i+w]
		for j, v := range pix {
			c := unit8[v]
			r[j], g[j], b[j] = c, c, c
		}
	case *image.YCbCr:
		// Chroma sample of column x: COffset(x, y) = COffset(Min.X, y) + x/div - Min.X/div,
		// with div = 1<<shift the horizontal subsampling.
		shift := 0
		switch im.SubsampleRatio {
		case image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420:
			shift = 1
		case image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410:
			shift = 2
		}
		x0 := bounds.Min.X
		base := im.COffset(x0, y) - x0/(1<<shift)
		i := im.YOffset(x0, y)
		for j, yy := range im.Y[i : i+w] {
			var ci int
			if x := x0 + j; x >= 0 {
				ci = base + x>>shift
			} else {
				ci = base + x/(1<<shift) // rounds towards zero, as COffset does
			}
			cr, cg, cb, _ := color.YCbCr{yy, im.Cb[ci], im.Cr[ci]}.RGBA()
			r[j], g[j], b[j] = over(cr, 0xffff), over(cg, 0xffff), over(cb, 0xffff)
		}
	default:
		for j := range w {
			cr, cg, cb, a := img.At(bounds.Min.X+j, y).RGBA()
			r[j], g[j], b[j] = over(cr, a), over(cg, a), over(cb, a)
		}
	}
}
