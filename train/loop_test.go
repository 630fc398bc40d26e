package train

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"papscope/nn"
)

// tinyDataset writes perClass 24×24 PNGs per class whose class is an obvious
// pattern (a colour per class, a checkerboard for the last) and returns them.
func tinyDataset(t testing.TB, perClass int) []Example {
	t.Helper()
	dir := t.TempDir()
	colours := []color.NRGBA{{200, 40, 40, 255}, {40, 180, 60, 255}, {40, 60, 200, 255}}
	var out []Example
	for c := range nn.NumClasses {
		for i := range perClass {
			img := image.NewNRGBA(image.Rect(0, 0, 24, 24))
			for y := range 24 {
				for x := range 24 {
					var px color.NRGBA
					if c < 3 {
						px = colours[c]
						px.G += uint8((x + y + i) % 7 * 3)
					} else if (x/4+y/4)%2 == 0 {
						px = color.NRGBA{250, 250, 250, 255}
					} else {
						px = color.NRGBA{10, 10, 10, 255}
					}
					img.SetNRGBA(x, y, px)
				}
			}
			path := filepath.Join(dir, fmt.Sprintf("%d_%d.png", c, i))
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			f.Close()
			out = append(out, Example{Path: path, Class: c})
		}
	}
	return out
}

func tinyConfig(t *testing.T, examples []Example, epochs int) FitConfig {
	return FitConfig{
		Train: examples, Val: examples, Input: nn.Dims{Height: 16, Width: 16},
		Batch: 4, Epochs: epochs, LearnRate: 1e-3, Seed: 1, Augment: DefaultAugment,
		Checkpoint: filepath.Join(t.TempDir(), "ckpt.safetensors"),
	}
}

func TestFitLowersLoss(t *testing.T) {
	cfg := tinyConfig(t, tinyDataset(t, 6), 3)
	var steps, epochs int
	cfg.Progress = func(p Progress) {
		if p.Done != nil {
			epochs++
			return
		}
		steps++
		if p.Batches != 6 || p.Epochs != 3 || p.ImagesPerSecond <= 0 || p.Accuracy < 0 || p.Accuracy > 1 {
			t.Errorf("progress %+v", p)
		}
	}
	res, err := Fit(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if steps != 18 || epochs != 3 || len(res.History) != 3 {
		t.Fatalf("%d steps, %d epochs reported, history %d", steps, epochs, len(res.History))
	}
	h := res.History
	t.Logf("history %+v", h)
	if !(h[2].Loss < h[0].Loss) {
		t.Errorf("training loss %.4f → %.4f, want lower", h[0].Loss, h[2].Loss)
	}
	if res.Best == nil || res.Last == nil || res.BestEpoch < 1 || res.Best.Meta().Input != cfg.Input {
		t.Fatalf("result %+v", res)
	}
	c, err := ReadCheckpoint(cfg.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Epoch != 3 || len(c.State.History) != 3 || c.Best == nil || c.State.BestEpoch != res.BestEpoch {
		t.Errorf("checkpoint state %+v", c.State)
	}
}

func TestFitResume(t *testing.T) {
	cfg := tinyConfig(t, tinyDataset(t, 3), 2)
	if _, err := Fit(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	c, err := ReadCheckpoint(cfg.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resume, cfg.Epochs = c, 4
	var first int
	cfg.Progress = func(p Progress) {
		if first == 0 {
			first = p.Epoch
		}
	}
	res, err := Fit(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if first != 3 || len(res.History) != 4 || res.History[2].Epoch != 3 || res.History[3].Epoch != 4 {
		t.Errorf("resumed at epoch %d, history %+v", first, res.History)
	}
	// A different seed or input size is refused.
	bad := cfg
	bad.Seed = 2
	if _, err := Fit(context.Background(), bad); err == nil {
		t.Error("resume with another seed: no error")
	}
	bad = cfg
	bad.Train = bad.Train[1:]
	if _, err := Fit(context.Background(), bad); err == nil {
		t.Error("resume with another training set: no error")
	}
}

func TestFitInterrupt(t *testing.T) {
	cfg := tinyConfig(t, tinyDataset(t, 3), 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.Progress = func(p Progress) {
		if p.Epoch == 1 && p.Batch == 2 {
			cancel()
		}
	}
	_, err := Fit(ctx, cfg)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error %v, want ErrInterrupted", err)
	}
	c, err := ReadCheckpoint(cfg.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Epoch != 0 || c.State.NextBatch != 2 || c.State.PartSeen != 8 {
		t.Fatalf("checkpoint state %+v, want epoch 0, next batch 2", c.State)
	}
	cfg.Resume = c
	var steps int
	cfg.Progress = func(p Progress) {
		if p.Done == nil {
			steps++
			if steps == 1 && (p.Epoch != 1 || p.Batch != 3) {
				t.Errorf("resumed at epoch %d batch %d, want 1, 3", p.Epoch, p.Batch)
			}
		}
	}
	res, err := Fit(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if steps != 1+3 || len(res.History) != 2 {
		t.Errorf("%d steps after resuming, history %d", steps, len(res.History))
	}
}

func TestEarlyStopping(t *testing.T) {
	cfg := tinyConfig(t, tinyDataset(t, 2), 20)
	cfg.Patience = 1
	cfg.LearnRate = 1e-9 // nothing improves
	res, err := Fit(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "early stopping" || len(res.History) >= 20 {
		t.Errorf("stopped by %q after %d epochs", res.Stopped, len(res.History))
	}
}

func TestClassWeights(t *testing.T) {
	ex := []Example{{"a", 0}, {"b", 0}, {"c", 0}, {"d", 1}, {"e", 2}, {"f", 3}}
	w := classWeights(ex)
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	if math.Abs(sum/4-1) > 1e-12 || math.Abs(w[1]/w[0]-3) > 1e-12 || w[1] != w[3] {
		t.Errorf("weights %v", w)
	}
	for _, x := range classWeights([]Example{{"a", 0}, {"b", 1}, {"c", 2}, {"d", 3}}) {
		if x != 1 {
			t.Errorf("balanced classes: weight %v, want 1", x)
		}
	}
}

// TestCorrectReadsLogits checks that the logits read after a step are the
// ones the loss was computed from.
func TestCorrectReadsLogits(t *testing.T) {
	in := nn.Dims{Height: 16, Width: 16}
	w := testWeights(t, in, 3)
	net, err := New(w)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(net, Config{Batch: 4, Input: in})
	if err != nil {
		t.Fatal(err)
	}
	labels := []int{0, 1, 2, 3}
	loss, err := tr.Step(randImages(5, 4, in), labels)
	if err != nil {
		t.Fatal(err)
	}
	logits := tr.gr.logits.Value().Data().([]float32)
	ce := 0.0
	for i, c := range labels {
		row := logits[i*4 : i*4+4]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(float64(v) - mx)
		}
		ce += -(float64(row[c]) - mx - math.Log(s))
	}
	ce /= 4
	if math.Abs(ce-loss) > 1e-4 {
		t.Errorf("loss from the read logits %.6f, step's loss %.6f", ce, loss)
	}
	if n := correct(tr.gr, labels); n < 0 || n > 4 {
		t.Errorf("correct = %d", n)
	}
}

// BenchmarkFitEpoch measures a training epoch at 64×64, batch 16, on 128
// cached images (augmentation included, validation excluded).
func BenchmarkFitEpoch(b *testing.B) {
	ex := tinyDataset(b, 32)
	for b.Loop() {
		cfg := FitConfig{Train: ex, Input: nn.Dims{Height: 64, Width: 64}, Batch: 16, Epochs: 2, Seed: 1, Augment: DefaultAugment}
		res, err := Fit(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.History[1].ImagesPerSecond, "images/s")
	}
}

func TestFitInterruptWhileValidating(t *testing.T) {
	cfg := tinyConfig(t, tinyDataset(t, 2), 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.Progress = func(p Progress) {
		if p.Done == nil && p.Batch == p.Batches {
			cancel() // the last step of epoch 1: validation comes next
		}
	}
	_, err := Fit(ctx, cfg)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error %v, want ErrInterrupted", err)
	}
	c, err := ReadCheckpoint(cfg.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Epoch != 0 || c.State.NextBatch != 2 {
		t.Fatalf("checkpoint state %+v, want epoch 0 with both steps done", c.State)
	}
	cfg.Resume, cfg.Progress = c, nil
	res, err := Fit(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.History) != 2 || res.History[0].ValN != 8 {
		t.Errorf("history %+v", res.History)
	}
}

// TestFitUncached checks that decoding every batch anew trains exactly as
// the in-memory cache does, and that an unreadable file is named.
func TestFitUncached(t *testing.T) {
	ex := tinyDataset(t, 2)
	cached := tinyConfig(t, ex, 2)
	a, err := Fit(context.Background(), cached)
	if err != nil {
		t.Fatal(err)
	}
	uncached := tinyConfig(t, ex, 2)
	uncached.CacheBytes = -1
	b, err := Fit(context.Background(), uncached)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.History {
		if a.History[i].Loss != b.History[i].Loss || a.History[i].ValLoss != b.History[i].ValLoss {
			t.Errorf("epoch %d: cached %+v, uncached %+v", i+1, a.History[i], b.History[i])
		}
	}
	if err := os.WriteFile(ex[3].Path, []byte("broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cache := range []int64{0, -1} {
		cfg := tinyConfig(t, ex, 1)
		cfg.CacheBytes = cache
		if _, err := Fit(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), filepath.Base(ex[3].Path)) {
			t.Errorf("cache %d: error %v, want one naming %s", cache, err, ex[3].Path)
		}
	}
}

func TestKeepLast(t *testing.T) {
	cfg := tinyConfig(t, tinyDataset(t, 2), 3)
	cfg.Patience, cfg.KeepLast = 1, true
	cfg.LearnRate = 1e-9 // nothing improves: without KeepLast, early stopping ends the run after epoch 2
	res, err := Fit(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "epochs" || len(res.History) != 3 || res.BestEpoch != 3 || !res.History[2].Best {
		t.Fatalf("stopped by %q after %d epochs, kept epoch %d", res.Stopped, len(res.History), res.BestEpoch)
	}
	for _, p := range nn.Params() {
		if !slices.Equal(res.Best.Tensor(p.Name), res.Last.Tensor(p.Name)) {
			t.Fatalf("%s: the kept weights are not the last epoch's", p.Name)
		}
	}
}

// TestCosineSchedule checks the schedule reaches the steps: the same run
// under Constant and Cosine ends with different weights.
func TestCosineSchedule(t *testing.T) {
	ex := tinyDataset(t, 2)
	run := func(s Schedule, epochs int) *nn.Weights {
		cfg := tinyConfig(t, ex, epochs)
		cfg.Val, cfg.Schedule, cfg.LearnRate = nil, s, 1e-2
		cfg.Recalibrate = -1
		res, err := Fit(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return res.Last
	}
	differ := func(a, b *nn.Weights) bool {
		for _, p := range nn.Params() {
			if !slices.Equal(a.Tensor(p.Name), b.Tensor(p.Name)) {
				return true
			}
		}
		return false
	}
	if c, k := run(Constant, 2), run(Cosine, 2); !differ(c, k) {
		t.Error("Cosine trains exactly as Constant: the schedule does not reach the steps")
	}
}

// TestPatchTraining trains on 16×16 patches of 32×32 inputs: the steps see
// patches, the weights (and validation) the whole input.
func TestPatchTraining(t *testing.T) {
	cfg := tinyConfig(t, tinyDataset(t, 2), 1)
	cfg.Input, cfg.Patch = nn.Dims{Height: 32, Width: 32}, 16
	res, err := Fit(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Best.Meta().Input != cfg.Input || res.History[0].ValN == 0 {
		t.Errorf("weights for %v, validation of %d images: want the whole %v input", res.Best.Meta().Input, res.History[0].ValN, cfg.Input)
	}
	for _, bad := range []int{-1, 33} {
		cfg.Patch = bad
		if _, err := Fit(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "patch") {
			t.Errorf("patch %d: error %v", bad, err)
		}
	}
}

func TestPatch(t *testing.T) {
	in, out := nn.Dims{Height: 3, Width: 4}, nn.Dims{Height: 2, Width: 2}
	src := make([]float32, 3*4*3)
	for i := range src {
		src[i] = float32(i)
	}
	dst := make([]float32, 2*2*3)
	patch(dst, src, in, out, 1, 2)
	// Rows 1–2, columns 2–3: pixel (y, x) starts at (y*4+x)*3.
	want := []float32{18, 19, 20, 21, 22, 23, 30, 31, 32, 33, 34, 35}
	if !slices.Equal(dst, want) {
		t.Errorf("patch = %v, want %v", dst, want)
	}
}
