package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gradcamModel returns a model at a small input size with random dense biases
// (so some hidden units are off) and the output of one forward pass.
func gradcamModel(t *testing.T, seed uint64) (*Model, Output) {
	t.Helper()
	w, err := InitWeights(DefaultMetadata(Dims{Height: 32, Width: 40}), seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, name := range []string{"dense/bias", "dense_1/bias"} {
		for i := range w.tensors[name] {
			w.tensors[name][i] = float32(rng.NormFloat64() * 0.05)
		}
	}
	m, err := NewModel(w)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 32*40*3)
	for i := range in {
		in[i] = rng.Float32()
	}
	out, err := m.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	return m, out
}

// headLogit computes, in float64, the logit of class from a feature map (n×256):
// global average pooling, dense + ReLU, dense.
func headLogit(w *Weights, features []float64, n int, class Class) float64 {
	w1, b1 := w.Tensor("dense/kernel"), w.Tensor("dense/bias")
	w2, b2 := w.Tensor("dense_1/kernel"), w.Tensor("dense_1/bias")
	var pooled [256]float64
	for i := range n {
		for k := range 256 {
			pooled[k] += features[i*256+k]
		}
	}
	logit := float64(b2[class])
	for j := range 256 {
		h := float64(b1[j])
		for k := range 256 {
			h += pooled[k] / float64(n) * float64(w1[k*256+j])
		}
		logit += max(h, 0) * float64(w2[j*NumClasses+int(class)])
	}
	return logit
}

func TestGradCAMMatchesFiniteDifferences(t *testing.T) {
	nonzero := 0
	defer func() {
		if nonzero < 8 {
			t.Errorf("only %d of the cases have a non-zero map: the test checks too little", nonzero)
		}
	}()
	for _, tc := range []struct {
		seed  uint64
		class Class
	}{
		{1, 0}, {1, 1}, {1, 2}, {1, 3},
		{2, 0}, {2, 1}, {2, 2}, {2, 3},
		{3, 0}, {3, 1}, {3, 2}, {3, 3},
	} {
		m, out := gradcamModel(t, tc.seed)
		w := m.Weights()
		d := out.FeatureDims
		n := d.Height * d.Width
		f := make([]float64, len(out.Features))
		for i, v := range out.Features {
			f[i] = float64(v)
		}
		// Σ_p ∂logit/∂F[p,k] by a central difference along all pixels of channel k, divided by n.
		const h = 1e-4
		var alpha [256]float64
		for k := range 256 {
			for i := range n {
				f[i*256+k] += h
			}
			up := headLogit(w, f, n, tc.class)
			for i := range n {
				f[i*256+k] -= 2 * h
			}
			down := headLogit(w, f, n, tc.class)
			for i := range n {
				f[i*256+k] += h
			}
			alpha[k] = (up - down) / (2 * h) / float64(n)
		}
		// The gradient is the same at every pixel: check one pixel and channel directly.
		px, ch := n/2, 17
		f[px*256+ch] += h
		up := headLogit(w, f, n, tc.class)
		f[px*256+ch] -= 2 * h
		down := headLogit(w, f, n, tc.class)
		f[px*256+ch] += h
		if g := (up - down) / (2 * h); math.Abs(g-alpha[ch]) > 1e-6+1e-3*math.Abs(g) {
			t.Errorf("seed %d class %d: ∂logit/∂F[%d,%d] = %g, want α = %g", tc.seed, tc.class, px, ch, g, alpha[ch])
		}
		want := make([]float64, n)
		mx := 0.0
		for i := range n {
			s := 0.0
			for k := range 256 {
				s += alpha[k] * f[i*256+k]
			}
			want[i] = max(s, 0)
			mx = max(mx, want[i])
		}
		empty := mx == 0 // a class with no positive evidence anywhere: the map must stay zero
		if empty {
			mx = 1
		} else {
			nonzero++
		}
		got, err := m.GradCAM(nil, &out, tc.class)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("seed %d class %d: map has %d values, want %d", tc.seed, tc.class, len(got), n)
		}
		gotMax := float32(0)
		for i, g := range got {
			gotMax = max(gotMax, g)
			if wv := want[i] / mx; math.Abs(float64(g)-wv) > 1e-4 {
				t.Fatalf("seed %d class %d: map[%d] = %g, want %g", tc.seed, tc.class, i, g, wv)
			}
		}
		if wantMax := float32(1); empty && gotMax != 0 || !empty && gotMax != wantMax {
			t.Errorf("seed %d class %d: map max = %g, want 1 (0 for an empty map)", tc.seed, tc.class, gotMax)
		}
	}
}

func TestGradCAMClassesDiffer(t *testing.T) {
	m, out := gradcamModel(t, 1)
	a, _ := m.GradCAM(nil, &out, 0)
	b, _ := m.GradCAM(nil, &out, 3)
	same := true
	for i := range a {
		if a[i] != b[i] {
			same = false
		}
	}
	if same {
		t.Error("maps of HSIL and SCC are identical")
	}
}

func TestGradCAMZeroFeatures(t *testing.T) {
	m, out := gradcamModel(t, 1)
	zero := out
	zero.Features = make([]float32, len(out.Features))
	got, err := m.GradCAM(nil, &zero, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != 0 {
			t.Fatalf("map[%d] = %g for an all-zero feature map, want 0", i, v)
		}
	}
}

func TestGradCAMErrors(t *testing.T) {
	m, out := gradcamModel(t, 1)
	for _, tc := range []struct {
		name  string
		out   Output
		class Class
	}{
		{"negative class", out, -1},
		{"class too large", out, NumClasses},
		{"no forward pass", Output{}, 0},
		{"short features", Output{Features: out.Features[:10], Pooled: out.Pooled, FeatureDims: out.FeatureDims}, 0},
	} {
		if _, err := m.GradCAM(nil, &tc.out, tc.class); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestGradCAMAllocatesNothing(t *testing.T) {
	m, out := gradcamModel(t, 1)
	dst := make([]float32, out.FeatureDims.Height*out.FeatureDims.Width)
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := m.GradCAM(dst, &out, 2); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("GradCAM with a dst allocates %g times per call, want 0", allocs)
	}
}
