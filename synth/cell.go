package synth

import "math"

// cell is one epithelial cell: a cytoplasm body, perhaps a perinuclear halo, and nuclei.
type cell struct {
	body    shape
	cyto    vec3    // cytoplasm absorbance at full density
	tex     float32 // cytoplasm texture amplitude
	rim     float32 // extra density along the border (folded edge, keratin rim)
	rimW    float32
	folds   []*taper // folded edges: thin lines of doubled cytoplasm
	foldD   float32
	halo    shape   // koilocytic cavity, or nil
	haloRim float32 // dense cytoplasm condensed around the cavity
	haloW   float32
	edge    float32 // edge width: focus of this cell
	nuclei  []nucleus
	tx, ty  float32 // texture offset

	defining bool
	recorded bool // statistics already taken (a group's members)
	keratin  bool
}

// nucleus is a haematoxylin-stained body with chromatin texture.
type nucleus struct {
	sh       shape
	dens     float32 // haematoxylin density
	tex      float32 // chromatin texture amplitude
	texF     float32 // chromatin texture frequency (per pixel)
	gran     float32 // coarse chromatin clumps
	membrane float32 // darker nuclear membrane
	groove   *taper  // a nuclear groove (fold), drawn darker
}

// statAcc accumulates the ground truth of a field.
type statAcc struct {
	cells, defining, halos int
	nucSum                 float64
	nucN                   int
	ncSum                  float64
	cytoArea, keratinArea  float64
}

func (a statAcc) result(s float32) Stats {
	st := Stats{Cells: a.cells, Defining: a.defining}
	if a.nucN > 0 {
		st.MeanNuclearArea = a.nucSum / float64(a.nucN) / float64(s*s)
	}
	if a.defining > 0 {
		st.NCRatio = a.ncSum / float64(a.defining)
	}
	if a.cells > 0 {
		st.HaloFraction = float64(a.halos) / float64(a.cells)
	}
	if a.cytoArea > 0 {
		st.KeratinFraction = a.keratinArea / a.cytoArea
	}
	return st
}

// record adds a cell (with its body area, possibly overridden) to the field's statistics.
func (f *field) record(c *cell, bodyArea float32) {
	if bodyArea <= 0 {
		bodyArea = area(c.body)
	}
	var nuc float32
	for _, n := range c.nuclei {
		a := area(n.sh)
		nuc += a
		if c.defining {
			f.stats.nucSum += float64(a)
			f.stats.nucN++
		}
	}
	f.stats.cells++
	if c.halo != nil {
		f.stats.halos++
	}
	if c.defining {
		f.stats.defining++
		f.stats.ncSum += float64(nuc / bodyArea)
	}
	cyto := float64(max(0, bodyArea-nuc))
	f.stats.cytoArea += cyto
	if c.keratin {
		f.stats.keratinArea += cyto
	}
}

// paintCytoplasm paints a cell's body (and halo) into the field.
func (f *field) paintCytoplasm(c *cell) {
	x0, y0, x1, y1 := f.clip(c.body)
	const tf = 0.06
	cm := (c.cyto[0] + c.cyto[1] + c.cyto[2]) / 3
	for y := y0; y < y1; y++ {
		py := float32(y) + 0.5
		for x := x0; x < x1; x++ {
			px := float32(x) + 0.5
			d := c.body.dist(px, py)
			cv := coverage(d, c.edge)
			if cv == 0 {
				continue
			}
			dens := 1 + c.tex*f.noise.at(px*tf+c.tx, py*tf+c.ty) + 0.5*c.tex*f.noise.at(px*tf*3+c.ty, py*tf*3+c.tx) +
				0.35*c.tex*f.noise.at(px*tf*9+c.tx, py*tf*9-c.ty)
			dens *= 0.85 + 0.3*min(1, -d/(12*f.s)) // flat cells are thicker in the middle
			if c.rim > 0 && d > -c.rimW {
				t := 1 + d/c.rimW
				dens += c.rim * t * t
			}
			for _, fl := range c.folds {
				if fd := fl.dist(px, py); fd < 1.2 {
					dens += c.foldD * min(1, 1.2-fd)
				}
			}
			if c.halo != nil {
				dh := c.halo.dist(px, py)
				hc := coverage(dh, 0.8+0.4*(c.edge-1))
				if dh > 0 && dh < c.haloW {
					t := 1 - dh/c.haloW
					dens += c.haloRim * t
				}
				dens *= 1 - 0.94*hc
			}
			dens = max(0, dens) * cv
			i := 3 * (y*f.w + x)
			f.mass += dens * cm
			f.od[i] += dens * c.cyto[0]
			f.od[i+1] += dens * c.cyto[1]
			f.od[i+2] += dens * c.cyto[2]
		}
	}
}

// paintNucleus paints one nucleus.
func (f *field) paintNucleus(n *nucleus, edge, tx, ty float32) {
	x0, y0, x1, y1 := f.clip(n.sh)
	h := f.st.hema
	hm := (h[0] + h[1] + h[2]) / 3
	for y := y0; y < y1; y++ {
		py := float32(y) + 0.5
		for x := x0; x < x1; x++ {
			px := float32(x) + 0.5
			d := n.sh.dist(px, py)
			cv := coverage(d, edge)
			if cv == 0 {
				continue
			}
			t := f.noise.at(px*n.texF+tx, py*n.texF+ty)
			dens := n.dens * (1 + n.tex*t)
			if n.gran > 0 {
				g := f.noise.at(px*n.texF*2.1+ty, py*n.texF*2.1+tx)
				if g > 0.25 {
					dens += n.gran * (g - 0.25) * 1.4
				}
			}
			if n.membrane > 0 && d > -1.6*f.s {
				dens += n.membrane
			}
			if n.groove != nil {
				if gd := n.groove.dist(px, py); gd < 0.8 {
					dens += 0.9 * min(1, 0.8-gd)
				}
			}
			dens = max(0, dens) * cv
			i := 3 * (y*f.w + x)
			f.mass += dens * hm
			f.od[i] += dens * h[0]
			f.od[i+1] += dens * h[1]
			f.od[i+2] += dens * h[2]
		}
	}
}

// paint draws the whole cell.
func (f *field) paint(c *cell) {
	f.paintCytoplasm(c)
	for i := range c.nuclei {
		f.paintNucleus(&c.nuclei[i], c.edge, c.tx*1.7, c.ty*1.3)
	}
}

// newBlob makes an irregular ellipse with harmonic amplitude irr (0 smooth round).
func newBlob(rng rnd, cx, cy, r, aspect, irr float32) *blob {
	th := rng.u(0, 2*math.Pi)
	b := &blob{cx: cx, cy: cy, a: r * sqrt32(aspect), b: r / sqrt32(aspect)}
	b.cos, b.sin = float32(math.Cos(float64(th))), float32(math.Sin(float64(th)))
	tot := float32(0)
	for k := 1; k < len(b.harm); k++ { // k is the index of harmonic k+1
		amp := irr / float32(k)
		b.harm[k][0] = rng.u(-amp, amp)
		b.harm[k][1] = rng.u(-amp, amp)
		tot += abs32(b.harm[k][0]) + abs32(b.harm[k][1])
	}
	b.maxR = max(b.a, b.b) * (1 + tot)
	return b
}

// addNotches cuts n membrane notches into a blob.
func addNotches(rng rnd, b *blob, n int, depth float32) {
	for range n {
		th := rng.u(0, 2*math.Pi)
		b.notches = append(b.notches, notch{
			cos: float32(math.Cos(float64(th))), sin: float32(math.Sin(float64(th))),
			depth: rng.u(0.5, 1) * depth, width: rng.u(0.03, 0.09),
		})
	}
}

// newPolygon makes a polygonal mature squamous cell outline of mean radius r.
func newPolygon(rng rnd, cx, cy, r float32) *polygon {
	n := rng.n(5, 8)
	p := &polygon{cx: cx, cy: cy}
	th0 := rng.u(0, 2*math.Pi)
	elong := rng.u(1, 1.35)
	ea := rng.u(0, math.Pi)
	ec, es := float32(math.Cos(float64(ea))), float32(math.Sin(float64(ea)))
	vx := make([]float32, n)
	vy := make([]float32, n)
	for i := range n {
		th := th0 + (float32(i)+rng.u(-0.3, 0.3))*2*math.Pi/float32(n)
		rr := r * rng.u(0.85, 1.18)
		x, y := rr*float32(math.Cos(float64(th))), rr*float32(math.Sin(float64(th)))
		// stretch along the elongation axis
		u, v := x*ec+y*es, -x*es+y*ec
		u *= elong
		x, y = u*ec-v*es, u*es+v*ec
		vx[i], vy[i] = x, y
		p.maxR = max(p.maxR, sqrt32(x*x+y*y))
	}
	for k := range p.wob {
		amp := r * 0.035 / float32(k+1)
		p.wob[k] = [2]float32{rng.u(-amp, amp), rng.u(-amp, amp)}
	}
	p.maxR *= 1.1
	for i := range n {
		j := (i + 1) % n
		ex, ey := vx[j]-vx[i], vy[j]-vy[i]
		l := sqrt32(ex*ex + ey*ey)
		nx, ny := ey/l, -ex/l
		h := nx*vx[i] + ny*vy[i]
		if h < 0 {
			nx, ny, h = -nx, -ny, -h
		}
		p.nx = append(p.nx, nx)
		p.ny = append(p.ny, ny)
		p.h = append(p.h, h)
	}
	return p
}

// cellEdge draws a cell's edge width: the field's focus plus this cell's own depth.
func (f *field) cellEdge(rng rnd) float32 {
	return f.focus + rng.u(0, 1)*f.cellFocus
}

// addFolds gives a mature squamous cell up to two folded edges.
func addFolds(rng rnd, c *cell, x, y, r float32) {
	for range rng.n(0, 2) {
		a := rng.u(0, 2*math.Pi)
		d := rng.u(0.6, 0.85) * r
		sx, sy := x+d*float32(math.Cos(float64(a))), y+d*float32(math.Sin(float64(a)))
		b := a + math.Pi/2 + rng.u(-0.5, 0.5)
		l := rng.u(0.25, 0.6) * r
		c.folds = append(c.folds, &taper{x0: sx, y0: sy, x1: sx + l*float32(math.Cos(float64(b))), y1: sy + l*float32(math.Sin(float64(b))),
			r0: rng.u(0.5, 1.1), r1: 0.3, bend: rng.u(-0.04, 0.04) * l})
	}
	c.foldD = rng.u(0.25, 0.5)
}
