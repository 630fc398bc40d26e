package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"papscope/safetensors"
)

// oldSoftmax is softmax as Forward computed it before temperatures existed.
func oldSoftmax(logits [NumClasses]float32) [NumClasses]float32 {
	mx := logits[0]
	for _, v := range logits {
		mx = max(mx, v)
	}
	var e [NumClasses]float64
	sum := 0.0
	for i, v := range logits {
		e[i] = math.Exp(float64(v - mx))
		sum += e[i]
	}
	var p [NumClasses]float32
	for i := range e {
		p[i] = float32(e[i] / sum)
	}
	return p
}

// testOOD returns class means and an exactly symmetric, positive-definite
// precision matrix, P = AAᵀ/dim + I/2, seeded.
func testOOD(seed uint64) (means, precision []float32) {
	rng := rand.New(rand.NewPCG(seed, 2))
	means = make([]float32, NumClasses*OODDim)
	for i := range means {
		means[i] = float32(rng.Float64())
	}
	a := make([]float64, OODDim*OODDim)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	precision = make([]float32, OODDim*OODDim)
	for i := range OODDim {
		for j := range i + 1 {
			s := 0.0
			for k := range OODDim {
				s += a[i*OODDim+k] * a[j*OODDim+k]
			}
			s /= OODDim
			if i == j {
				s += 0.5
			}
			precision[i*OODDim+j], precision[j*OODDim+i] = float32(s), float32(s)
		}
	}
	return means, precision
}

// naiveOOD is the score computed directly from its definition in float64.
func naiveOOD(means, precision, pooled []float32) float64 {
	best := math.Inf(1)
	for c := range NumClasses {
		q := 0.0
		for i := range OODDim {
			for j := range OODDim {
				q += (float64(pooled[i]) - float64(means[c*OODDim+i])) * float64(precision[i*OODDim+j]) *
					(float64(pooled[j]) - float64(means[c*OODDim+j]))
			}
		}
		best = min(best, math.Sqrt(q))
	}
	return best
}

func forward(t *testing.T, w *Weights, in Dims, seed uint64) Output {
	t.Helper()
	m, err := NewModel(w)
	if err != nil {
		t.Fatal(err)
	}
	o, err := m.Forward(testInput(in, seed))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestTemperatureAbsentIsBitIdentical(t *testing.T) {
	in := Dims{40, 30}
	w := testWeights(t, in, 3)
	one, err := w.WithTrust(1, nil, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []*Weights{w, one} {
		o := forward(t, w, in, 9)
		if want := oldSoftmax(o.Logits); o.Probs != want {
			t.Errorf("temperature %g: probs %v, want the bits of %v", w.Meta().Temperature, o.Probs, want)
		}
		if o.OODAvailable || o.OODScore != 0 || o.OODThreshold != 0 || o.InDistribution() {
			t.Errorf("weights without statistics give an OOD score: %+v", o)
		}
	}
}

func TestTemperatureRoundTripAndProbs(t *testing.T) {
	in := Dims{40, 30}
	base := testWeights(t, in, 3)
	plain := forward(t, base, in, 9)
	for _, temp := range []float64{0.5, 2.5, 1.0 / 3} {
		w, err := base.WithTrust(temp, nil, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeWeights(encodeWeights(t, w))
		if err != nil {
			t.Fatal(err)
		}
		if got.Meta().Temperature != temp {
			t.Fatalf("temperature %v after round trip, want %v", got.Meta().Temperature, temp)
		}
		if _, ok := got.Meta().Extra[keyTemperature]; ok {
			t.Error("temperature also kept in Extra")
		}
		o := forward(t, got, in, 9)
		if o.Logits != plain.Logits {
			t.Errorf("T=%g: logits %v, want the unscaled %v", temp, o.Logits, plain.Logits)
		}
		var e [NumClasses]float64
		sum := 0.0
		for i, l := range o.Logits {
			e[i] = math.Exp(float64(l) / temp)
			sum += e[i]
		}
		for i := range e {
			if d := math.Abs(float64(o.Probs[i]) - e[i]/sum); d > 1e-6 {
				t.Errorf("T=%g: prob %d = %g, want softmax(l/T) = %g", temp, i, o.Probs[i], e[i]/sum)
			}
		}
	}
}

func TestTrustRoundTrip(t *testing.T) {
	in := Dims{40, 30}
	means, precision := testOOD(1)
	w, err := testWeights(t, in, 3).WithTrust(1.7, means, precision, 12.5)
	if err != nil {
		t.Fatal(err)
	}
	data := encodeWeights(t, w)
	got, err := DecodeWeights(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta().Temperature != 1.7 || got.Meta().OODThreshold != 12.5 || !got.HasOOD() {
		t.Fatalf("after round trip: temperature %v, threshold %v, has OOD %v", got.Meta().Temperature, got.Meta().OODThreshold, got.HasOOD())
	}
	if !slices.Equal(got.Tensor(OODMeansName), means) || !slices.Equal(got.Tensor(OODPrecisionName), precision) {
		t.Error("OOD tensors differ after round trip")
	}
	if again := encodeWeights(t, got); string(again) != string(data) {
		t.Error("re-encoding gives different bytes")
	}
	// Removing the statistics again gives weights without them.
	plain, err := got.WithTrust(0, nil, nil, 0)
	if err != nil || plain.HasOOD() || plain.Meta().Temperature != 0 || !got.HasOOD() {
		t.Errorf("WithTrust(0, nil, nil, 0): %v, has OOD %v; original has OOD %v", err, plain.HasOOD(), got.HasOOD())
	}
}

func TestOODScoreMatchesNaive(t *testing.T) {
	in := Dims{40, 30}
	means, precision := testOOD(2)
	w, err := testWeights(t, in, 4).WithTrust(0, means, precision, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(w)
	if err != nil {
		t.Fatal(err)
	}
	clone := m.Clone()
	for seed := range uint64(4) {
		x := testInput(in, seed)
		o, err := m.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		want := naiveOOD(means, precision, o.Pooled)
		if !o.OODAvailable || math.Abs(float64(o.OODScore)-want) > 1e-5*want {
			t.Errorf("seed %d: OOD score %v (available %v), naive %v", seed, o.OODScore, o.OODAvailable, want)
		}
		c, _ := clone.Forward(x)
		if c.OODScore != o.OODScore {
			t.Errorf("clone's score %v, want %v", c.OODScore, o.OODScore)
		}
		// A score exactly at the pooled vector's nearest mean is 0.
		if o.OODThreshold != 1 || o.InDistribution() != (o.OODScore <= 1) {
			t.Errorf("threshold %v, in distribution %v for score %v", o.OODThreshold, o.InDistribution(), o.OODScore)
		}
	}
	// At a class mean the score is 0, and in distribution.
	s := newOODStats(w)
	if got := s.score(means[2*OODDim:3*OODDim], make([]float64, OODDim)); got != 0 {
		t.Errorf("score at a class mean = %v, want 0", got)
	}
}

func TestForwardWithTrustAllocatesNothing(t *testing.T) {
	in := Dims{40, 30}
	means, precision := testOOD(3)
	w, err := testWeights(t, in, 3).WithTrust(2, means, precision, 5)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(w)
	if err != nil {
		t.Fatal(err)
	}
	x := testInput(in, 3)
	allocs := testing.AllocsPerRun(5, func() {
		if o, err := m.Forward(x); err != nil || !o.OODAvailable {
			t.Fatal(err, o.OODAvailable)
		}
	})
	if allocs != 0 {
		t.Errorf("Forward with trust statistics allocates %v times per image, want 0", allocs)
	}
}

func TestTrustParamsUnchanged(t *testing.T) {
	for _, p := range Params() {
		if strings.HasPrefix(p.Name, "ood/") {
			t.Errorf("Params lists %q", p.Name)
		}
	}
}

func TestWithTrustErrors(t *testing.T) {
	w := testWeights(t, Dims{40, 30}, 3)
	means, precision := testOOD(4)
	edit := func(v []float32, f func([]float32)) []float32 {
		v = slices.Clone(v)
		f(v)
		return v
	}
	asym := edit(precision, func(p []float32) { p[1*OODDim+5] += 0.01 })
	indefinite := edit(precision, func(p []float32) { p[0] = -1 })
	notPD := edit(precision, func(p []float32) { // a 2×2 block [[1, 2], [2, 1]] is indefinite with a positive diagonal
		clear(p)
		for i := range OODDim {
			p[i*OODDim+i] = 1
		}
		p[1], p[OODDim] = 2, 2
	})
	tests := []struct {
		name        string
		temperature float64
		means       []float32
		precision   []float32
		threshold   float64
		wantErr     string
		tensor      string // the *TensorError's Name, "" for none
		is          error
	}{
		{"negative temperature", -1, nil, nil, 0, "temperature -1 is not in (0, 100]", "", nil},
		{"NaN temperature", math.NaN(), nil, nil, 0, "temperature NaN", "", nil},
		{"huge temperature", 101, nil, nil, 0, "temperature 101", "", nil},
		{"infinite temperature", math.Inf(1), nil, nil, 0, "temperature +Inf", "", nil},
		{"means only", 0, means, nil, 0, "have tensor ood/class_means, missing tensor ood/precision, metadata ood_threshold", "", nil},
		{"no threshold", 0, means, precision, 0, "missing metadata ood_threshold", "", nil},
		{"threshold only", 0, nil, nil, 3, "missing tensor ood/class_means, tensor ood/precision", "", nil},
		{"precision missing", 0, means, nil, 3, "missing tensor ood/precision", "", nil},
		{"negative threshold", 0, means, precision, -3, "ood_threshold -3 is not a positive finite number", "", nil},
		{"infinite threshold", 0, means, precision, math.Inf(1), "ood_threshold +Inf", "", nil},
		{"short means", 0, means[:100], precision, 3, `tensor "ood/class_means" has 100 values, want 1024`, "ood/class_means", ErrTensorShape},
		{"short precision", 0, means, precision[:256*255], 3, `tensor "ood/precision" has 65280 values, want 65536`, "ood/precision", ErrTensorShape},
		{"NaN mean", 0, edit(means, func(v []float32) { v[7] = float32(math.NaN()) }), precision, 3, `tensor "ood/class_means" has non-finite value NaN at index 7`, "ood/class_means", ErrNonFinite},
		{"not symmetric", 0, means, asym, 3, `tensor "ood/precision" is not symmetric: [1,5]`, "ood/precision", nil},
		{"negative diagonal", 0, means, indefinite, 3, `tensor "ood/precision" has diagonal entry -1 at [0,0]`, "ood/precision", nil},
		{"not positive definite", 0, means, notPD, 3, `tensor "ood/precision" is not positive definite`, "ood/precision", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.WithTrust(tt.temperature, tt.means, tt.precision, tt.threshold)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("WithTrust error = %v, want it to contain %q", err, tt.wantErr)
			}
			checkTensorError(t, err, tt.tensor, tt.is)
		})
	}
}

func TestDecodeTrustErrors(t *testing.T) {
	means, precision := testOOD(5)
	w, err := testWeights(t, Dims{40, 30}, 3).WithTrust(1.5, means, precision, 4)
	if err != nil {
		t.Fatal(err)
	}
	valid := encodeWeights(t, w)
	drop := func(name string) func(f *safetensors.File) {
		return func(f *safetensors.File) {
			f.Tensors = slices.DeleteFunc(f.Tensors, func(t safetensors.Tensor) bool { return t.Name == name })
		}
	}
	setMeta := func(k, v string) func(f *safetensors.File) {
		return func(f *safetensors.File) { f.Metadata[k] = v }
	}
	tests := []struct {
		name    string
		edit    func(f *safetensors.File)
		wantErr string
		tensor  string // the *TensorError's Name, "" for none
		is      error
	}{
		{"no precision", drop(OODPrecisionName), "missing tensor ood/precision", "", nil},
		{"no means", drop(OODMeansName), "missing tensor ood/class_means", "", nil},
		{"no threshold", func(f *safetensors.File) { delete(f.Metadata, "ood_threshold") }, "missing metadata ood_threshold", "", nil},
		{"bad threshold", setMeta("ood_threshold", "high"), `metadata "ood_threshold" is "high", want a positive decimal number`, "", nil},
		{"zero threshold", setMeta("ood_threshold", "0"), `metadata "ood_threshold" is "0"`, "", nil},
		{"bad temperature", setMeta("temperature", "warm"), `metadata "temperature" is "warm"`, "", nil},
		{"negative temperature", setMeta("temperature", "-2"), `metadata "temperature" is "-2"`, "", nil},
		{"NaN temperature", setMeta("temperature", "NaN"), `metadata "temperature" is "NaN"`, "", nil},
		{"temperature too high", setMeta("temperature", "1e3"), "temperature 1000 is not in (0, 100]", "", nil},
		{"precision shape", func(f *safetensors.File) {
			tt, _ := f.Tensor(OODPrecisionName)
			tt.Shape = []int{128, 512}
		}, `tensor "ood/precision" has shape [128 512], want [256 256]`, "ood/precision", ErrTensorShape},
		{"means shape", func(f *safetensors.File) {
			tt, _ := f.Tensor(OODMeansName)
			tt.Shape = []int{256, 4}
		}, `tensor "ood/class_means" has shape [256 4], want [4 256]`, "ood/class_means", ErrTensorShape},
		{"precision not symmetric", func(f *safetensors.File) {
			tt, _ := f.Tensor(OODPrecisionName)
			v, _ := tt.Float32s()
			v[3*OODDim+200] += 0.01
			*tt, _ = safetensors.F32(OODPrecisionName, tt.Shape, v)
		}, `tensor "ood/precision" is not symmetric: [3,200]`, "ood/precision", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := DecodeWeights(mutate(t, valid, tt.edit))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("DecodeWeights = %v, %v; want error containing %q", w, err, tt.wantErr)
			}
			checkTensorError(t, err, tt.tensor, tt.is)
		})
	}
}
