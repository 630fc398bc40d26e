package synth

import "math"

// A shape is a closed region with a signed distance: negative inside, in pixels.
// Distances need only be exact near the boundary, where they set edge coverage.
type shape interface {
	bounds() (x0, y0, x1, y1 float32)
	dist(x, y float32) float32
}

// blob is an ellipse whose radius is modulated by low harmonics (an irregular,
// smooth outline) and by notches (sharp indentations of a nuclear membrane).
type blob struct {
	cx, cy     float32
	cos, sin   float32 // rotation
	a, b       float32 // semi-axes
	harm       [6][2]float32
	notches    []notch
	maxR       float32
	squareness float32 // >0 pushes the outline towards a rounded polygon via harmonic 4
}

type notch struct {
	cos, sin float32 // direction
	depth    float32 // fraction of the radius
	width    float32 // 1-cos of the angular half-width
}

func (b *blob) bounds() (x0, y0, x1, y1 float32) {
	r := b.maxR + 2
	return b.cx - r, b.cy - r, b.cx + r, b.cy + r
}

func (b *blob) dist(x, y float32) float32 {
	dx, dy := x-b.cx, y-b.cy
	u := dx*b.cos + dy*b.sin
	v := -dx*b.sin + dy*b.cos
	qx, qy := u/b.a, v/b.b
	rq := sqrt32(qx*qx + qy*qy)
	rp := sqrt32(dx*dx + dy*dy)
	if rq < 1e-6 {
		return -min(b.a, b.b)
	}
	c1, s1 := qx/rq, qy/rq
	R := float32(1)
	ck, sk := c1, s1
	for k := range b.harm {
		R += b.harm[k][0]*ck + b.harm[k][1]*sk
		ck, sk = ck*c1-sk*s1, sk*c1+ck*s1
	}
	for _, n := range b.notches {
		cd := c1*n.cos + s1*n.sin
		t := (cd - (1 - n.width)) / n.width
		if t > 0 {
			R -= n.depth * t * t
		}
	}
	return (rq - R) * rp / rq
}

// polygon is a convex polygon given by its edges (outward unit normals and offsets).
type polygon struct {
	cx, cy float32
	nx, ny []float32
	h      []float32
	maxR   float32
	wob    [6][2]float32 // outline wobble (harmonics 2..7), in pixels
}

func (p *polygon) bounds() (x0, y0, x1, y1 float32) {
	r := p.maxR + 2
	return p.cx - r, p.cy - r, p.cx + r, p.cy + r
}

func (p *polygon) dist(x, y float32) float32 {
	dx, dy := x-p.cx, y-p.cy
	d := float32(-1e9)
	for i := range p.h {
		d = max(d, dx*p.nx[i]+dy*p.ny[i]-p.h[i])
	}
	rp := sqrt32(dx*dx + dy*dy)
	if rp < 1e-3 {
		return d
	}
	c1, s1 := dx/rp, dy/rp
	ck, sk := c1*c1-s1*s1, 2*c1*s1
	for k := range p.wob {
		d -= p.wob[k][0]*ck + p.wob[k][1]*sk
		ck, sk = ck*c1-sk*s1, sk*c1+ck*s1
	}
	return d
}

// taper is a capsule whose radius changes linearly from r0 at (x0,y0) to r1 at (x1,y1):
// a spindle arm or a caudate cell's tail.
type taper struct {
	x0, y0, x1, y1 float32
	r0, r1         float32
	bend           float32 // sideways bow of the centre line, in pixels at mid-length
}

func (t *taper) bounds() (x0, y0, x1, y1 float32) {
	r := max(t.r0, t.r1) + abs32(t.bend) + 2
	return min(t.x0, t.x1) - r, min(t.y0, t.y1) - r, max(t.x0, t.x1) + r, max(t.y0, t.y1) + r
}

func (t *taper) dist(x, y float32) float32 {
	ex, ey := t.x1-t.x0, t.y1-t.y0
	l2 := ex*ex + ey*ey
	px, py := x-t.x0, y-t.y0
	s := (px*ex + py*ey) / l2
	s = clamp(s, 0, 1)
	// bow: shift the centre line along the normal by bend·4s(1-s)
	l := sqrt32(l2)
	nx, ny := -ey/l, ex/l
	off := t.bend * 4 * s * (1 - s)
	qx, qy := px-s*ex-off*nx, py-s*ey-off*ny
	return sqrt32(qx*qx+qy*qy) - (t.r0 + (t.r1-t.r0)*s)
}

// union is the union of shapes (minimum distance).
type union []shape

func (u union) bounds() (x0, y0, x1, y1 float32) {
	x0, y0, x1, y1 = 1e9, 1e9, -1e9, -1e9
	for _, s := range u {
		a, b, c, d := s.bounds()
		x0, y0, x1, y1 = min(x0, a), min(y0, b), max(x1, c), max(y1, d)
	}
	return
}

func (u union) dist(x, y float32) float32 {
	d := float32(1e9)
	for _, s := range u {
		d = min(d, s.dist(x, y))
	}
	return d
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func clamp(x, lo, hi float32) float32 { return max(lo, min(hi, x)) }

// coverage turns a signed distance into anti-aliased coverage for an edge of the
// given width (1 is a sharp, in-focus edge; larger is out of focus).
func coverage(d, width float32) float32 { return clamp(0.5-d/width, 0, 1) }
