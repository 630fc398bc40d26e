package train

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"papscope/nn"
)

// testWeights returns seeded weights with batch normalization far from the
// identity, so a mistake in its inference form shows.
func testWeights(t testing.TB, in nn.Dims, seed uint64) *nn.Weights {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 42))
	u := func(lo, hi float64) float32 { return float32(lo + (hi-lo)*rng.Float64()) }
	tensors := map[string][]float32{}
	for _, p := range nn.Params() {
		v := make([]float32, p.Size())
		suffix := p.Name[strings.LastIndexByte(p.Name, '/')+1:]
		fanIn := p.Size() / p.Shape[len(p.Shape)-1]
		if suffix == "depthwise_kernel" {
			fanIn = 9
		}
		for i := range v {
			switch suffix {
			case "kernel", "depthwise_kernel", "pointwise_kernel":
				lim := math.Sqrt(3 / float64(fanIn))
				v[i] = u(-lim, lim)
			case "bias":
				v[i] = u(-0.1, 0.1)
			case "gamma":
				v[i] = u(0.5, 1.5)
			case "beta":
				v[i] = u(-0.3, 0.3)
			case "moving_mean":
				v[i] = u(-0.5, 0.5)
			case "moving_variance":
				v[i] = u(0.5, 2.5)
			}
		}
		tensors[p.Name] = v
	}
	w, err := nn.NewWeights(nn.DefaultMetadata(in), tensors)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func randImages(seed uint64, batch int, in nn.Dims) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, batch*in.Height*in.Width*3)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

// compareWithNN runs images through net's inference graph and through nn with
// w, and returns the largest differences of logits and probabilities.
func compareWithNN(t *testing.T, net *Net, w *nn.Weights, images []float32, batch int, in nn.Dims) (dLogit, dProb float64) {
	t.Helper()
	preds, err := net.Predict(images, batch, in)
	if err != nil {
		t.Fatal(err)
	}
	meta := w.Meta()
	meta.Input = in
	w2, err := nn.NewWeights(meta, tensorsOf(w))
	if err != nil {
		t.Fatal(err)
	}
	m, err := nn.NewModel(w2)
	if err != nil {
		t.Fatal(err)
	}
	size := in.Height * in.Width * 3
	for b := range batch {
		out, err := m.Forward(images[b*size : (b+1)*size])
		if err != nil {
			t.Fatal(err)
		}
		for c := range nn.NumClasses {
			dLogit = math.Max(dLogit, math.Abs(float64(out.Logits[c]-preds[b].Logits[c])))
			dProb = math.Max(dProb, math.Abs(float64(out.Probs[c]-preds[b].Probs[c])))
		}
	}
	return dLogit, dProb
}

func tensorsOf(w *nn.Weights) map[string][]float32 {
	m := map[string][]float32{}
	for _, p := range nn.Params() {
		m[p.Name] = w.Tensor(p.Name)
	}
	return m
}

func TestInferenceMatchesNN(t *testing.T) {
	cases := []struct {
		in    nn.Dims
		batch int
	}{
		{nn.Dims{Height: 15, Width: 15}, 3},
		{nn.Dims{Height: 23, Width: 19}, 2},
		{nn.Dims{Height: 7, Width: 9}, 2},
		{nn.Dims{Height: 48, Width: 64}, 1},
	}
	for i, c := range cases {
		w := testWeights(t, c.in, uint64(i))
		net, err := New(w)
		if err != nil {
			t.Fatal(err)
		}
		dl, dp := compareWithNN(t, net, w, randImages(uint64(i), c.batch, c.in), c.batch, c.in)
		t.Logf("%dx%d batch %d: max |Δlogit| %.2g, max |Δprob| %.2g", c.in.Width, c.in.Height, c.batch, dl, dp)
		if dl > 1e-5 || dp > 1e-5 {
			t.Errorf("%dx%d: graph and nn differ: logits by %g, probabilities by %g", c.in.Width, c.in.Height, dl, dp)
		}
	}
}

func TestInferenceMatchesNN299(t *testing.T) {
	in := nn.Dims{Height: 299, Width: 299}
	w := testWeights(t, in, 99)
	net, err := New(w)
	if err != nil {
		t.Fatal(err)
	}
	dl, dp := compareWithNN(t, net, w, randImages(99, 1, in), 1, in)
	t.Logf("299x299: max |Δlogit| %.2g, max |Δprob| %.2g", dl, dp)
	if dl > 1e-5 || dp > 1e-5 {
		t.Errorf("graph and nn differ: logits by %g, probabilities by %g", dl, dp)
	}
}

// brightnessBatch returns 8 images, class 0 bright on the left half and
// class 1 bright on the right, with noise.
func brightnessBatch(in nn.Dims) ([]float32, []int) {
	rng := rand.New(rand.NewPCG(5, 5))
	const batch = 8
	x := make([]float32, batch*in.Height*in.Width*3)
	labels := make([]int, batch)
	for b := range batch {
		labels[b] = b % 2
		for y := range in.Height {
			for xx := range in.Width {
				bright := (xx < in.Width/2) == (labels[b] == 0)
				for c := range 3 {
					v := 0.2 + 0.3*rng.Float32()
					if bright {
						v += 0.5
					}
					x[((b*in.Height+y)*in.Width+xx)*3+c] = v
				}
			}
		}
	}
	return x, labels
}

func TestTrainingLowersLoss(t *testing.T) {
	in := nn.Dims{Height: 23, Width: 23}
	w, err := nn.InitWeights(nn.DefaultMetadata(in), 1)
	if err != nil {
		t.Fatal(err)
	}
	net, err := New(w)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(net, Config{Batch: 8, Input: in, LearnRate: 1e-3, ClassWeights: []float64{1, 2, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	images, labels := brightnessBatch(in)
	var losses []float64
	for range 10 {
		loss, err := tr.Step(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, loss)
	}
	t.Logf("losses: %.4f", losses)
	if !(losses[len(losses)-1] < 0.5*losses[0]) {
		t.Errorf("loss went from %g to %g in 10 steps, want it at least halved", losses[0], losses[len(losses)-1])
	}

	trained, err := net.Weights()
	if err != nil {
		t.Fatal(err)
	}
	// Moving statistics follow the batches; trainable weights changed.
	for _, name := range []string{"batch_normalization/moving_mean", "batch_normalization_16/moving_variance", "conv2d/kernel", "dense_1/bias"} {
		before, after := w.Tensor(name), trained.Tensor(name)
		moved := 0.0
		for i := range before {
			moved = math.Max(moved, math.Abs(float64(after[i]-before[i])))
		}
		t.Logf("%s: moved by up to %.3g", name, moved)
		if moved == 0 {
			t.Errorf("%s did not change in training", name)
		}
	}

	// The exported weights survive safetensors and run in nn exactly as the
	// graph's inference mode runs them: the graphs share the trained values.
	var buf bytes.Buffer
	if err := trained.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := nn.DecodeWeights(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nn.NewModel(loaded); err != nil {
		t.Fatal(err)
	}
	dl, dp := compareWithNN(t, net, loaded, images, 8, in)
	t.Logf("after training: max |Δlogit| %.2g, max |Δprob| %.2g", dl, dp)
	if dl > 1e-5 || dp > 1e-5 {
		t.Errorf("after training, graph and nn differ: logits by %g, probabilities by %g", dl, dp)
	}
}

func TestRoundTrip(t *testing.T) {
	in := nn.Dims{Height: 15, Width: 15}
	w := testWeights(t, in, 3)
	net, err := New(w)
	if err != nil {
		t.Fatal(err)
	}
	got, err := net.Weights()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range nn.Params() {
		a, b := w.Tensor(p.Name), got.Tensor(p.Name)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s[%d]: %g after the round trip, want %g", p.Name, i, b[i], a[i])
			}
		}
	}
}

func TestErrors(t *testing.T) {
	in := nn.Dims{Height: 15, Width: 15}
	net, err := New(testWeights(t, in, 4))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil): no error")
	}
	if _, err := net.Predict(make([]float32, 10), 1, in); err == nil {
		t.Error("Predict with a short input: no error")
	}
	if _, err := net.Predict(make([]float32, 5*5*3), 1, nn.Dims{Height: 5, Width: 5}); err == nil {
		t.Error("Predict below the minimum input size: no error")
	}
	for _, cfg := range []Config{
		{Batch: 0, Input: in},
		{Batch: 2, Input: in, ClassWeights: []float64{1, 2}},
		{Batch: 2, Input: in, ClassWeights: []float64{1, -1, 1, 1}},
		{Batch: 2, Input: in, LearnRate: -1},
	} {
		if _, err := NewTrainer(net, cfg); err == nil {
			t.Errorf("NewTrainer(%+v): no error", cfg)
		}
	}
	tr, err := NewTrainer(net, Config{Batch: 2, Input: in})
	if err != nil {
		t.Fatal(err)
	}
	x := randImages(1, 2, in)
	if _, err := tr.Step(x, []int{0}); err == nil {
		t.Error("Step with too few labels: no error")
	}
	if _, err := tr.Step(x, []int{0, 4}); err == nil {
		t.Error("Step with a label out of range: no error")
	}
}

// TestNetworkGradient checks the training graph's gradient of the whole
// network's loss, computed in float64, against central differences for two
// elements of every trainable parameter, and the float32 graph's gradients
// against the float64 ones.
func TestNetworkGradient(t *testing.T) {
	in := nn.Dims{Height: 15, Width: 15}
	net, err := New(testWeights(t, in, 6))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Batch: 2, Input: in, ClassWeights: []float64{1, 3, 1, 1}}
	images, labels := randImages(8, 2, in), []int{1, 3}
	tr, err := newTrainer(net, cfg, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	gr := tr.gr
	base, err := tr.run(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	grads := map[string][]float64{}
	for _, nd := range gr.order {
		g, err := nd.Grad()
		if err != nil {
			t.Fatal(err)
		}
		grads[nd.Name()] = slices.Clone(g.Data().([]float64))
	}
	loss := func() float64 {
		t.Helper()
		l, err := tr.run(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	checked, skipped := 0, 0
	rng := rand.New(rand.NewPCG(1, 1))
	for _, nd := range gr.order {
		name := nd.Name()
		g := grads[name]
		v := nd.Value().Data().([]float64) // the float64 graph's own copy
		for range 2 {
			i := rng.IntN(len(v))
			const h = 1e-5
			orig := v[i]
			v[i] = orig + h
			up := loss()
			v[i] = orig - h
			down := loss()
			v[i] = orig
			// A ReLU or max-pool switching within ±h bends the loss: the
			// one-sided differences disagree and the central one is meaningless.
			fwd, bwd := (up-base)/h, (base-down)/h
			if math.Abs(fwd-bwd) > 1e-3*math.Max(1e-3, math.Max(math.Abs(fwd), math.Abs(bwd))) {
				t.Logf("%s[%d]: skipped, a kink within ±h (one-sided %.8g, %.8g)", name, i, fwd, bwd)
				skipped++
				continue
			}
			num := (up - down) / (2 * h)
			checked++
			if math.Abs(num-g[i]) > 1e-5*math.Max(1e-2, math.Abs(num)) {
				t.Errorf("%s[%d]: gradient %.10g, numeric %.10g", name, i, g[i], num)
			}
		}
	}
	if checked < 4*skipped {
		t.Errorf("only %d elements checked, %d skipped at kinks", checked, skipped)
	}

	// The float32 graph computes the same, up to float32 rounding.
	loss64, ref, err := ReferenceGradients(net, cfg, images, labels)
	if err != nil {
		t.Fatal(err)
	}
	if loss64 != base {
		t.Errorf("ReferenceGradients' loss %v, the float64 trainer's %v", loss64, base)
	}
	tr32, err := NewTrainer(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	loss32, g32, err := tr32.Gradients(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(loss32-loss64) > 1e-5*math.Abs(loss64) {
		t.Errorf("float32 loss %v, float64 %v", loss32, loss64)
	}
	for name, want := range ref {
		scale, diff := 0.0, 0.0
		for i, w := range want {
			scale = math.Max(scale, math.Abs(w))
			diff = math.Max(diff, math.Abs(float64(g32[name][i])-w))
		}
		if diff > 1e-2*scale+1e-7 {
			t.Errorf("%s: float32 gradient differs from float64 by %.3g (largest |gradient| %.3g)", name, diff, scale)
		}
	}
}

// TestMovingStatistics checks one step's update of the first batch
// normalization's moving statistics against batch statistics computed here
// directly: conv1 (3×3 stride 2 valid) + bias + ReLU, then per-channel mean
// and biased variance over N·H·W. With a warm start the first update
// replaces the moving statistics by the batch's.
func TestMovingStatistics(t *testing.T) {
	for _, warm := range []bool{false, true} {
		t.Run(fmt.Sprintf("warm=%v", warm), func(t *testing.T) { testMovingStatistics(t, warm) })
	}
}

func testMovingStatistics(t *testing.T, warm bool) {
	in := nn.Dims{Height: 15, Width: 13}
	w := testWeights(t, in, 12)
	net, err := New(w)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 3
	tr, err := NewTrainer(net, Config{Batch: batch, Input: in, WarmStartMoving: warm})
	if err != nil {
		t.Fatal(err)
	}
	images := randImages(12, batch, in)
	if _, err := tr.Step(images, []int{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	kernel, bias := w.Tensor("conv2d/kernel"), w.Tensor("conv2d/bias") // before the update
	oh, ow := (in.Height-3)/2+1, (in.Width-3)/2+1
	var sum, sumSq [64]float64
	for b := range batch {
		for oy := range oh {
			for ox := range ow {
				for f := range 64 {
					z := float64(bias[f])
					for ky := range 3 {
						for kx := range 3 {
							for c := range 3 {
								px := images[((b*in.Height+2*oy+ky)*in.Width+2*ox+kx)*3+c]
								z += float64(px) * float64(kernel[((ky*3+kx)*3+c)*64+f])
							}
						}
					}
					z = max(z, 0)
					sum[f] += z
					sumSq[f] += z * z
				}
			}
		}
	}
	got, err := net.Weights()
	if err != nil {
		t.Fatal(err)
	}
	n := float64(batch * oh * ow)
	oldMean, oldVar := w.Tensor("batch_normalization/moving_mean"), w.Tensor("batch_normalization/moving_variance")
	newMean, newVar := got.Tensor("batch_normalization/moving_mean"), got.Tensor("batch_normalization/moving_variance")
	for f := range 64 {
		mean := sum[f] / n
		variance := sumSq[f]/n - mean*mean
		momentum := Momentum
		if warm {
			momentum = 0
		}
		wantMean := float64(oldMean[f])*momentum + mean*(1-momentum)
		wantVar := float64(oldVar[f])*momentum + variance*(1-momentum)
		if math.Abs(float64(newMean[f])-wantMean) > 1e-6 || math.Abs(float64(newVar[f])-wantVar) > 1e-6 {
			t.Fatalf("channel %d: moving mean, variance %g, %g; want %g, %g", f, newMean[f], newVar[f], wantMean, wantVar)
		}
	}
}

// TestNewDropsCalibration checks that weights carrying a temperature and OOD
// statistics train on and export without them (they are stale after training).
func TestNewDropsCalibration(t *testing.T) {
	w, err := nn.InitWeights(nn.DefaultMetadata(nn.Dims{Height: 15, Width: 15}), 3)
	if err != nil {
		t.Fatal(err)
	}
	means := make([]float32, nn.NumClasses*256)
	precision := make([]float32, 256*256)
	for i := range 256 {
		precision[i*256+i] = 1
	}
	calibrated, err := w.WithTrust(2, means, precision, 5)
	if err != nil {
		t.Fatal(err)
	}
	net, err := New(calibrated)
	if err != nil {
		t.Fatal(err)
	}
	out, err := net.Weights()
	if err != nil {
		t.Fatalf("export of a net made from calibrated weights: %v", err)
	}
	if out.Meta().Temperature != 0 || out.Meta().OODThreshold != 0 || out.HasOOD() {
		t.Errorf("exported weights keep stale calibration: T=%g threshold=%g ood=%v", out.Meta().Temperature, out.Meta().OODThreshold, out.HasOOD())
	}
}
