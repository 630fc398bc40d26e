package train

import (
	"math/rand/v2"
	"slices"
	"testing"

	"papscope/nn"
)

func testImage(seed uint64, d nn.Dims) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, d.Height*d.Width*3)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

func apply(t *testing.T, tr Transform, x []float32, d nn.Dims) []float32 {
	t.Helper()
	out := make([]float32, len(x))
	if err := tr.Apply(out, x, d); err != nil {
		t.Fatal(err)
	}
	return out
}

func geo(turns int, h, v bool) Transform {
	return Transform{Turns: turns, FlipH: h, FlipV: v, Contrast: 1, Gain: [3]float32{1, 1, 1}}
}

func TestTransformGroup(t *testing.T) {
	sq, rect := nn.Dims{Height: 5, Width: 5}, nn.Dims{Height: 4, Width: 7}
	tests := []struct {
		name  string
		d     nn.Dims
		steps []Transform
	}{
		{"flipH twice", rect, []Transform{geo(0, true, false), geo(0, true, false)}},
		{"flipV twice", rect, []Transform{geo(0, false, true), geo(0, false, true)}},
		{"half turn twice", rect, []Transform{geo(2, false, false), geo(2, false, false)}},
		{"both flips then half turn", rect, []Transform{geo(0, true, true), geo(2, false, false)}},
		{"quarter then three quarters", sq, []Transform{geo(1, false, false), geo(3, false, false)}},
		{"four quarter turns", sq, []Transform{geo(1, false, false), geo(1, false, false), geo(1, false, false), geo(1, false, false)}},
		{"flip and turn twice", sq, []Transform{geo(1, true, false), geo(1, true, false)}},
	}
	for _, tt := range tests {
		x := testImage(1, tt.d)
		y := x
		for _, s := range tt.steps {
			y = apply(t, s, y, tt.d)
		}
		if !slices.Equal(x, y) {
			t.Errorf("%s: not the identity", tt.name)
		}
	}
}

func TestTransformQuarterTurn(t *testing.T) {
	// A 2x2 image with pixel values 0 1 / 2 3 (one channel shown) turned
	// counter-clockwise becomes 1 3 / 0 2.
	d := nn.Dims{Height: 2, Width: 2}
	var x []float32
	for _, v := range []float32{0, 1, 2, 3} {
		x = append(x, v/10, v/10, v/10)
	}
	y := apply(t, geo(1, false, false), x, d)
	var got []float32
	for i := 0; i < len(y); i += 3 {
		got = append(got, y[i]*10)
	}
	want := []float32{1, 3, 0, 2}
	for i := range want {
		if d := got[i] - want[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("quarter turn gives %v, want %v", got, want)
		}
	}
	if err := geo(1, false, false).Apply(make([]float32, 4*7*3), make([]float32, 4*7*3), nn.Dims{Height: 4, Width: 7}); err == nil {
		t.Error("a quarter turn of a non-square input: no error")
	}
}

func TestAugmentDeterministic(t *testing.T) {
	d := nn.Dims{Height: 8, Width: 8}
	x := testImage(2, d)
	a := DefaultAugment
	run := func(seed uint64, epoch, index int) []float32 {
		return apply(t, a.Draw(augmentRNG(seed, epoch, index), d), x, d)
	}
	if !slices.Equal(run(1, 2, 3), run(1, 2, 3)) {
		t.Error("same seed, epoch and index give different images")
	}
	differ := 0
	for i := range 8 {
		if !slices.Equal(run(1, 2, 3), run(1, 2, 4+i)) {
			differ++
		}
	}
	if differ < 6 {
		t.Errorf("only %d of 8 other indices changed the draw", differ)
	}
	// Every value stays in [0, 1], and the geometry only moves pixels.
	for i := range 50 {
		tr := a.Draw(augmentRNG(7, 1, i), d)
		y := apply(t, tr, x, d)
		for _, v := range y {
			if v < 0 || v > 1 {
				t.Fatalf("value %v outside [0,1]", v)
			}
		}
		g := apply(t, geo(tr.Turns, tr.FlipH, tr.FlipV), x, d)
		a, b := slices.Clone(x), slices.Clone(g)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Fatalf("draw %d: the geometric part changed pixel values", i)
		}
	}
}

func TestAugmentDrawRect(t *testing.T) {
	d := nn.Dims{Height: 6, Width: 8}
	seen := map[int]bool{}
	for i := range 100 {
		tr := DefaultAugment.Draw(augmentRNG(1, 1, i), d)
		seen[tr.Turns] = true
		if tr.Brightness < -0.05 || tr.Brightness > 0.05 || tr.Contrast < 0.9 || tr.Contrast > 1.1 {
			t.Fatalf("draw out of range: %+v", tr)
		}
	}
	if seen[1] || seen[3] || !seen[0] || !seen[2] {
		t.Errorf("turns drawn for a non-square input: %v, want 0 and 2 only", seen)
	}
	if !(Augment{}).Draw(augmentRNG(1, 1, 1), d).Identity() {
		t.Error("the zero Augment changes images")
	}
}
