package train

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"papscope/nn"
)

// Augment describes the random, label-preserving changes made to a training
// image each time it is used. A cytology field has no up, down, left or right,
// so every flip and quarter turn of it is another valid field of the same
// class; stain and illumination vary from lab to lab, so small changes of
// brightness, contrast and colour balance are too.
type Augment struct {
	Flip   bool // random horizontal and vertical flips
	Rotate bool // random quarter turns when the input is square; half turns only otherwise

	// Jitter amplitudes, each a fraction: a value of 0.1 draws uniformly from ±0.1.
	Brightness float64 // added to every channel
	Contrast   float64 // scale of the deviation from the image's mean: 1 ± Contrast
	Color      float64 // per-channel gain: 1 ± Color
}

// DefaultAugment is the augmentation papscope train uses.
var DefaultAugment = Augment{Flip: true, Rotate: true, Brightness: 0.05, Contrast: 0.1, Color: 0.05}

// AugmentLevels names the augmentations papscope's -augment flag offers, in
// order of strength: "none", "light" (DefaultAugment's jitter) and "strong"
// (three times the colour jitter, for stain and illumination that vary from
// slide to slide).
func AugmentLevels() []string { return []string{"none", "light", "strong"} }

// AugmentLevel returns the augmentation of a name in AugmentLevels.
func AugmentLevel(name string) (Augment, error) {
	switch name {
	case "none":
		return Augment{}, nil
	case "light":
		return DefaultAugment, nil
	case "strong":
		return Augment{Flip: true, Rotate: true, Brightness: 0.15, Contrast: 0.3, Color: 0.15}, nil
	}
	return Augment{}, fmt.Errorf("unknown augmentation %q: want one of %s", name, strings.Join(AugmentLevels(), ", "))
}

// String describes a for the weights' metadata.
func (a Augment) String() string {
	var parts []string
	if a.Flip {
		parts = append(parts, "flips")
	}
	if a.Rotate {
		parts = append(parts, "quarter turns")
	}
	if a.Brightness != 0 || a.Contrast != 0 || a.Color != 0 {
		parts = append(parts, fmt.Sprintf("brightness ±%g, contrast ±%g, colour ±%g", a.Brightness, a.Contrast, a.Color))
	}
	if len(parts) == 0 {
		return "no augmentation"
	}
	return "augmented with " + strings.Join(parts, ", ") + " (every class alike)"
}

// Transform is one random draw of an Augment: a symmetry of the square (or
// rectangle) and the colour changes.
type Transform struct {
	Turns      int  // quarter turns counter-clockwise, 0–3 (0 or 2 for a non-square input)
	FlipH      bool // mirror left–right, applied before the turns
	FlipV      bool // mirror top–bottom, applied before the turns
	Brightness float32
	Contrast   float32
	Gain       [3]float32
}

// Identity reports whether t changes nothing.
func (t Transform) Identity() bool {
	return t.Turns == 0 && !t.FlipH && !t.FlipV && t.Brightness == 0 && t.Contrast == 1 && t.Gain == [3]float32{1, 1, 1}
}

// augmentRNG returns the random source of image index in the given epoch of a
// run with seed: the same triple always gives the same draws, whatever order
// or goroutine the images are prepared in.
func augmentRNG(seed uint64, epoch, index int) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0x5851f42d4c957f2d, uint64(epoch)<<32^uint64(uint32(index))))
}

// Draw picks a transform for an input of size d.
func (a Augment) Draw(rng *rand.Rand, d nn.Dims) Transform {
	t := Transform{Contrast: 1, Gain: [3]float32{1, 1, 1}}
	if a.Flip {
		t.FlipH = rng.IntN(2) == 1
		t.FlipV = rng.IntN(2) == 1
	}
	if a.Rotate {
		if d.Height == d.Width {
			t.Turns = rng.IntN(4)
		} else {
			t.Turns = 2 * rng.IntN(2)
		}
	}
	u := func(amp float64) float32 { return float32((2*rng.Float64() - 1) * amp) }
	if a.Brightness > 0 {
		t.Brightness = u(a.Brightness)
	}
	if a.Contrast > 0 {
		t.Contrast = 1 + u(a.Contrast)
	}
	if a.Color > 0 {
		for c := range t.Gain {
			t.Gain[c] = 1 + u(a.Color)
		}
	}
	return t
}

// Apply writes src (an HWC RGB image of size d) transformed by t into dst,
// which must not overlap src. Colour changes are clamped to [0, 1].
func (t Transform) Apply(dst, src []float32, d nn.Dims) error {
	n := d.Height * d.Width * 3
	if len(src) != n || len(dst) != n {
		return fmt.Errorf("augment: %d and %d values, want %d for %dx%dx3", len(dst), len(src), n, d.Width, d.Height)
	}
	turns := t.Turns & 3
	if turns%2 == 1 && d.Height != d.Width {
		return fmt.Errorf("augment: a quarter turn of a %dx%d input changes its size", d.Width, d.Height)
	}
	geometric(dst, src, d, turns, t.FlipH, t.FlipV)
	if t.Brightness == 0 && t.Contrast == 1 && t.Gain == [3]float32{1, 1, 1} {
		return nil
	}
	var mean float32
	if t.Contrast != 1 {
		sum := 0.0
		for _, v := range dst {
			sum += float64(v)
		}
		mean = float32(sum / float64(n))
	}
	for i := 0; i < n; i += 3 {
		for c := range 3 {
			v := ((dst[i+c]-mean)*t.Contrast+mean)*t.Gain[c] + t.Brightness
			dst[i+c] = min(max(v, 0), 1)
		}
	}
	return nil
}

// geometric copies src into dst flipped, then turned counter-clockwise by
// turns quarter turns. Destination pixel (y, x) is read from the source pixel
// that lands on it.
func geometric(dst, src []float32, d nn.Dims, turns int, flipH, flipV bool) {
	h, w := d.Height, d.Width
	if turns == 0 && !flipH && !flipV {
		copy(dst, src)
		return
	}
	for y := range h {
		for x := range w {
			// Undo the turns: where in the flipped image does (y, x) come from?
			sy, sx := y, x
			switch turns {
			case 1: // counter-clockwise: dst(y, x) = src(x, w-1-y) for a square
				sy, sx = x, w-1-y
			case 2:
				sy, sx = h-1-y, w-1-x
			case 3:
				sy, sx = h-1-x, y
			}
			// Undo the flips.
			if flipH {
				sx = w - 1 - sx
			}
			if flipV {
				sy = h - 1 - sy
			}
			s, o := (sy*w+sx)*3, (y*w+x)*3
			dst[o], dst[o+1], dst[o+2] = src[s], src[s+1], src[s+2]
		}
	}
}
