// Package synth renders synthetic liquid-based-cytology (LBC) field images whose
// four classes follow the Bethesda criteria, for training and testing papscope
// where real slides cannot be had.
//
// A field is painted as optical density (Beer–Lambert: stains add absorbance, so
// overlapping cells look darker, as they do under the microscope) and then lit,
// blurred and given sensor noise. The classes differ only in cell morphology:
// nuclear size and shape, N:C ratio, chromatin, perinuclear halos, cell shape,
// keratinization and the background (tumour diathesis). Every nuisance — stain
// hue and intensity, focus, illumination, density, overlap, debris, inflammatory
// cells, noise — is drawn from one distribution shared by all classes, and each
// field's mean colour is finally pulled to a class-independent target, so a
// classifier cannot separate the classes by a global colour or brightness cue.
//
// Rendering is deterministic: the same class, seed and options give the same
// pixels on a given platform.
package synth

import (
	"image"
	"math"
	"math/rand/v2"

	"papscope/nn"
)

// Options sets the size of a rendered field; zero values mean 640×480.
type Options struct {
	Width, Height int
}

func (o Options) size() (int, int) {
	w, h := o.Width, o.Height
	if w <= 0 {
		w = 640
	}
	if h <= 0 {
		h = 480
	}
	return w, h
}

// Stats are ground-truth measurements of a field, known to the generator.
// Areas are in pixels of a 640×480 field (scaled when the field is another size).
type Stats struct {
	Cells           int     // epithelial cells drawn
	Defining        int     // cells that define the class (abnormal cells; all squamous cells in NILM)
	MeanNuclearArea float64 // mean area of one nucleus of the defining cells
	NCRatio         float64 // mean nuclear-to-cell area ratio of the defining cells
	HaloFraction    float64 // fraction of epithelial cells with a koilocytic perinuclear halo
	KeratinFraction float64 // fraction of epithelial cytoplasm area that is keratinized (orangeophilic)
}

// Field renders one field of class c; the same (class, seed, options) gives the same pixels.
func Field(c nn.Class, seed uint64, opt Options) *image.NRGBA {
	img, _ := Render(c, seed, opt)
	return img
}

// Render renders one field of class c, like Field, and returns its ground-truth Stats.
func Render(c nn.Class, seed uint64, opt Options) (*image.NRGBA, Stats) {
	w, h := opt.size()
	f := newField(w, h, seed)
	// Cells come from a stream that depends on the class; nuisances (set up in
	// newField, and the finishing noise) from one that depends on the seed only.
	rng := rnd{newPCG(seed, c)}
	f.populate(c, rng)
	img := f.finish()
	return img, f.stats.result(f.s)
}

// rnd wraps a PCG stream with the draws the generator uses.
type rnd struct{ *rand.Rand }

func (r rnd) u(a, b float32) float32 { return a + (b-a)*r.Float32() }
func (r rnd) p(prob float32) bool    { return r.Float32() < prob }
func (r rnd) n(lo, hi int) int       { return lo + r.IntN(hi-lo+1) }

// vec3 is an optical density (absorbance) per RGB channel.
type vec3 [3]float32

func (v vec3) mul(k float32) vec3 { return vec3{v[0] * k, v[1] * k, v[2] * k} }
func (v vec3) add(u vec3) vec3    { return vec3{v[0] + u[0], v[1] + u[1], v[2] + u[2]} }

// stains are the Papanicolaou dyes' absorbances at unit density, per field.
type stains struct {
	hema   vec3 // haematoxylin: nuclei (blue-purple)
	eosin  vec3 // eosin: eosinophilic cytoplasm (pink)
	green  vec3 // light green: cyanophilic cytoplasm (blue-green)
	orange vec3 // orange G: keratin (orange)
	blood  vec3 // red cells
}

// valueNoise is a smooth, wrapping random texture.
type valueNoise struct{ g [128 * 128]float32 }

func (n *valueNoise) at(x, y float32) float32 {
	x0, y0 := float32(math.Floor(float64(x))), float32(math.Floor(float64(y)))
	fx, fy := x-x0, y-y0
	fx = fx * fx * (3 - 2*fx)
	fy = fy * fy * (3 - 2*fy)
	ix, iy := int(x0)&127, int(y0)&127
	jx, jy := (ix+1)&127, (iy+1)&127
	a := n.g[iy*128+ix] + (n.g[iy*128+jx]-n.g[iy*128+ix])*fx
	b := n.g[jy*128+ix] + (n.g[jy*128+jx]-n.g[jy*128+ix])*fx
	return a + (b-a)*fy
}

// field is the canvas of one image being painted.
type field struct {
	w, h  int
	s     float32   // scale relative to a 640×480 field
	od    []float32 // optical density, 3 per pixel
	noise valueNoise
	st    stains
	nz    rnd // nuisance stream (seed only)

	focus     float32 // field-wide edge softness added to every cell's
	blur      float32 // Gaussian sigma of the whole-field focus blur
	load      float32 // target mean optical density of the field (how much material)
	mass      float32 // optical density painted so far, summed over pixels (channel mean)
	spread    float32 // how strongly cells avoid overlapping (0 none, 1 touching)
	placed    []circle
	stats     statAcc
	illum     [3]float32
	vignette  float32
	gradX     float32
	gradY     float32
	target    [3]float32 // mean transmittance the finished field is pulled to
	noiseAmp  float32
	blockAmp  float32
	cellFocus float32 // spread of per-cell focus
}

type circle struct{ x, y, r float32 }

func newField(w, h int, seed uint64) *field {
	f := &field{w: w, h: h, od: make([]float32, 3*w*h)}
	f.s = sqrt32(float32(w*h) / (640 * 480))
	nz := rnd{rand.New(rand.NewPCG(seed, 0x6e75697361))}
	f.nz = nz
	for i := range f.noise.g {
		f.noise.g[i] = nz.u(-1, 1)
	}
	// Stain hue and intensity: each dye's colour varies, and the whole batch too.
	var global vec3
	for c := range global {
		global[c] = nz.u(0.87, 1.15)
	}
	inten := nz.u(0.75, 1.3)
	jit := func(v vec3) vec3 {
		for c := range v {
			v[c] *= global[c] * inten * nz.u(0.88, 1.12)
		}
		return v
	}
	f.st = stains{
		hema:   jit(vec3{0.62, 0.74, 0.30}),
		eosin:  jit(vec3{0.05, 0.42, 0.27}),
		green:  jit(vec3{0.50, 0.22, 0.25}),
		orange: jit(vec3{0.03, 0.40, 1.20}),
		blood:  jit(vec3{0.20, 1.10, 1.05}),
	}
	f.focus = nz.u(0.9, 2.2) * f.s
	f.cellFocus = nz.u(0, 2.5) * f.s
	f.blur = nz.u(0, 1.4) * f.s
	f.load = nz.u(0.05, 0.14)
	f.spread = nz.u(0.3, 0.85)
	tint := nz.u(-0.04, 0.04)
	bright := nz.u(0.86, 1.0)
	f.illum = [3]float32{bright * (1 + tint), bright, bright * (1 - tint)}
	f.vignette = nz.u(0, 0.3)
	f.gradX = nz.u(-0.15, 0.15)
	f.gradY = nz.u(-0.15, 0.15)
	// The mean transmittance a field of this load has on average over the
	// classes, with a hue jitter: the finished field is pulled to it.
	mean := float32(math.Exp(-0.85 * float64(f.load)))
	for c := range f.target {
		f.target[c] = min(0.98, mean*nz.u(0.975, 1.025))
	}
	f.noiseAmp = nz.u(1, 4)
	f.blockAmp = nz.u(0, 1.5)
	return f
}

// place picks a centre for a body of radius r, avoiding heavy overlap as the
// field's spread asks, and remembers it.
func (f *field) place(rng rnd, r float32) (float32, float32) {
	var x, y float32
	best := float32(-1)
	var bx, by float32
	for try := 0; try < 14; try++ {
		x = rng.u(-0.05, 1.05) * float32(f.w)
		y = rng.u(-0.05, 1.05) * float32(f.h)
		worst := float32(1e9)
		for _, c := range f.placed {
			dx, dy := x-c.x, y-c.y
			d := sqrt32(dx*dx+dy*dy) / (c.r + r)
			worst = min(worst, d)
		}
		if worst >= f.spread {
			bx, by = x, y
			break
		}
		if worst > best {
			best, bx, by = worst, x, y
		}
	}
	f.placed = append(f.placed, circle{bx, by, r})
	return bx, by
}

// clip returns the pixel rectangle covering a shape's bounds, clipped to the field.
func (f *field) clip(sh shape) (x0, y0, x1, y1 int) {
	a, b, c, d := sh.bounds()
	x0 = max(0, int(math.Floor(float64(a))))
	y0 = max(0, int(math.Floor(float64(b))))
	x1 = min(f.w, int(math.Ceil(float64(c)))+1)
	y1 = min(f.h, int(math.Ceil(float64(d)))+1)
	return
}

// area measures a shape's area in pixels (by coverage at pixel centres, unclipped).
func area(sh shape) float32 {
	a, b, c, d := sh.bounds()
	var sum float32
	for y := float32(math.Floor(float64(b))); y <= d; y++ {
		for x := float32(math.Floor(float64(a))); x <= c; x++ {
			sum += coverage(sh.dist(x+0.5, y+0.5), 1)
		}
	}
	return sum
}

// fill adds density·stain to the shape's pixels, with the given edge width.
func (f *field) fill(sh shape, od vec3, edge float32) {
	om := (od[0] + od[1] + od[2]) / 3
	x0, y0, x1, y1 := f.clip(sh)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			cv := coverage(sh.dist(float32(x)+0.5, float32(y)+0.5), edge)
			if cv == 0 {
				continue
			}
			i := 3 * (y*f.w + x)
			f.mass += cv * om
			f.od[i] += cv * od[0]
			f.od[i+1] += cv * od[1]
			f.od[i+2] += cv * od[2]
		}
	}
}

// newPCG returns the cell stream of a class's field.
func newPCG(seed uint64, c nn.Class) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x5eed0000+uint64(c)*0x9e3779b97f4a7c15))
}
