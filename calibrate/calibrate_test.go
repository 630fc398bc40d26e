package calibrate

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"papscope/metrics"
	"papscope/nn"
)

// calibratedSet returns logits whose softmax at temperature trueT is
// calibrated: labels are drawn from softmax(logits / trueT).
func calibratedSet(n int, trueT float64, seed uint64) ([][nn.NumClasses]float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 11))
	logits := make([][nn.NumClasses]float32, n)
	labels := make([]int, n)
	for i := range n {
		var z [nn.NumClasses]float64
		for k := range z {
			z[k] = 1.5 * rng.NormFloat64()
		}
		z[rng.IntN(nn.NumClasses)] += 2.5
		for k := range z {
			logits[i][k] = float32(trueT * z[k])
		}
		p := nn.Probs(make([]float32, nn.NumClasses), logits[i][:], trueT)
		u, y := rng.Float64(), 0
		for acc := float64(p[0]); u > acc && y < nn.NumClasses-1; {
			y++
			acc += float64(p[y])
		}
		labels[i] = y
	}
	return logits, labels
}

func evaluate(t *testing.T, logits [][nn.NumClasses]float32, labels []int, temp float64) *metrics.Report {
	t.Helper()
	r, err := metrics.Evaluate(labels, ProbsAt(logits, temp))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFitTemperatureRecoversKnown(t *testing.T) {
	for _, trueT := range []float64{0.4, 1, 2.5, 6} {
		logits, labels := calibratedSet(20000, trueT, uint64(trueT*10))
		got, err := FitTemperature(logits, labels)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-trueT) > 0.05*trueT {
			t.Errorf("FitTemperature = %.4f, want %.4f within 5%%", got, trueT)
		}
		if NLL(logits, labels, got) > NLL(logits, labels, 1)+1e-12 {
			t.Errorf("T=%g: NLL at the fit %g exceeds NLL at T=1 %g", trueT, NLL(logits, labels, got), NLL(logits, labels, 1))
		}
		before, after := evaluate(t, logits, labels, 1), evaluate(t, logits, labels, got)
		t.Logf("true T %.2f: fitted %.4f, ECE %.4f → %.4f", trueT, got, before.ECE, after.ECE)
		if after.ECE > 0.02 {
			t.Errorf("T=%g: ECE after calibration %.4f, want ≤ 0.02", trueT, after.ECE)
		}
		if trueT != 1 && after.ECE >= before.ECE {
			t.Errorf("T=%g: ECE %.4f before, %.4f after: calibration did not help", trueT, before.ECE, after.ECE)
		}
	}
}

func TestFitTemperatureRange(t *testing.T) {
	// Every prediction right with a wide margin: the NLL keeps falling as T → 0,
	// so the fit stops at the lower end of the range.
	logits := [][nn.NumClasses]float32{{5, 0, 0, 0}, {0, 5, 0, 0}, {0, 0, 0, 5}}
	got, err := FitTemperature(logits, []int{0, 1, 3})
	if err != nil || got < MinTemperature || got > MinTemperature*1.001 {
		t.Errorf("FitTemperature = %v, %v; want %v", got, err, MinTemperature)
	}
	// Every prediction wrong: the NLL falls as T grows, up to the upper end.
	got, err = FitTemperature(logits, []int{1, 2, 0})
	if err != nil || got > MaxTemperature || got < MaxTemperature*0.999 {
		t.Errorf("FitTemperature = %v, %v; want %v", got, err, MaxTemperature)
	}
}

func TestTemperatureKeepsOneWhenTheFitHitsTheRange(t *testing.T) {
	separated := [][nn.NumClasses]float32{{5, 0, 0, 0}, {0, 5, 0, 0}, {0, 0, 0, 5}}
	noisy, noisyLabels := calibratedSet(20000, 2.5, 25)
	for _, tc := range []struct {
		name       string
		logits     [][nn.NumClasses]float32
		labels     []int
		wantUse    float64 // 0: the fit itself
		wantFitted float64 // 0: inside the range
	}{
		{"all right with margin", separated, []int{0, 1, 3}, 1, MinTemperature},
		{"all wrong", separated, []int{1, 2, 0}, 1, MaxTemperature},
		{"overconfident network", noisy, noisyLabels, 0, 0},
	} {
		use, fitted, err := Temperature(tc.logits, tc.labels)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.wantFitted != 0 && math.Abs(fitted-tc.wantFitted) > 0.001*tc.wantFitted {
			t.Errorf("%s: fitted %g, want %g", tc.name, fitted, tc.wantFitted)
		}
		if tc.wantUse != 0 && use != tc.wantUse {
			t.Errorf("%s: use %g, want %g", tc.name, use, tc.wantUse)
		}
		if tc.wantUse == 0 && (use != fitted || math.Abs(use-2.5) > 0.05*2.5) {
			t.Errorf("%s: use %g, fitted %g, want the fit near 2.5", tc.name, use, fitted)
		}
	}
	if _, _, err := Temperature(nil, nil); err == nil {
		t.Error("no examples: no error")
	}
}

func TestFitTemperatureErrors(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name    string
		logits  [][nn.NumClasses]float32
		labels  []int
		wantErr string
	}{
		{"empty", nil, nil, "no examples"},
		{"mismatch", make([][nn.NumClasses]float32, 2), []int{0}, "2 logit rows for 1 labels"},
		{"bad label", make([][nn.NumClasses]float32, 1), []int{4}, "label 4 of example 0"},
		{"NaN", [][nn.NumClasses]float32{{0, nan, 0, 0}}, []int{0}, "non-finite logit"},
	}
	for _, tt := range tests {
		if _, err := FitTemperature(tt.logits, tt.labels); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

// clusters draws n points per class from Gaussians with a shared, correlated
// covariance (x = μc + A·g) in dim dimensions, feature 0 constant (a dead unit).
type clusters struct {
	dim   int
	means [][]float64
	a     []float64 // dim × dim mixing matrix
}

func newClusters(dim int, rng *rand.Rand) *clusters {
	c := &clusters{dim: dim, a: make([]float64, dim*dim)}
	for range nn.NumClasses {
		m := make([]float64, dim)
		for j := range m {
			m[j] = 4 * rng.Float64()
		}
		c.means = append(c.means, m)
	}
	for i := range dim {
		c.a[i*dim+i] = 0.5 + rng.Float64()
		for j := range 8 { // a few correlations per feature
			c.a[i*dim+rng.IntN(dim)] += 0.3 * rng.NormFloat64()
			_ = j
		}
	}
	return c
}

// sample draws a point of class k; spread scales the noise.
func (c *clusters) sample(k int, spread float64, rng *rand.Rand) []float32 {
	g := make([]float64, c.dim)
	for j := range g {
		g[j] = rng.NormFloat64()
	}
	x := make([]float32, c.dim)
	for i := 1; i < c.dim; i++ {
		s := c.means[k][i]
		for j, gj := range g {
			s += spread * c.a[i*c.dim+j] * gj
		}
		x[i] = float32(s)
	}
	return x
}

func TestFitOODSeparatesFarPoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := newClusters(nn.OODDim, rng)
	var train [][]float32
	var labels []int
	for i := range 2000 {
		train = append(train, c.sample(i%nn.NumClasses, 1, rng))
		labels = append(labels, i%nn.NumClasses)
	}
	means, precision, err := FitOOD(train, labels)
	if err != nil {
		t.Fatal(err)
	}
	if len(means) != nn.NumClasses*nn.OODDim || len(precision) != nn.OODDim*nn.OODDim {
		t.Fatalf("%d means, %d precision values", len(means), len(precision))
	}
	var scores, val []float64
	var far []bool
	for i := range 400 {
		s := Score(means, precision, c.sample(i%nn.NumClasses, 1, rng))
		scores, far, val = append(scores, s), append(far, false), append(val, s)
	}
	for i := range 400 {
		x := c.sample(i%nn.NumClasses, 1, rng)
		switch i % 4 {
		case 0: // wider spread than any training image
			x = c.sample(i%nn.NumClasses, 2, rng)
		case 1: // shifted far along one feature
			x[1+rng.IntN(nn.OODDim-1)] += 30
		case 2: // uniform noise over the features' range
			for j := range x {
				x[j] = float32(12 * rng.Float64())
			}
		case 3: // the dead feature switched on
			x[0] = 10
		}
		scores, far = append(scores, Score(means, precision, x)), append(far, true)
	}
	auc := metrics.AUC(scores, far)
	t.Logf("AUROC in-cluster vs far: %.4f", auc)
	if !(auc > 0.95) {
		t.Errorf("AUROC %.4f, want > 0.95", auc)
	}
	threshold, err := OODThreshold(val, 0.99)
	if err != nil {
		t.Fatal(err)
	}
	below := 0
	for _, s := range val {
		if s <= threshold {
			below++
		}
	}
	if below < 396 {
		t.Errorf("%d of 400 validation scores at most the 0.99 threshold %g", below, threshold)
	}

	// nn computes the same score once the statistics are attached.
	w, err := nn.InitWeights(nn.DefaultMetadata(nn.Dims{Height: 40, Width: 30}), 1)
	if err != nil {
		t.Fatal(err)
	}
	w, err = Attach(w, 1.5, means, precision, threshold)
	if err != nil {
		t.Fatal(err)
	}
	m, err := nn.NewModel(w)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 40*30*3)
	for i := range in {
		in[i] = rng.Float32()
	}
	o, err := m.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	want := Score(means, precision, o.Pooled)
	if !o.OODAvailable || math.Abs(float64(o.OODScore)-want) > 1e-3*want {
		t.Errorf("nn's OOD score %v (available %v), calibrate's %v", o.OODScore, o.OODAvailable, want)
	}
}

func TestFitOODPrecisionInvertsCovariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const dim = 6
	var rows [][]float32
	var labels []int
	for i := range 500 {
		x := make([]float32, dim)
		for j := range x {
			x[j] = float32(rng.NormFloat64() * float64(j+1))
		}
		x[1] += x[0]
		rows, labels = append(rows, x), append(labels, i%nn.NumClasses)
	}
	_, precision, err := FitOOD(rows, labels)
	if err != nil {
		t.Fatal(err)
	}
	// Rebuild Σ from the documented recipe and check PΣ = I.
	means := make([][dim]float64, nn.NumClasses)
	count := make([]int, nn.NumClasses)
	for i, x := range rows {
		count[labels[i]]++
		for j := range dim {
			means[labels[i]][j] += float64(x[j])
		}
	}
	for k := range means {
		for j := range dim {
			means[k][j] /= float64(count[k])
		}
	}
	var s [dim][dim]float64
	for i, x := range rows {
		for a := range dim {
			for b := range dim {
				s[a][b] += (float64(x[a]) - means[labels[i]][a]) * (float64(x[b]) - means[labels[i]][b]) / float64(len(rows)-nn.NumClasses)
			}
		}
	}
	mu := 0.0
	for a := range dim {
		mu += s[a][a] / dim
	}
	var flat []float64
	for a := range dim {
		flat = append(flat, s[a][:]...)
	}
	centred := make([][]float64, len(rows))
	for i, x := range rows {
		centred[i] = make([]float64, dim)
		for j := range dim {
			centred[i][j] = float64(x[j]) - means[labels[i]][j]
		}
	}
	delta := shrinkage(flat, centred, mu)
	if delta < MinShrinkage || delta > 1 {
		t.Fatalf("shrinkage %g", delta)
	}
	for a := range dim {
		for b := range dim {
			sigma := (1 - delta) * s[a][b]
			if a == b {
				sigma += delta * mu
			}
			s[a][b] = sigma
		}
	}
	for a := range dim {
		for b := range dim {
			id := 0.0
			for k := range dim {
				id += precision[a*dim+k] * s[k][b]
			}
			want := 0.0
			if a == b {
				want = 1
			}
			if math.Abs(id-want) > 1e-9 {
				t.Errorf("(PΣ)[%d][%d] = %g, want %g", a, b, id, want)
			}
			if precision[a*dim+b] != precision[b*dim+a] {
				t.Errorf("precision not exactly symmetric at [%d][%d]", a, b)
			}
		}
	}
}

func TestFitOODErrors(t *testing.T) {
	row := func(v ...float32) []float32 { return v }
	tests := []struct {
		name    string
		pooled  [][]float32
		labels  []int
		wantErr string
	}{
		{"empty", nil, nil, "no examples"},
		{"mismatch", [][]float32{row(1)}, []int{0, 1}, "1 feature rows for 2 labels"},
		{"ragged", [][]float32{row(1, 2), row(1)}, []int{0, 1}, "example 1 has 1 features, want 2"},
		{"bad label", [][]float32{row(1)}, []int{-1}, "label -1 of example 0"},
		{"NaN", [][]float32{row(float32(math.NaN()))}, []int{0}, "non-finite feature"},
		{"missing class", [][]float32{row(1), row(2), row(3)}, []int{0, 1, 3}, "no examples of class NILM"},
		{"too few", [][]float32{row(1), row(2), row(3), row(4)}, []int{0, 1, 2, 3}, "want more than 4"},
		{"constant", [][]float32{row(1), row(1), row(2), row(3), row(4)}, []int{0, 0, 1, 2, 3}, "do not vary"},
	}
	for _, tt := range tests {
		if _, _, err := FitOOD(tt.pooled, tt.labels); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestOODThreshold(t *testing.T) {
	scores := make([]float64, 100)
	for i := range scores {
		scores[100-1-i] = float64(i + 1) // 100 … 1, unsorted on purpose
	}
	tests := []struct {
		q, want float64
	}{
		{0.99, 99.01},
		{1, 100},
		{0.5, 50.5},
	}
	for _, tt := range tests {
		got, err := OODThreshold(scores, tt.q)
		if err != nil || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("OODThreshold(q=%g) = %v, %v; want %v", tt.q, got, err, tt.want)
		}
	}
	if scores[0] != 100 {
		t.Error("OODThreshold sorted its argument")
	}
	for _, bad := range []struct {
		scores []float64
		q      float64
	}{{nil, 0.9}, {scores, 0}, {scores, 1.5}, {[]float64{math.NaN()}, 0.5}, {[]float64{-1}, 0.5}, {[]float64{0, 0}, 0.5}} {
		if _, err := OODThreshold(bad.scores, bad.q); err == nil {
			t.Errorf("OODThreshold(%v, %g) succeeded", bad.scores, bad.q)
		}
	}
}

func TestAttachWithoutStatistics(t *testing.T) {
	w, err := nn.InitWeights(nn.DefaultMetadata(nn.Dims{Height: 40, Width: 30}), 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Attach(w, 2, nil, nil, 0)
	if err != nil || got.HasOOD() || got.Meta().Temperature != 2 {
		t.Fatalf("Attach temperature only: %v, has OOD %v", err, got != nil && got.HasOOD())
	}
	if _, err := Attach(w, 2, make([]float64, 3), nil, 1); err == nil || !strings.Contains(err.Error(), "calibrate: weights:") {
		t.Errorf("Attach with bad statistics: error %v", err)
	}
}

// outputs returns n labelled outputs: logits calibrated at temperature trueT
// and pooled features around one mean per class.
func outputs(n int, trueT float64, seed uint64) Outputs {
	logits, labels := calibratedSet(n, trueT, seed)
	rng := rand.New(rand.NewPCG(seed, 12))
	pooled := make([][]float32, n)
	for i := range pooled {
		pooled[i] = make([]float32, nn.OODDim)
		for k := range pooled[i] {
			pooled[i][k] = float32(rng.NormFloat64())
		}
		pooled[i][labels[i]] += 4
	}
	return Outputs{Labels: labels, Logits: logits, Pooled: pooled}
}

func TestFit(t *testing.T) {
	w, err := nn.InitWeights(nn.DefaultMetadata(nn.Dims{Height: 40, Width: 30}), 1)
	if err != nil {
		t.Fatal(err)
	}
	train, val := outputs(600, 2, 1), outputs(2000, 2, 2)
	for _, tc := range []struct {
		name     string
		val      Outputs
		from     string
		tempNear float64 // the temperature the weights must carry, within 10 %
	}{
		{"with validation", val, "validation", 2},
		{"without validation", Outputs{}, "training", 1},
	} {
		got, fitted, err := Fit(w, tc.val, train, 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if math.Abs(got.Meta().Temperature-tc.tempNear) > 0.1*tc.tempNear || fitted.Temperature != got.Meta().Temperature {
			t.Errorf("%s: temperature %g (record %g), want about %g", tc.name, got.Meta().Temperature, fitted.Temperature, tc.tempNear)
		}
		if !got.HasOOD() || fitted.OODThresholdFrom != tc.from || fitted.OODFitImages != 600 || got.Meta().OODThreshold != fitted.OODThreshold {
			t.Errorf("%s: OOD %v, record %+v: want statistics from 600 training images, the threshold from %s", tc.name, got.HasOOD(), fitted, tc.from)
		}
		// The threshold is the 0.99 quantile of the scores it comes from.
		src := tc.val
		if len(src.Pooled) == 0 {
			src = train
		}
		means, precision, err := FitOOD(train.Pooled, train.Labels)
		if err != nil {
			t.Fatal(err)
		}
		above := 0
		for _, x := range src.Pooled {
			if Score(means, precision, x) > fitted.OODThreshold {
				above++
			}
		}
		if share := float64(above) / float64(len(src.Pooled)); share > 0.011 || share < 0.005 {
			t.Errorf("%s: %.3f of the %s images score above the threshold, want about 0.01", tc.name, share, tc.from)
		}
	}
	if _, _, err := Fit(w, val, Outputs{}, 0); err == nil || !strings.Contains(err.Error(), "no training images") {
		t.Errorf("Fit without training outputs: error %v", err)
	}
}
