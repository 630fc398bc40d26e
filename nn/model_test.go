package nn

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateSummary = flag.Bool("update-summary", false, "rewrite testdata/summary_*.txt")

func TestParamCounts(t *testing.T) {
	got := CountParams()
	want := ParamCounts{Total: 402756, Trainable: 398532, NonTrainable: 4224}
	if got != want {
		t.Fatalf("CountParams() = %+v, want %+v (the contract of docs/DESIGN.md, Network)", got, want)
	}
}

func TestLayerParams(t *testing.T) {
	tests := []struct {
		layer  string
		params int
	}{
		{"conv2d", 1792},
		{"batch_normalization", 256},
		{"separable_conv2d", 8896},
		{"separable_conv2d_1", 17664},
		{"batch_normalization_16", 512},
		{"separable_conv2d_17", 34176},
		{"dense", 65792},
		{"dense_1", 1028},
		{"add_7", 0},
		{"max_pooling2d", 0},
		{"global_average_pooling2d", 0},
	}
	rows := map[string]SummaryRow{}
	for _, r := range Summary(Dims{299, 299}) {
		rows[r.Layer.Name] = r
	}
	for _, tt := range tests {
		r, ok := rows[tt.layer]
		if !ok {
			t.Errorf("layer %q missing from the architecture", tt.layer)
			continue
		}
		if r.Params != tt.params {
			t.Errorf("layer %q has %d params, want %d", tt.layer, r.Params, tt.params)
		}
	}
}

func TestSummaryGolden(t *testing.T) {
	tests := []struct {
		file string
		in   Dims
	}{
		{"summary_299.txt", Dims{299, 299}},
		{"summary_480x640.txt", Dims{480, 640}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteSummary(&buf, tt.in); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if *updateSummary {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update-summary to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("summary differs from %s:\n%s", path, buf.String())
			}
		})
	}
}

func TestSummaryShapes(t *testing.T) {
	rows := Summary(Dims{299, 299})
	shape := func(name string) string {
		for _, r := range rows {
			if r.Layer.Name == name {
				return fmt.Sprint(r.OutputShape)
			}
		}
		return "missing"
	}
	for name, want := range map[string]string{
		"conv2d":                   "[149 149 64]",
		"separable_conv2d":         "[149 149 128]",
		"max_pooling2d":            "[74 74 128]",
		"add_7":                    "[74 74 128]",
		"separable_conv2d_17":      "[74 74 256]",
		"global_average_pooling2d": "[256]",
		"dense_1":                  "[4]",
	} {
		if got := shape(name); got != want {
			t.Errorf("%s output shape = %s, want %s", name, got, want)
		}
	}
}

// testWeights returns seeded weights with batch normalization far from the
// identity, so that inference-mode BN is exercised.
func testWeights(t testing.TB, in Dims, seed uint64) *Weights {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	tensors := map[string][]float32{}
	for _, p := range Params() {
		v := make([]float32, p.Size())
		uniform := func(lo, hi float64) {
			for i := range v {
				v[i] = float32(lo + (hi-lo)*rng.Float64())
			}
		}
		switch name := p.Name; {
		case strings.HasSuffix(name, "/gamma"):
			uniform(0.5, 1.5)
		case strings.HasSuffix(name, "/beta"):
			uniform(-0.3, 0.3)
		case strings.HasSuffix(name, "/moving_mean"):
			uniform(-0.5, 0.5)
		case strings.HasSuffix(name, "/moving_variance"):
			uniform(0.5, 2.5)
		case strings.HasSuffix(name, "/bias"):
			uniform(-0.1, 0.1)
		default:
			fanIn, _ := glorotFans(p.Shape)
			if strings.HasSuffix(name, "depthwise_kernel") {
				fanIn = 9
			}
			a := math.Sqrt(3.0 / float64(fanIn))
			uniform(-a, a)
		}
		tensors[p.Name] = v
	}
	w, err := NewWeights(DefaultMetadata(in), tensors)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// testInput returns a seeded input with smooth structure and noise.
func testInput(in Dims, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, in.Height*in.Width*3)
	fy, fx := rng.Float64()*0.2, rng.Float64()*0.2
	for y := range in.Height {
		for xx := range in.Width {
			for c := range 3 {
				v := 0.5 + 0.3*math.Sin(fy*float64(y)+float64(c))*math.Cos(fx*float64(xx)) + 0.2*(rng.Float64()-0.5)
				x[(y*in.Width+xx)*3+c] = float32(v)
			}
		}
	}
	return x
}

func TestForwardMatchesReference(t *testing.T) {
	tests := []Dims{{7, 7}, {8, 9}, {17, 31}, {40, 30}, {299, 299}}
	for i, in := range tests {
		t.Run(fmt.Sprintf("%dx%d", in.Width, in.Height), func(t *testing.T) {
			w := testWeights(t, in, uint64(10+i))
			m, err := NewModel(w)
			if err != nil {
				t.Fatal(err)
			}
			x := testInput(in, uint64(i))
			got, err := m.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			want := referenceForward(w, x, in)
			for c := range NumClasses {
				if d := math.Abs(float64(got.Logits[c]) - want.logits[c]); d > 1e-4*math.Max(1, math.Abs(want.logits[c])) {
					t.Errorf("logit %d = %g, reference %g", c, got.Logits[c], want.logits[c])
				}
				if d := math.Abs(float64(got.Probs[c]) - want.probs[c]); d > 1e-5 {
					t.Errorf("prob %d = %g, reference %g", c, got.Probs[c], want.probs[c])
				}
			}
			for j := range got.Pooled {
				if d := math.Abs(float64(got.Pooled[j]) - want.pooled[j]); d > 1e-4*math.Max(1, math.Abs(want.pooled[j])) {
					t.Fatalf("pooled[%d] = %g, reference %g", j, got.Pooled[j], want.pooled[j])
				}
			}
			if got.FeatureDims != want.featureDims || len(got.Features) != len(want.features) {
				t.Fatalf("features %v (%d values), reference %v (%d)", got.FeatureDims, len(got.Features), want.featureDims, len(want.features))
			}
			for j := range got.Features {
				if d := math.Abs(float64(got.Features[j]) - want.features[j]); d > 1e-4*math.Max(1, math.Abs(want.features[j])) {
					t.Fatalf("features[%d] = %g, reference %g", j, got.Features[j], want.features[j])
				}
			}
		})
	}
}

func TestForwardAllocatesNothing(t *testing.T) {
	in := Dims{40, 30}
	m, err := NewModel(testWeights(t, in, 3))
	if err != nil {
		t.Fatal(err)
	}
	x := testInput(in, 3)
	var times LayerTimes
	for _, tc := range []struct {
		name    string
		forward func() (Output, error)
	}{
		{"Forward", func() (Output, error) { return m.Forward(x) }},
		{"ForwardTimed", func() (Output, error) { return m.ForwardTimed(x, &times) }},
	} {
		allocs := testing.AllocsPerRun(5, func() {
			if _, err := tc.forward(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s allocates %v times per image, want 0", tc.name, allocs)
		}
	}
}

func TestForwardDeterministicAndClones(t *testing.T) {
	in := Dims{33, 45}
	m, err := NewModel(testWeights(t, in, 4))
	if err != nil {
		t.Fatal(err)
	}
	x := testInput(in, 4)
	first, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	firstFeatures := append([]float32(nil), first.Features...)
	other := testInput(in, 5)
	if _, err := m.Forward(other); err != nil {
		t.Fatal(err)
	}
	again, _ := m.Forward(x)
	clone, _ := m.Clone().Forward(x)
	for _, o := range []Output{again, clone} {
		if o.Logits != first.Logits || o.Probs != first.Probs {
			t.Fatalf("logits %v, then %v: the same input must give the same bits", first.Logits, o.Logits)
		}
	}
	for i := range firstFeatures {
		if firstFeatures[i] != again.Features[i] {
			t.Fatalf("features[%d] differ between runs", i)
		}
	}
}

func TestForwardRejectsWrongInput(t *testing.T) {
	m, err := NewModel(testWeights(t, Dims{16, 16}, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Forward(make([]float32, 10)); err == nil || !strings.Contains(err.Error(), "want 768") {
		t.Errorf("Forward(10 values) error = %v, want one saying 768 values are needed", err)
	}
}
