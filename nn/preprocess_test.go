package nn

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updatePreprocess = flag.Bool("update-preprocess", false, "rewrite the golden files in testdata/preprocess")

// ppGeneric hides an image's concrete type, so Preprocessor takes the At path.
type ppGeneric struct{ image.Image }

// ppPreprocess runs a fresh Preprocessor and fails the test on error.
func ppPreprocess(t testing.TB, dst Dims, img image.Image) []float32 {
	t.Helper()
	out := make([]float32, dst.Height*dst.Width*3)
	var p Preprocessor
	if err := p.Image(out, dst, img); err != nil {
		t.Fatal(err)
	}
	return out
}

// ppDiffBits returns the index of the first value whose bits differ, or -1.
func ppDiffBits(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// ppPixelValues returns img's pixels composited over white as the network sees
// them, computed independently of Preprocessor.
func ppPixelValues(img image.Image) []float32 {
	b := img.Bounds()
	var v []float32
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			for _, c := range []uint32{r, g, bl} {
				v = append(v, float32(c+(0xffff-a))/65535)
			}
		}
	}
	return v
}

// ppRandBytes fills pix with random bytes from rng.
func ppRandBytes(rng *rand.Rand, pix []byte) {
	for i := range pix {
		pix[i] = byte(rng.Uint32())
	}
}

// ppRandNRGBA returns an NRGBA image over r with random colours: half the pixels
// opaque, some transparent, the rest partly transparent.
func ppRandNRGBA(rng *rand.Rand, r image.Rectangle) *image.NRGBA {
	m := image.NewNRGBA(r)
	ppRandBytes(rng, m.Pix)
	for i := 3; i < len(m.Pix); i += 4 {
		switch rng.IntN(4) {
		case 0, 1:
			m.Pix[i] = 0xff
		case 2:
			m.Pix[i] = 0
		}
	}
	return m
}

// ppRandRGBA returns a premultiplied RGBA image over r with valid random colours.
func ppRandRGBA(rng *rand.Rand, r image.Rectangle) *image.RGBA {
	m := image.NewRGBA(r)
	for i := 0; i < len(m.Pix); i += 4 {
		a := byte(rng.IntN(256))
		if rng.IntN(2) == 0 {
			a = 0xff
		}
		for c := range 3 {
			m.Pix[i+c] = byte(rng.IntN(int(a) + 1))
		}
		m.Pix[i+3] = a
	}
	return m
}

func ppRandYCbCr(rng *rand.Rand, r image.Rectangle, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	m := image.NewYCbCr(r, ratio)
	ppRandBytes(rng, m.Y)
	ppRandBytes(rng, m.Cb)
	ppRandBytes(rng, m.Cr)
	return m
}

func ppRandGray(rng *rand.Rand, r image.Rectangle) *image.Gray {
	m := image.NewGray(r)
	ppRandBytes(rng, m.Pix)
	return m
}

// ppTestImages returns, by name, images of every type the package handles, with odd
// sizes, non-zero and negative origins, sub-images and non-opaque pixels.
func ppTestImages() []struct {
	name string
	img  image.Image
} {
	rng := rand.New(rand.NewPCG(1, 2))
	type named = struct {
		name string
		img  image.Image
	}
	r := image.Rect(0, 0, 37, 23)
	neg := image.Rect(-7, -3, 26, 18)
	sub := image.Rect(3, 5, 30, 20)
	imgs := []named{
		{"NRGBA", ppRandNRGBA(rng, r)},
		{"NRGBA/negative-origin", ppRandNRGBA(rng, neg)},
		{"NRGBA/sub-image", ppRandNRGBA(rng, r).SubImage(sub)},
		{"RGBA", ppRandRGBA(rng, r)},
		{"RGBA/negative-origin", ppRandRGBA(rng, neg)},
		{"RGBA/sub-image", ppRandRGBA(rng, r).SubImage(sub)},
		{"Gray", ppRandGray(rng, r)},
		{"Gray/negative-origin", ppRandGray(rng, neg)},
		{"Gray/sub-image", ppRandGray(rng, r).SubImage(sub)},
	}
	ratios := []struct {
		name  string
		ratio image.YCbCrSubsampleRatio
	}{
		{"444", image.YCbCrSubsampleRatio444},
		{"422", image.YCbCrSubsampleRatio422},
		{"420", image.YCbCrSubsampleRatio420},
		{"440", image.YCbCrSubsampleRatio440},
		{"411", image.YCbCrSubsampleRatio411},
		{"410", image.YCbCrSubsampleRatio410},
	}
	for _, rt := range ratios {
		imgs = append(imgs,
			named{"YCbCr" + rt.name, ppRandYCbCr(rng, r, rt.ratio)},
			named{"YCbCr" + rt.name + "/negative-origin", ppRandYCbCr(rng, neg, rt.ratio)},
			named{"YCbCr" + rt.name + "/sub-image", ppRandYCbCr(rng, r, rt.ratio).SubImage(sub)},
		)
	}

	// Types without a fast path.
	pal := image.NewPaletted(r, palette.Plan9)
	ppRandBytes(rng, pal.Pix)
	rgba64 := image.NewRGBA64(r)
	for i := 0; i < len(rgba64.Pix); i += 8 {
		a := uint16(rng.Uint32())
		c := func() uint16 { return uint16(rng.IntN(int(a) + 1)) }
		rgba64.SetRGBA64(r.Min.X+i/8%r.Dx(), r.Min.Y+i/8/r.Dx(), color.RGBA64{c(), c(), c(), a})
	}
	nrgba64 := image.NewNRGBA64(r)
	ppRandBytes(rng, nrgba64.Pix)
	gray16 := image.NewGray16(r)
	ppRandBytes(rng, gray16.Pix)
	cmyk := image.NewCMYK(r)
	ppRandBytes(rng, cmyk.Pix)
	nycbcra := image.NewNYCbCrA(r, image.YCbCrSubsampleRatio420)
	ppRandBytes(rng, nycbcra.Y)
	ppRandBytes(rng, nycbcra.Cb)
	ppRandBytes(rng, nycbcra.Cr)
	ppRandBytes(rng, nycbcra.A)
	alpha := image.NewAlpha(r)
	ppRandBytes(rng, alpha.Pix)
	return append(imgs,
		named{"Paletted", pal},
		named{"RGBA64", rgba64},
		named{"NRGBA64", nrgba64},
		named{"Gray16", gray16},
		named{"CMYK", cmyk},
		named{"NYCbCrA", nycbcra},
		named{"Alpha", alpha},
	)
}

// TestPreprocessFastPathsMatchGeneric checks that each fast path gives the same
// bits as reading the same image through At, at the same size and resized.
func TestPreprocessFastPathsMatchGeneric(t *testing.T) {
	dsts := []Dims{{0, 0}, {11, 7}, {23, 37}, {40, 50}, {1, 1}, {5, 61}}
	for _, tc := range ppTestImages() {
		for _, dst := range dsts {
			if dst == (Dims{}) {
				dst = Dims{tc.img.Bounds().Dy(), tc.img.Bounds().Dx()}
			}
			t.Run(fmt.Sprintf("%s/%dx%d", tc.name, dst.Width, dst.Height), func(t *testing.T) {
				fast := ppPreprocess(t, dst, tc.img)
				slow := ppPreprocess(t, dst, ppGeneric{tc.img})
				if i := ppDiffBits(fast, slow); i >= 0 {
					t.Fatalf("value %d: fast path %v, At path %v", i, fast[i], slow[i])
				}
			})
		}
	}
}

// TestPreprocessAll8BitColours checks every 8-bit (colour, alpha) pair of the
// NRGBA and RGBA fast paths against the At path, and that an opaque value c
// becomes exactly c/255.
func TestPreprocessAll8BitColours(t *testing.T) {
	r := image.Rect(0, 0, 256, 256)
	nrgba, rgba := image.NewNRGBA(r), image.NewRGBA(r)
	for a := range 256 {
		for c := range 256 {
			i := nrgba.PixOffset(c, a)
			copy(nrgba.Pix[i:], []byte{byte(c), byte(255 - c), byte(c / 2), byte(a)})
			// Includes c > a, which is not a valid premultiplied colour but must
			// still be read as At reads it.
			copy(rgba.Pix[i:], []byte{byte(c), byte(255 - c), byte(c / 2), byte(a)})
		}
	}
	dst := Dims{256, 256}
	for _, img := range []image.Image{nrgba, rgba} {
		fast := ppPreprocess(t, dst, img)
		slow := ppPreprocess(t, dst, ppGeneric{img})
		if i := ppDiffBits(fast, slow); i >= 0 {
			t.Errorf("%T value %d (x=%d y=%d): fast path %v, At path %v", img, i, i/3%256, i/3/256, fast[i], slow[i])
		}
		for c := range 256 {
			if got, want := fast[3*(255*256+c)], float32(c)/255; got != want {
				t.Errorf("%T opaque %d: got %v, want %v", img, c, got, want)
			}
		}
	}
}

// TestPreprocessOverIsDivision checks that over, which multiplies in float64,
// gives exactly float32(c+0xffff-a) / 65535 for every possible numerator.
func TestPreprocessOverIsDivision(t *testing.T) {
	for x := uint32(0); x <= 2*0xffff; x++ {
		c, a := x, uint32(0xffff)
		if x > 0xffff {
			c, a = 0xffff, 2*0xffff-x
		}
		if got, want := over(c, a), float32(x)/65535; math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("over(%#x, %#x) = %v, want %v", c, a, got, want)
		}
	}
	for k, v := range unit8 {
		if want := float32(257*k) / 65535; math.Float32bits(v) != math.Float32bits(want) {
			t.Fatalf("unit8[%d] = %v, want %v", k, v, want)
		}
	}
}

// TestPreprocessColour checks the colour rules on known pixels, at the same size.
func TestPreprocessColour(t *testing.T) {
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.RGBA{0, 0, 0, 0}, color.RGBA{255, 0, 51, 255}})
	pal.Pix[1] = 1
	ycc := image.NewYCbCr(image.Rect(0, 0, 1, 1), image.YCbCrSubsampleRatio444)
	ycc.Y[0], ycc.Cb[0], ycc.Cr[0] = 0x7f, 0x7f, 0x7f
	tests := []struct {
		name string
		img  image.Image
		want []float32
	}{
		{"Gray", &image.Gray{Pix: []byte{0, 51, 255}, Stride: 3, Rect: image.Rect(0, 0, 3, 1)},
			[]float32{0, 0, 0, 0.2, 0.2, 0.2, 1, 1, 1}},
		{"NRGBA/opaque", &image.NRGBA{Pix: []byte{255, 51, 0, 255}, Stride: 4, Rect: image.Rect(0, 0, 1, 1)},
			[]float32{1, 0.2, 0}},
		{"NRGBA/transparent is white", &image.NRGBA{Pix: []byte{0, 0, 0, 0}, Stride: 4, Rect: image.Rect(0, 0, 1, 1)},
			[]float32{1, 1, 1}},
		{"NRGBA/half black", &image.NRGBA{Pix: []byte{0, 0, 0, 0x80}, Stride: 4, Rect: image.Rect(0, 0, 1, 1)},
			[]float32{float32(0x7f7f) / 65535, float32(0x7f7f) / 65535, float32(0x7f7f) / 65535}},
		{"RGBA/half red", &image.RGBA{Pix: []byte{0x80, 0, 0, 0x80}, Stride: 4, Rect: image.Rect(0, 0, 1, 1)},
			[]float32{1, float32(0x7f7f) / 65535, float32(0x7f7f) / 65535}},
		{"Paletted", pal, []float32{1, 1, 1, 1, 0, 0.2}},
		{"Gray16", &image.Gray16{Pix: []byte{0x12, 0x34}, Stride: 2, Rect: image.Rect(0, 0, 1, 1)},
			[]float32{float32(0x1234) / 65535, float32(0x1234) / 65535, float32(0x1234) / 65535}},
		{"NRGBA64/opaque", &image.NRGBA64{Pix: []byte{0xff, 0xff, 0, 1, 0x80, 0, 0xff, 0xff}, Stride: 8, Rect: image.Rect(0, 0, 1, 1)},
			[]float32{1, float32(1) / 65535, float32(0x8000) / 65535}},
		{"CMYK/cyan", &image.CMYK{Pix: []byte{255, 0, 0, 0}, Stride: 4, Rect: image.Rect(0, 0, 1, 1)},
			[]float32{0, 1, 1}},
		// color.YCbCr.RGBA keeps 16 bits; going through 8-bit RGB would give 0x7e7e 0x8080 0x7d7d.
		{"YCbCr/16-bit precision", ycc,
			[]float32{float32(0x7e18) / 65535, float32(0x808e) / 65535, float32(0x7db9) / 65535}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.img.Bounds()
			got := ppPreprocess(t, Dims{b.Dy(), b.Dx()}, tc.img)
			if i := ppDiffBits(got, tc.want); i >= 0 {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPreprocessRGBAMatchesNRGBA checks that raw bytes give exactly what the same
// bytes as an *image.NRGBA give.
func TestPreprocessRGBAMatchesNRGBA(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tests := []struct{ w, h int }{{1, 1}, {7, 3}, {64, 48}, {299, 299}, {300, 17}}
	for _, tc := range tests {
		for _, dst := range []Dims{{tc.h, tc.w}, {13, 9}, {299, 299}} {
			t.Run(fmt.Sprintf("%dx%d/%dx%d", tc.w, tc.h, dst.Width, dst.Height), func(t *testing.T) {
				pix := ppRandNRGBA(rng, image.Rect(0, 0, tc.w, tc.h)).Pix
				var p Preprocessor
				raw := make([]float32, dst.Height*dst.Width*3)
				if err := p.RGBA(raw, dst, pix, tc.w, tc.h); err != nil {
					t.Fatal(err)
				}
				img := ppPreprocess(t, dst, &image.NRGBA{Pix: pix, Stride: 4 * tc.w, Rect: image.Rect(0, 0, tc.w, tc.h)})
				if i := ppDiffBits(raw, img); i >= 0 {
					t.Fatalf("value %d: RGBA %v, Image(NRGBA) %v", i, raw[i], img[i])
				}
			})
		}
	}
}

// TestPreprocessIdentity checks that a source of the destination size is copied
// exactly, without filtering.
func TestPreprocessIdentity(t *testing.T) {
	for _, tc := range ppTestImages() {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.img.Bounds()
			got := ppPreprocess(t, Dims{b.Dy(), b.Dx()}, tc.img)
			want := ppPixelValues(tc.img)
			if i := ppDiffBits(got, want); i >= 0 {
				t.Fatalf("value %d: got %v, want pixel value %v", i, got[i], want[i])
			}
		})
	}
}

// ppRefWeights returns the full in×out matrix of normalised tent weights, computed
// directly from the definition: output pixel d centres the filter at source
// pixel-centre coordinate (d+0.5)*in/out - 0.5 with half-width max(1, in/out).
func ppRefWeights(in, out int) [][]float64 {
	scale := float64(in) / float64(out)
	support := math.Max(1, scale)
	m := make([][]float64, out)
	for d := range m {
		m[d] = make([]float64, in)
		c := (float64(d)+0.5)*scale - 0.5
		sum := 0.0
		for s := range in {
			m[d][s] = math.Max(0, 1-math.Abs(float64(s)-c)/support)
			sum += m[d][s]
		}
		for s := range in {
			m[d][s] /= sum
		}
	}
	return m
}

// TestPreprocessReference compares with a direct float64 evaluation of the
// resampling sum over every source pixel.
func TestPreprocessReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tests := []struct {
		src image.Point
		dst Dims
	}{
		{image.Pt(37, 23), Dims{7, 11}},  // down
		{image.Pt(37, 23), Dims{50, 90}}, // up
		{image.Pt(37, 23), Dims{40, 9}},  // up and down
		{image.Pt(64, 64), Dims{32, 32}}, // exactly half
		{image.Pt(5, 3), Dims{1, 1}},     // one output pixel
		{image.Pt(1, 1), Dims{4, 6}},     // one source pixel
		{image.Pt(2, 2), Dims{3, 3}},
		{image.Pt(101, 67), Dims{19, 29}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%dx%d/%dx%d", tc.src.X, tc.src.Y, tc.dst.Width, tc.dst.Height), func(t *testing.T) {
			img := ppRandNRGBA(rng, image.Rectangle{Max: tc.src})
			got := ppPreprocess(t, tc.dst, img)
			px := ppPixelValues(img)
			wx, wy := ppRefWeights(tc.src.X, tc.dst.Width), ppRefWeights(tc.src.Y, tc.dst.Height)
			for dy := range tc.dst.Height {
				for dx := range tc.dst.Width {
					for c := range 3 {
						want := 0.0
						for sy := range tc.src.Y {
							for sx := range tc.src.X {
								want += wy[dy][sy] * wx[dx][sx] * float64(px[(sy*tc.src.X+sx)*3+c])
							}
						}
						i := (dy*tc.dst.Width+dx)*3 + c
						if math.Abs(float64(got[i])-want) > 1e-5 {
							t.Fatalf("(%d,%d) channel %d: got %v, want %v", dx, dy, c, got[i], want)
						}
					}
				}
			}
		})
	}
}

// TestPreprocessSmall checks resizes small enough to work out by hand.
func TestPreprocessSmall(t *testing.T) {
	gray := func(w, h int, v ...byte) *image.Gray {
		return &image.Gray{Pix: v, Stride: w, Rect: image.Rect(0, 0, w, h)}
	}
	tests := []struct {
		name string
		img  image.Image
		dst  Dims
		want []float32 // red channel only
	}{
		// Bilinear at centres -0.25, 0.25, 0.75, 1.25; the edges renormalise to the nearest pixel.
		{"2 to 4", gray(2, 1, 0, 255), Dims{1, 4}, []float32{0, 0.25, 0.75, 1}},
		// Centre 0.5, half-width 2: weights 0.75, 0.75, 0.25 over pixels 0, 1, 2.
		{"4 to 2", gray(4, 1, 0, 255, 0, 0), Dims{1, 2}, []float32{0.75 / 1.75, 0.25 / 1.75}},
		// The same vertically.
		{"vertical 2 to 4", gray(1, 2, 0, 255), Dims{4, 1}, []float32{0, 0.25, 0.75, 1}},
		// Odd source, one output pixel: tent of half-width 3 centred on pixel 1.
		{"3 to 1", gray(3, 1, 255, 0, 0), Dims{1, 1}, []float32{(2.0 / 3) / (2.0/3 + 1 + 2.0/3)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ppPreprocess(t, tc.dst, tc.img)
			for i, w := range tc.want {
				if math.Abs(float64(got[3*i]-w)) > 1e-6 {
					t.Fatalf("got %v, want red %v", got, tc.want)
				}
			}
		})
	}
}

// ppField returns a 2048×1536 (the size of a Mendeley LBC field) gray image with
// pixel value f(x, y).
func ppField(f func(x, y int) byte) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, 2048, 1536))
	for y := range 1536 {
		for x := range 2048 {
			m.Pix[y*m.Stride+x] = f(x, y)
		}
	}
	return m
}

// ppPointSample resizes by taking the source pixel nearest each destination centre.
func ppPointSample(m *image.Gray, dst Dims) []float32 {
	b := m.Bounds()
	out := make([]float32, 0, dst.Height*dst.Width)
	for dy := range dst.Height {
		for dx := range dst.Width {
			x := (2*dx + 1) * b.Dx() / (2 * dst.Width)
			y := (2*dy + 1) * b.Dy() / (2 * dst.Height)
			out = append(out, float32(m.GrayAt(x, y).Y)/255)
		}
	}
	return out
}

// TestPreprocessAntialias checks that patterns at the source's finest scale
// average to grey instead of aliasing into false structure. The outermost output
// rows and columns are allowed more: there the filter window is cut by the image
// edge and renormalised (as in Pillow), which leaves a step at the edge.
func TestPreprocessAntialias(t *testing.T) {
	bw := func(on bool) byte {
		if on {
			return 255
		}
		return 0
	}
	tests := []struct {
		name string
		f    func(x, y int) byte
	}{
		{"vertical stripes", func(x, y int) byte { return bw(x%2 == 0) }},
		{"horizontal stripes", func(x, y int) byte { return bw(y%2 == 0) }},
		{"checkerboard", func(x, y int) byte { return bw((x+y)%2 == 0) }},
		{"2-pixel stripes", func(x, y int) byte { return bw(x/2%2 == 0) }},
		{"2-pixel checkerboard", func(x, y int) byte { return bw((x/2+y/2)%2 == 0) }},
	}
	const inner, edge = 0.02, 0.05
	dst := Dims{299, 299}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := ppField(tc.f)
			got := ppPreprocess(t, dst, img)
			var worstInner, worstEdge float64
			for i, v := range got {
				x, y := i/3%dst.Width, i/3/dst.Width
				d := math.Abs(float64(v) - 0.5)
				if x == 0 || y == 0 || x == dst.Width-1 || y == dst.Height-1 {
					worstEdge = max(worstEdge, d)
				} else {
					worstInner = max(worstInner, d)
				}
			}
			if worstInner > inner {
				t.Errorf("inside the border, output deviates from grey 0.5 by up to %.4f, want ≤ %v", worstInner, inner)
			}
			if worstEdge > edge {
				t.Errorf("on the border, output deviates from grey 0.5 by up to %.4f, want ≤ %v", worstEdge, edge)
			}
			naive := 0.0
			for _, v := range ppPointSample(img, dst) {
				naive = max(naive, math.Abs(float64(v)-0.5))
			}
			if naive < 0.4 {
				t.Errorf("point sampling deviates by only %.4f: the pattern does not test aliasing", naive)
			}
			t.Logf("max deviation from 0.5: %.4f inside, %.4f on the border (point sampling: %.4f)", worstInner, worstEdge, naive)
		})
	}
}

// TestPreprocessGradient checks that smooth ramps stay monotonic and close to
// their value at each output pixel's centre.
func TestPreprocessGradient(t *testing.T) {
	const w, h = 2048, 1536
	dst := Dims{299, 299}
	tests := []struct {
		name   string
		f      func(x, y int) byte
		n      int  // source length along the ramp
		across bool // the ramp runs along y
	}{
		{"horizontal", func(x, y int) byte { return byte((x*255 + (w-1)/2) / (w - 1)) }, w, false},
		{"vertical", func(x, y int) byte { return byte((y*255 + (h-1)/2) / (h - 1)) }, h, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ppPreprocess(t, dst, ppField(tc.f))
			scale := float64(tc.n) / float64(dst.Width)
			for i := range dst.Height {
				prev := float32(-1)
				for d := range dst.Width {
					idx := (i*dst.Width + d) * 3
					if tc.across {
						idx = (d*dst.Width + i) * 3
					}
					v := got[idx]
					if v < prev {
						t.Fatalf("line %d: value %d is %v, below the previous %v", i, d, v, prev)
					}
					prev = v
					want := ((float64(d)+0.5)*scale - 0.5) / float64(tc.n-1)
					if math.Abs(float64(v)-want) > 0.003 {
						t.Fatalf("line %d: value %d is %v, want %v ± 0.003", i, d, v, want)
					}
					if got[idx+1] != v || got[idx+2] != v {
						t.Fatalf("line %d: value %d is not grey: %v", i, d, got[idx:idx+3])
					}
				}
			}
		})
	}
}

// TestPreprocessDeterministic checks that repeated runs, with a fresh or a reused
// Preprocessor, give the same bits.
func TestPreprocessDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	a := ppRandNRGBA(rng, image.Rect(0, 0, 640, 480))
	b := ppRandYCbCr(rng, image.Rect(0, 0, 333, 251), image.YCbCrSubsampleRatio420)
	dst := Dims{299, 299}
	first := ppPreprocess(t, dst, a)
	var p Preprocessor
	out := make([]float32, len(first))
	other := make([]float32, 7*5*3)
	for run := range 3 {
		// Use other sizes in between, so cached weights and scratch are replaced.
		if err := p.Image(other, Dims{7, 5}, b); err != nil {
			t.Fatal(err)
		}
		if err := p.Image(out, dst, b); err != nil {
			t.Fatal(err)
		}
		if err := p.Image(out, dst, a); err != nil {
			t.Fatal(err)
		}
		if i := ppDiffBits(out, first); i >= 0 {
			t.Fatalf("run %d, value %d: %v, first run %v", run, i, out[i], first[i])
		}
	}
}

// TestPreprocessAllocs checks that steady-state calls at a fixed size allocate
// nothing.
func TestPreprocessAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const w, h = 320, 240
	nrgba := ppRandNRGBA(rng, image.Rect(0, 0, w, h))
	dst := Dims{299, 299}
	out := make([]float32, dst.Height*dst.Width*3)
	tests := []struct {
		name string
		call func(p *Preprocessor) error
	}{
		{"RGBA", func(p *Preprocessor) error { return p.RGBA(out, dst, nrgba.Pix, w, h) }},
		{"Image(NRGBA)", ppImageCall(out, dst, nrgba)},
		{"Image(RGBA)", ppImageCall(out, dst, ppRandRGBA(rng, nrgba.Rect))},
		{"Image(YCbCr)", ppImageCall(out, dst, ppRandYCbCr(rng, nrgba.Rect, image.YCbCrSubsampleRatio420))},
		{"Image(Gray)", ppImageCall(out, dst, ppRandGray(rng, nrgba.Rect))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Preprocessor
			if err := tc.call(&p); err != nil {
				t.Fatal(err)
			}
			var err error
			allocs := testing.AllocsPerRun(10, func() { err = tc.call(&p) })
			if err != nil {
				t.Fatal(err)
			}
			if allocs != 0 {
				t.Errorf("%v allocations per call, want 0", allocs)
			}
		})
	}
}

func ppImageCall(out []float32, dst Dims, img image.Image) func(p *Preprocessor) error {
	return func(p *Preprocessor) error { return p.Image(out, dst, img) }
}

// ppGoldenImage is a 40×30 image built from a formula, with partly transparent
// pixels on its right.
func ppGoldenImage() *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			a := byte(255)
			if x >= 30 {
				a = byte(128 + 4*y)
			}
			d := (x-20)*(x-20) + (y-15)*(y-15)
			m.SetNRGBA(x, y, color.NRGBA{byte(6*x + 3*y), byte(7 * x * y), byte(2 * d), a})
		}
	}
	return m
}

// TestPreprocessGolden compares a small resize with the values checked in under
// testdata/preprocess; run with -update-preprocess to rewrite them.
func TestPreprocessGolden(t *testing.T) {
	got := ppPreprocess(t, Dims{12, 16}, ppGoldenImage())
	path := filepath.Join("testdata", "preprocess", "golden_16x12.bin")
	buf := make([]byte, 0, 4*len(got))
	for _, v := range got {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	if *updatePreprocess {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestPreprocessGolden -update-preprocess to create it)", err)
	}
	if len(want) != len(buf) {
		t.Fatalf("%s has %d bytes, want %d", path, len(want), len(buf))
	}
	for i := range got {
		if w := math.Float32frombits(binary.LittleEndian.Uint32(want[4*i:])); math.Float32bits(w) != math.Float32bits(got[i]) {
			t.Fatalf("value %d (x=%d y=%d channel %d): got %v, golden %v", i, i/3%16, i/3/16, i%3, got[i], w)
		}
	}
}

// TestPreprocessErrors checks that bad arguments give clear errors, not panics.
func TestPreprocessErrors(t *testing.T) {
	ok := image.NewNRGBA(image.Rect(0, 0, 4, 3))
	dst := Dims{2, 2}
	out := make([]float32, 2*2*3)
	shortYCbCr := image.NewYCbCr(image.Rect(0, 0, 4, 4), image.YCbCrSubsampleRatio420)
	shortYCbCr.Cr = shortYCbCr.Cr[:1]
	tests := []struct {
		name string
		call func(p *Preprocessor) error
		want string
	}{
		{"nil image", func(p *Preprocessor) error { return p.Image(out, dst, nil) }, "preprocess image: nil image"},
		{"nil *NRGBA", func(p *Preprocessor) error { return p.Image(out, dst, (*image.NRGBA)(nil)) }, "nil image"},
		{"nil *YCbCr", func(p *Preprocessor) error { return p.Image(out, dst, (*image.YCbCr)(nil)) }, "nil image"},
		{"empty image", func(p *Preprocessor) error { return p.Image(out, dst, image.NewNRGBA(image.Rect(0, 0, 0, 5))) }, "empty image"},
		{"empty generic image", func(p *Preprocessor) error {
			return p.Image(out, dst, ppGeneric{image.NewGray16(image.Rect(2, 2, 2, 2))})
		}, "empty image"},

		{"zero destination", func(p *Preprocessor) error { return p.Image(nil, Dims{0, 0}, ok) }, "bad destination size 0x0"},
		{"negative destination", func(p *Preprocessor) error { return p.Image(nil, Dims{-1, 5}, ok) }, "bad destination size 5x-1"},
		{"huge destination", func(p *Preprocessor) error { return p.Image(out, Dims{1 << 62, 1 << 62}, ok) }, "too large"},
		{"unbacked huge bounds", func(p *Preprocessor) error { return p.Image(out, dst, image.NewUniform(color.White)) }, "sides above 65536 pixels"},
		{"short output", func(p *Preprocessor) error { return p.Image(out[:11], dst, ok) }, "output has 11 values, want 12"},
		{"long output", func(p *Preprocessor) error { return p.Image(make([]float32, 13), dst, ok) }, "output has 13 values, want 12"},
		{"short NRGBA pixels", func(p *Preprocessor) error {
			return p.Image(out, dst, &image.NRGBA{Pix: ok.Pix[:40], Stride: 16, Rect: ok.Rect})
		}, "malformed NRGBA image"},
		{"short Gray pixels", func(p *Preprocessor) error {
			return p.Image(out, dst, &image.Gray{Pix: make([]byte, 11), Stride: 4, Rect: ok.Rect})
		}, "malformed Gray image"},
		{"short RGBA pixels", func(p *Preprocessor) error {
			return p.Image(out, dst, &image.RGBA{Pix: make([]byte, 47), Stride: 16, Rect: ok.Rect})
		}, "malformed RGBA image"},
		{"short YCbCr chroma", func(p *Preprocessor) error { return p.Image(out, dst, shortYCbCr) }, "malformed YCbCr image"},
		{"RGBA wrong length", func(p *Preprocessor) error { return p.RGBA(out, dst, make([]byte, 11), 2, 3) },
			"preprocess RGBA: got 11 bytes for a 2x3 RGBA image, want 24"},
		{"RGBA zero width", func(p *Preprocessor) error { return p.RGBA(out, dst, nil, 0, 3) }, "bad image size 0x3"},
		{"RGBA negative height", func(p *Preprocessor) error { return p.RGBA(out, dst, nil, 3, -1) }, "bad image size 3x-1"},
		{"RGBA huge", func(p *Preprocessor) error { return p.RGBA(out, dst, nil, 1<<40, 1<<40) }, "too large"},
		{"RGBA short output", func(p *Preprocessor) error { return p.RGBA(out[:3], dst, ok.Pix, 4, 3) }, "output has 3 values"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Preprocessor
			err := tc.call(&p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
			// The Preprocessor still works after an error.
			if err := p.Image(out, dst, ok); err != nil {
				t.Fatalf("after the error: %v", err)
			}
		})
	}
}

func benchmarkPreprocess(b *testing.B, img image.Image) {
	dst := Dims{DefaultInputSize, DefaultInputSize}
	out := make([]float32, dst.Height*dst.Width*3)
	var p Preprocessor
	if err := p.Image(out, dst, img); err != nil { // allocate the scratch outside the loop
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Image(out, dst, img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreprocess2048x1536 resizes an opaque NRGBA field of Mendeley LBC size
// (what a canvas gives for a photograph) to 299×299.
func BenchmarkPreprocess2048x1536(b *testing.B) {
	img := image.NewNRGBA(image.Rect(0, 0, 2048, 1536))
	ppRandBytes(rand.New(rand.NewPCG(1, 1)), img.Pix)
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
	benchmarkPreprocess(b, img)
}

// BenchmarkPreprocessYCbCr resizes what image/jpeg decodes (4:2:0 YCbCr) from a
// 2048×1536 photograph-like field to 299×299.
func BenchmarkPreprocessYCbCr(b *testing.B) {
	// Smooth pinkish background with darker round "cells" and a little noise.
	rng := rand.New(rand.NewPCG(1, 2))
	src := image.NewNRGBA(image.Rect(0, 0, 2048, 1536))
	for y := range 1536 {
		for x := range 2048 {
			d := (x%256-128)*(x%256-128) + (y%192-96)*(y%192-96)
			v := 230 - x/64 - y/96 + rng.IntN(8)
			if d < 50*50 {
				v -= 90 - d/50
			}
			i := src.PixOffset(x, y)
			copy(src.Pix[i:i+4], []byte{byte(v), byte(v * 3 / 4), byte(v * 7 / 8), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	img, err := jpeg.Decode(&buf)
	if err != nil {
		b.Fatal(err)
	}
	if m, ok := img.(*image.YCbCr); !ok || m.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		b.Fatalf("decoded %T, want 4:2:0 *image.YCbCr", img)
	}
	benchmarkPreprocess(b, img)
}
