package synth

import (
	"image"
	"math"
)

// background paints what lies between the cells: debris, mucus, inflammatory
// cells and red cells shared by every class (from the nuisance stream), and for
// SCC the tumour diathesis (granular necrotic debris and blood).
func (f *field) background(rng rnd, diathesis bool) {
	s, st, nz := f.s, f.st, f.nz
	fw, fh := float32(f.w), float32(f.h)
	speck := func(r rnd, x, y, rad, d float32) {
		b := newBlob(r, x, y, rad, r.u(1, 1.6), 0.15)
		f.fill(b, st.hema.mul(r.u(0.2, 1)*d).add(st.eosin.mul(r.u(0, 1)*d)), 1)
	}
	rbc := func(r rnd, x, y float32) {
		rad := r.u(3.6, 4.5) * s
		c := &cell{body: newBlob(r, x, y, rad, r.u(1, 1.2), 0.02), edge: f.focus}
		if r.p(0.2) { // lysed
			c.cyto = st.blood.mul(r.u(0.08, 0.2))
		} else {
			c.cyto = st.blood.mul(r.u(0.3, 0.5))
			c.rim, c.rimW = r.u(0.6, 1.2), rad*0.6
		}
		f.paintCytoplasm(c)
	}
	for range nz.n(4, 30) {
		speck(nz, nz.u(0, fw), nz.u(0, fh), nz.u(0.8, 3)*s, 0.8)
	}
	for range nz.n(0, 2) { // mucus strands
		x, y := nz.u(0, fw), nz.u(0, fh)
		th := nz.u(0, 2*math.Pi)
		l := nz.u(80, 250) * s
		t := &taper{x0: x, y0: y, x1: x + l*float32(math.Cos(float64(th))), y1: y + l*float32(math.Sin(float64(th))),
			r0: nz.u(1.5, 4) * s, r1: nz.u(0.5, 2) * s, bend: nz.u(-0.3, 0.3) * l}
		f.fill(t, st.green.mul(nz.u(0.1, 0.25)), 2*s)
	}
	for range nz.n(0, 4) {
		if nz.p(0.5) {
			rbc(nz, nz.u(0, fw), nz.u(0, fh))
		}
	}
	for range nz.n(0, 9) { // neutrophils
		x, y := nz.u(0, fw), nz.u(0, fh)
		c := &cell{body: newBlob(nz, x, y, nz.u(5, 6.5)*s, 1.1, 0.04), cyto: st.green.mul(nz.u(0.2, 0.4)), edge: f.focus}
		lobes := nz.n(2, 4)
		a0 := nz.u(0, 2*math.Pi)
		for i := range lobes {
			a := a0 + float32(i)*nz.u(1.2, 1.8)
			c.nuclei = append(c.nuclei, nucleus{
				sh:   newBlob(nz, x+2.4*s*float32(math.Cos(float64(a))), y+2.4*s*float32(math.Sin(float64(a))), nz.u(1.5, 2.1)*s, 1.2, 0.03),
				dens: nz.u(2.2, 3), tex: 0.05, texF: 0.5})
		}
		f.paint(c)
	}
	if !diathesis {
		return
	}
	for range rng.n(3, 8) { // necrotic debris patches
		px, py := rng.u(0, fw), rng.u(0, fh)
		pr := rng.u(25, 70) * s
		cloud := &cell{body: newBlob(rng, px, py, pr, rng.u(1, 2), 0.2),
			cyto: st.hema.mul(rng.u(0.03, 0.07)).add(st.eosin.mul(rng.u(0.08, 0.18))).add(st.orange.mul(rng.u(0, 0.05))),
			tex:  0.9, edge: 6 * s, tx: rng.u(0, 128), ty: rng.u(0, 128)}
		f.paintCytoplasm(cloud)
		for range rng.n(60, 200) {
			a, d := rng.u(0, 2*math.Pi), pr*sqrt32(rng.Float32())
			speck(rng, px+d*float32(math.Cos(float64(a))), py+d*float32(math.Sin(float64(a))), rng.u(0.6, 1.8)*s, 1.1)
		}
		for range rng.n(3, 14) {
			a, d := rng.u(0, 2*math.Pi), pr*1.2*sqrt32(rng.Float32())
			rbc(rng, px+d*float32(math.Cos(float64(a))), py+d*float32(math.Sin(float64(a))))
		}
	}
	for range rng.n(10, 40) {
		rbc(rng, rng.u(0, fw), rng.u(0, fh))
	}
}

// finish pulls the field's mean colour to its target, lights it, blurs it and
// adds sensor and compression noise.
func (f *field) finish() *image.NRGBA {
	w, h := f.w, f.h
	k := f.meanPull()
	// exp(-x) table, x in steps of 1/256.
	const steps = 256
	lut := make([]float32, 16*steps+1)
	for i := range lut {
		lut[i] = float32(math.Exp(-float64(i) / steps))
	}
	last := float32(len(lut) - 1)
	buf := f.od
	for y := range h {
		v := (float32(y) - float32(h)/2) / (float32(h) / 2)
		for x := range w {
			u := (float32(x) - float32(w)/2) / (float32(w) / 2)
			light := (1 - f.vignette*(u*u+v*v)/2) * (1 + f.gradX*u + f.gradY*v)
			i := 3 * (y*w + x)
			for c := range 3 {
				j := min(buf[i+c]*k[c]*steps+0.5, last)
				buf[i+c] = 255 * f.illum[c] * light * lut[int(j)]
			}
		}
	}
	gaussBlur(buf, w, h, f.blur)
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	nz := f.nz
	// per 8×8 block offsets, like a coarse JPEG's DC error
	bw := (w + 7) / 8
	block := make([]float32, bw*((h+7)/8))
	for i := range block {
		block[i] = nz.u(-1, 1) * f.blockAmp
	}
	var bits uint64
	nb := 0
	tri := func() float32 { // triangular noise in (-1, 1)
		if nb == 0 {
			bits, nb = nz.Uint64(), 2
		}
		a, b := float32(bits&0xffff), float32((bits>>16)&0xffff)
		bits >>= 32
		nb--
		return (a - b) / 65536
	}
	for y := range h {
		for x := range w {
			i := 3 * (y*w + x)
			o := img.PixOffset(x, y)
			d := block[(y/8)*bw+x/8]
			luma := tri() * f.noiseAmp
			for c := range 3 {
				val := buf[i+c] + d + luma + tri()*f.noiseAmp*0.6
				img.Pix[o+c] = uint8(clamp(val+0.5, 0, 255))
			}
			img.Pix[o+3] = 255
		}
	}
	return img
}

// meanPull returns per-channel multipliers of optical density that bring the
// field's mean transmittance to its (class-independent) target, within limits
// so that stains stay recognisable.
func (f *field) meanPull() [3]float32 {
	const bins, step = 1024, 1.0 / 128
	var k [3]float32
	n := float64(f.w * f.h)
	for c := range 3 {
		var hist [bins]float64
		for i := c; i < len(f.od); i += 3 {
			b := min(int(max(0, f.od[i])/step+0.5), bins-1)
			hist[b]++
		}
		mean := func(k float64) float64 {
			var s float64
			for b, cnt := range hist {
				if cnt != 0 {
					s += cnt * math.Exp(-k*float64(b)*step)
				}
			}
			return s / n
		}
		lo, hi := 0.6, 1.6
		t := float64(f.target[c])
		switch {
		case mean(lo) <= t:
			k[c] = float32(lo)
		case mean(hi) >= t:
			k[c] = float32(hi)
		default:
			for range 22 {
				m := (lo + hi) / 2
				if mean(m) > t {
					lo = m
				} else {
					hi = m
				}
			}
			k[c] = float32((lo + hi) / 2)
		}
	}
	return k
}

// gaussBlur blurs an interleaved RGB float image in place with a Gaussian of the given sigma.
func gaussBlur(buf []float32, w, h int, sigma float32) {
	if sigma < 0.3 {
		return
	}
	r := int(math.Ceil(float64(3 * sigma)))
	kern := make([]float32, 2*r+1)
	var sum float32
	for i := range kern {
		d := float64(i - r)
		kern[i] = float32(math.Exp(-d * d / (2 * float64(sigma*sigma))))
		sum += kern[i]
	}
	for i := range kern {
		kern[i] /= sum
	}
	tmp := make([]float32, len(buf))
	for y := range h {
		row := y * w
		for x := range w {
			var a, b, c float32
			for t, kv := range kern {
				xx := min(max(x+t-r, 0), w-1)
				j := 3 * (row + xx)
				a += kv * buf[j]
				b += kv * buf[j+1]
				c += kv * buf[j+2]
			}
			j := 3 * (row + x)
			tmp[j], tmp[j+1], tmp[j+2] = a, b, c
		}
	}
	for y := range h {
		for x := range w {
			var a, b, c float32
			for t, kv := range kern {
				yy := min(max(y+t-r, 0), h-1)
				j := 3 * (yy*w + x)
				a += kv * tmp[j]
				b += kv * tmp[j+1]
				c += kv * tmp[j+2]
			}
			j := 3 * (y*w + x)
			buf[j], buf[j+1], buf[j+2] = a, b, c
		}
	}
}
