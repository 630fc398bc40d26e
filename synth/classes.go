package synth

import (
	"math"

	"papscope/nn"
)

// populate draws the background and cells of a field of class c. Cells are
// added until the field holds its (class-independent) load of stained material,
// so no class is darker or busier than another on average; abnormal classes
// give a share of that material, and at least a few cells, to abnormal cells.
func (f *field) populate(c nn.Class, rng rnd) {
	f.background(rng, c == nn.SCC)
	f.mass *= 0.5 // the background counts for half: fields with diathesis still hold cells
	var share float32
	minAbn := 0
	switch c {
	case nn.LSIL:
		share, minAbn = rng.u(0.35, 0.7), 3
	case nn.HSIL:
		share, minAbn = rng.u(0.6, 0.85), 15
	case nn.SCC:
		share, minAbn = rng.u(0.5, 0.8), 6
	}
	superficial := rng.u(0.2, 0.45)
	budget := f.load * float32(f.w*f.h)
	var abnMass float32
	nAbn, nNorm := 0, 0
	const minNorm = 3
	for n := 0; n < 2000; n++ {
		abnormal := c != nn.NILM && (nAbn < minAbn || abnMass < share*f.mass) && !(f.mass >= budget && nNorm < minNorm)
		if f.mass >= budget && nAbn >= minAbn && nNorm >= minNorm {
			break
		}
		before := f.mass
		if !abnormal {
			cl := f.squamous(rng, rng.p(superficial), c == nn.NILM)
			f.record(cl, 0)
			f.paint(cl)
			nNorm++
			continue
		}
		switch c {
		case nn.LSIL:
			cl := f.koilocyte(rng)
			f.record(cl, 0)
			f.paint(cl)
			nAbn++
		case nn.HSIL:
			if rng.p(0.3) {
				g, _, n := f.hsilGroup(rng)
				f.paint(g)
				nAbn += n
			} else {
				cl := f.hsilCell(rng, 0, 0, false)
				f.record(cl, 0)
				f.paint(cl)
				nAbn++
			}
		case nn.SCC:
			cl := f.sccCell(rng)
			f.record(cl, 0)
			f.paint(cl)
			nAbn++
		}
		abnMass += f.mass - before
	}
}

// squamous is a normal superficial (small pyknotic nucleus, mostly pink) or
// intermediate (vesicular nucleus, mostly blue-green) squamous cell.
func (f *field) squamous(rng rnd, superficial, defining bool) *cell {
	s := f.s
	var r float32
	if superficial {
		r = rng.u(38, 52) * s
	} else {
		r = rng.u(34, 48) * s
	}
	x, y := f.place(rng, r)
	c := &cell{body: newPolygon(rng, x, y, r), edge: f.cellEdge(rng), defining: defining,
		tx: rng.u(0, 128), ty: rng.u(0, 128)}
	st := f.st
	dens := rng.u(0.45, 0.8)
	pink := rng.p(0.3)
	if superficial {
		pink = rng.p(0.8)
	}
	if pink {
		c.cyto = st.eosin.mul(dens).add(st.orange.mul(rng.u(0, 0.08)))
	} else {
		c.cyto = st.green.mul(dens)
	}
	c.tex = rng.u(0.15, 0.3)
	c.rim, c.rimW = rng.u(0.1, 0.5), rng.u(1.5, 3.5)*s
	addFolds(rng, c, x, y, r)
	// nucleus near the centre
	nx, ny := x+rng.u(-0.2, 0.2)*r, y+rng.u(-0.2, 0.2)*r
	var n nucleus
	if superficial {
		n = nucleus{sh: newBlob(rng, nx, ny, rng.u(2.8, 3.7)*s, rng.u(1, 1.1), 0.02),
			dens: rng.u(2.4, 3.2), tex: 0.05, texF: 0.5}
	} else {
		n = nucleus{sh: newBlob(rng, nx, ny, rng.u(4.5, 5.6)*s, rng.u(1, 1.2), 0.03),
			dens: rng.u(0.6, 0.85), tex: 0.35, texF: 0.7 / s, membrane: 0.45}
	}
	c.nuclei = []nucleus{n}
	return c
}

// koilocyte is an LSIL cell: mature polygonal cytoplasm, an enlarged
// hyperchromatic (often double) nucleus in a sharp-edged clear cavity with a
// dense rim.
func (f *field) koilocyte(rng rnd) *cell {
	s := f.s
	r := rng.u(38, 54) * s
	x, y := f.place(rng, r)
	c := &cell{body: newPolygon(rng, x, y, r), edge: f.cellEdge(rng), defining: true,
		tx: rng.u(0, 128), ty: rng.u(0, 128)}
	st := f.st
	dens := rng.u(0.6, 0.95)
	if rng.p(0.6) {
		c.cyto = st.green.mul(dens)
	} else {
		c.cyto = st.eosin.mul(dens)
	}
	c.tex = rng.u(0.15, 0.3)
	c.rim, c.rimW = rng.u(0.1, 0.4), rng.u(1.5, 3.5)*s
	addFolds(rng, c, x, y, r)
	cx, cy := x+rng.u(-0.12, 0.12)*r, y+rng.u(-0.12, 0.12)*r
	// ≈3× an intermediate cell's nuclear area (radius 5 → 8.7).
	rn := rng.u(7.9, 9.6) * s
	var extent float32
	th := rng.u(0, math.Pi)
	if rng.p(0.45) { // binucleate
		rn *= 0.88
		dx, dy := float32(math.Cos(float64(th)))*rn*1.1, float32(math.Sin(float64(th)))*rn*1.1
		for _, sg := range []float32{-1, 1} {
			c.nuclei = append(c.nuclei, f.koiloNucleus(rng, cx+sg*dx, cy+sg*dy, rn))
		}
		extent = 2 * rn
	} else {
		c.nuclei = []nucleus{f.koiloNucleus(rng, cx, cy, rn)}
		extent = rn
	}
	hr := max(rng.u(0.42, 0.6)*r, extent*rng.u(1.6, 2))
	hr = min(hr, 0.78*r)
	hb := newBlob(rng, cx, cy, hr, rng.u(1, 1.35), rng.u(0.07, 0.12))
	if extent > rn { // make room for both nuclei
		hb.cos, hb.sin = float32(math.Cos(float64(th))), float32(math.Sin(float64(th)))
		hb.a, hb.b = max(hr*1.1, 2.6*rn), hr*0.9
		hb.maxR = max(hb.maxR, hb.a*1.3)
	}
	c.halo = hb
	c.haloRim, c.haloW = rng.u(0.7, 1.3), rng.u(3, 6)*s
	return c
}

func (f *field) koiloNucleus(rng rnd, x, y, r float32) nucleus {
	b := newBlob(rng, x, y, r, rng.u(1, 1.35), rng.u(0.06, 0.12))
	addNotches(rng, b, rng.n(0, 2), 0.15)
	return nucleus{sh: b, dens: rng.u(1.4, 1.9), tex: 0.35, texF: 0.3 / f.s, membrane: 0.4}
}

// hsilCell is an immature (parabasal-like) cell with a large hyperchromatic,
// irregular nucleus, coarse chromatin and scant dense cytoplasm. If grouped, it
// is placed at (x,y) and its cytoplasm is left to the group.
func (f *field) hsilCell(rng rnd, x, y float32, grouped bool) *cell {
	s := f.s
	r := rng.u(10.5, 15) * s
	if !grouped {
		x, y = f.place(rng, r)
	}
	body := newBlob(rng, x, y, r, rng.u(1, 1.35), 0.05)
	c := &cell{body: body, edge: f.cellEdge(rng), defining: true, tx: rng.u(0, 128), ty: rng.u(0, 128)}
	st := f.st
	dens := rng.u(1.2, 1.7)
	if rng.p(0.75) {
		c.cyto = st.green.mul(dens)
	} else {
		c.cyto = st.eosin.mul(dens)
	}
	c.tex = 0.1
	nc := rng.u(0.42, 0.72)
	rn := r * sqrt32(nc)
	off := (r - rn) * 0.7
	nx, ny := x+rng.u(-off, off), y+rng.u(-off, off)
	nb := newBlob(rng, nx, ny, rn, rng.u(1, 1.3), rng.u(0.06, 0.11))
	addNotches(rng, nb, rng.n(1, 3), 0.28)
	n := nucleus{sh: nb, dens: rng.u(0.8, 1.1), tex: 0.5, texF: 0.4 / s, gran: rng.u(0.5, 0.8), membrane: 0.4}
	if rng.p(0.4) {
		th := rng.u(0, math.Pi)
		dx, dy := float32(math.Cos(float64(th)))*rn*0.7, float32(math.Sin(float64(th)))*rn*0.7
		n.groove = &taper{x0: nx - dx, y0: ny - dy, x1: nx + dx, y1: ny + dy, r0: 0.5 * s, r1: 0.5 * s, bend: rng.u(-0.2, 0.2) * rn}
	}
	c.nuclei = []nucleus{n}
	return c
}

// hsilGroup is a crowded syncytial group of HSIL cells: one cytoplasm without
// cell borders and crowded, overlapping nuclei. Its members are recorded in the
// statistics here, one by one; it returns the group as one paintable cell and
// the members' total area.
func (f *field) hsilGroup(rng rnd) (*cell, float32, int) {
	s := f.s
	n := rng.n(5, 12)
	gr := sqrt32(float32(n)) * 13 * s
	gx, gy := f.place(rng, gr*1.3)
	th := rng.u(0, math.Pi)
	ec, es := float32(math.Cos(float64(th))), float32(math.Sin(float64(th)))
	el := rng.u(1, 1.8)
	var bodies union
	var total float32
	g := &cell{recorded: true, rim: 0.25, rimW: 2 * s, tex: 0.15}
	for i := range n {
		u, v := rng.u(-1, 1)*gr*el, rng.u(-1, 1)*gr/el
		if u*u/(el*el)+v*v*el*el > gr*gr {
			u, v = u*0.6, v*0.6
		}
		x, y := gx+u*ec-v*es, gy+u*es+v*ec
		c := f.hsilCell(rng, x, y, true)
		a := area(c.body)
		f.record(c, a)
		total += a
		bodies = append(bodies, c.body)
		g.nuclei = append(g.nuclei, c.nuclei...)
		if i == 0 {
			g.cyto, g.edge, g.tx, g.ty = c.cyto.mul(0.8), c.edge, c.tx, c.ty
		}
	}
	g.body = bodies
	return g, total, n
}

// sccCell is a pleomorphic malignant squamous cell: spindle, caudate (tadpole)
// or bizarre, mostly with dense keratinized orange cytoplasm and a dark, opaque,
// irregular nucleus.
func (f *field) sccCell(rng rnd) *cell {
	s := f.s
	c := &cell{edge: f.cellEdge(rng), defining: true, tx: rng.u(0, 128), ty: rng.u(0, 128)}
	th := rng.u(0, 2*math.Pi)
	cs, sn := float32(math.Cos(float64(th))), float32(math.Sin(float64(th)))
	var nb *blob
	switch k := rng.Float32(); {
	case k < 0.3: // spindle
		l, w := rng.u(28, 60)*s, rng.u(6, 10)*s
		x, y := f.place(rng, l*0.7)
		l2 := l * rng.u(0.6, 1)
		bend := rng.u(-0.25, 0.25) * l
		c.body = union{
			&taper{x0: x, y0: y, x1: x + cs*l, y1: y + sn*l, r0: w, r1: rng.u(0.8, 2) * s, bend: bend},
			&taper{x0: x, y0: y, x1: x - cs*l2, y1: y - sn*l2, r0: w, r1: rng.u(0.8, 2) * s, bend: -bend},
		}
		rn := w * rng.u(0.65, 0.85)
		nb = newBlob(rng, x, y, rn*1.6, rng.u(2.2, 3.5), rng.u(0.04, 0.1))
		nb.cos, nb.sin = cs, sn
	case k < 0.55: // caudate (tadpole)
		h, l := rng.u(10, 18)*s, rng.u(30, 70)*s
		x, y := f.place(rng, h+l*0.4)
		c.body = union{
			newBlob(rng, x, y, h, rng.u(1, 1.3), 0.06),
			&taper{x0: x, y0: y, x1: x + cs*l, y1: y + sn*l, r0: h * rng.u(0.5, 0.75), r1: rng.u(0.8, 1.8) * s, bend: rng.u(-0.3, 0.3) * l},
		}
		nb = newBlob(rng, x-cs*h*0.15, y-sn*h*0.15, h*rng.u(0.45, 0.65), rng.u(1, 1.6), rng.u(0.08, 0.16))
	default: // bizarre, pleomorphic
		r := rng.u(16, 38) * s
		x, y := f.place(rng, r)
		c.body = newBlob(rng, x, y, r, rng.u(1, 2.2), rng.u(0.12, 0.22))
		nb = newBlob(rng, x+rng.u(-0.15, 0.15)*r, y+rng.u(-0.15, 0.15)*r, r*rng.u(0.3, 0.5), rng.u(1, 1.8), rng.u(0.1, 0.2))
	}
	addNotches(rng, nb, rng.n(0, 2), 0.2)
	st := f.st
	if rng.p(0.8) {
		c.keratin = true
		c.cyto = st.orange.mul(rng.u(0.9, 1.4)).add(st.eosin.mul(rng.u(0.2, 0.7)))
		c.rim, c.rimW = rng.u(0.2, 0.5), 2*s
	} else {
		c.cyto = st.green.mul(rng.u(1.1, 1.5))
	}
	c.tex = 0.12
	c.nuclei = []nucleus{{sh: nb, dens: rng.u(2.4, 3.2), tex: 0.1, texF: 0.3 / s}}
	return c
}
