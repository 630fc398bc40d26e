package shortcut

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"

	"papscope/internal/imagefile"
	"papscope/internal/parallel"
	"papscope/nn"
)

// AbnormalQuality is the JPEG quality the data's abnormal copies were saved at.
const AbnormalQuality = 75

// AugmentLikeAbnormal gives img the augmentation the abnormal classes' copies
// carry — a rotation of up to ±20°, a shift of up to 0.2 of each side and a
// zoom of 0.8–1.2, with Keras's nearest fill (each output pixel outside the
// source takes the nearest edge pixel) — and saves it at AbnormalQuality,
// returning the decoded result. The same rng state gives the same image.
func AugmentLikeAbnormal(img image.Image, rng *rand.Rand) (image.Image, error) {
	b := img.Bounds()
	w, h := float64(b.Dx()), float64(b.Dy())
	theta := (rng.Float64()*40 - 20) * math.Pi / 180
	tx, ty := (rng.Float64()*0.4-0.2)*w, (rng.Float64()*0.4-0.2)*h
	zx, zy := 0.8+rng.Float64()*0.4, 0.8+rng.Float64()*0.4
	cos, sin := math.Cos(theta), math.Sin(theta)
	cx, cy := w/2, h/2
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			// Keras maps each output pixel to its source: about the centre,
			// rotate, zoom (a factor above 1 shows more of the field), shift.
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			sx := (cos*dx-sin*dy)*zx + cx + tx
			sy := (sin*dx+cos*dy)*zy + cy + ty
			ix := min(max(int(math.Floor(sx)), 0), b.Dx()-1)
			iy := min(max(int(math.Floor(sy)), 0), b.Dy()-1)
			out.Set(x, y, color.NRGBAModel.Convert(img.At(b.Min.X+ix, b.Min.Y+iy)))
		}
	}
	res, _, err := Requantize(out, AbnormalQuality)
	return res, err
}

// NILMProbe is probe (a): NILM fields classified as they are and after
// AugmentLikeAbnormal. A model that learnt the augmentation marks as
// abnormality loses NILM predictions; one that learnt cytology keeps them.
type NILMProbe struct {
	N             int     `json:"n"`
	NILMRate      float64 `json:"nilm_rate"`           // share of the fields, as they are, predicted NILM
	AugmentedRate float64 `json:"augmented_nilm_rate"` // share of the augmented fields predicted NILM
	Kept          float64 `json:"kept"`                // AugmentedRate / NILMRate (0 when no field is predicted NILM): at least 0.9 to pass
	Copies        int     `json:"copies_per_field"`
}

// ProbeNILM classifies every file (NILM fields) with model as it is and in
// copies augmented copies each (seeded), on workers goroutines. Each image is
// re-encoded at jpegQuality first when it is above 0, as in training, and
// preprocessed as the weights say (their Metadata.Crop included).
func ProbeNILM(ctx context.Context, model *nn.Model, paths []string, jpegQuality, copies int, seed uint64, workers int) (*NILMProbe, error) {
	if len(paths) == 0 || copies < 1 {
		return nil, fmt.Errorf("NILM probe: %d fields and %d copies each: want at least one of each", len(paths), copies)
	}
	type count struct{ plain, aug int }
	counts := make([]count, len(paths))
	type worker struct {
		m     *nn.Model
		prep  nn.Preprocessor
		input []float32
	}
	in := model.InputDims()
	ws := make([]worker, parallel.Workers(len(paths), workers))
	for w := range ws {
		ws[w] = worker{model.Clone(), nn.Preprocessor{Crop: model.Weights().Meta().Crop}, make([]float32, in.Height*in.Width*3)}
	}
	err := parallel.For(ctx, len(paths), workers, func(_ context.Context, w, i int) error {
		m, prep, input := ws[w].m, &ws[w].prep, ws[w].input
		var c count
		img, err := imagefile.Read(paths[i])
		if err != nil {
			return err
		}
		classify := func(img image.Image) (bool, error) {
			img, err := Treatment{JPEGQuality: jpegQuality}.Apply(img)
			if err != nil {
				return false, err
			}
			if err := prep.Image(input, in, img); err != nil {
				return false, fmt.Errorf("%s: %w", paths[i], err)
			}
			o, err := m.Forward(input)
			if err != nil {
				return false, fmt.Errorf("%s: %w", paths[i], err)
			}
			return o.Top() == nn.NILM, nil
		}
		ok, err := classify(img)
		if err != nil {
			return err
		}
		c.plain = int(b2f(ok))
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		for range copies {
			aug, err := AugmentLikeAbnormal(img, rng)
			if err != nil {
				return err
			}
			if ok, err = classify(aug); err != nil {
				return err
			}
			c.aug += int(b2f(ok))
		}
		counts[i] = c
		return nil
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("NILM probe: %w", err)
	}
	var plain, aug int
	for i := range paths {
		plain += counts[i].plain
		aug += counts[i].aug
	}
	p := &NILMProbe{N: len(paths), Copies: copies,
		NILMRate: float64(plain) / float64(len(paths)), AugmentedRate: float64(aug) / float64(len(paths)*copies)}
	if plain > 0 {
		p.Kept = p.AugmentedRate / p.NILMRate
	}
	return p, nil
}
