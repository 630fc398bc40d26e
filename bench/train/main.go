// Command train is the training benchmark (make bench-train): one Adam step of
// papscope's network, from the same initial weights on the same batch, in
// papscope's trainer and in the PyTorch reference (bench/torch/step.py),
// with the same number of threads, at several input sizes. Before timing it
// checks that both compute the same thing: the loss and every parameter's
// gradient of the first step must agree within -tol relative, computed in
// float64 on both sides (float32 rounding alone moves this network's
// gradients by about 1e-3 relative, in PyTorch as in papscope), and
// papscope's float32 gradients must be as close to that reference as
// PyTorch's float32 ones. It prints one JSON line, then a table.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"papscope/internal/kernel"
	"papscope/nn"
	"papscope/safetensors"
	"papscope/train"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-train:", err)
		os.Exit(1)
	}
}

// sizeResult is one input size's line of the report.
type sizeResult struct {
	Input            int                `json:"input"`
	GoImagesPerS     float64            `json:"go_images_per_s"`
	TorchImagesPerS  float64            `json:"torch_images_per_s"`
	Ratio            float64            `json:"ratio"` // papscope ÷ PyTorch
	LossGo           float64            `json:"loss_go"`
	LossTorch        float64            `json:"loss_torch"`
	MaxGradRelDiff   float64            `json:"max_grad_rel_diff"` // float64 on both sides: max over tensors of max|go−torch| / max|torch|
	WorstTensor      string             `json:"worst_tensor"`
	Float32ErrGo     float64            `json:"float32_grad_err_go"`    // papscope's float32 gradients against the float64 reference, same measure
	Float32ErrTorch  float64            `json:"float32_grad_err_torch"` // PyTorch's float32 gradients against the float64 reference
	OpShare          map[string]float64 `json:"op_share"`               // share of a papscope step by op kind; "other" is gorgonia's own ops and Adam
	GoPeakRSSMB      float64            `json:"go_peak_rss_mb"`
	TorchSecondsStep float64            `json:"torch_seconds_per_step"`
	GoSecondsStep    float64            `json:"go_seconds_per_step"`
}

// report is the JSON line.
type report struct {
	Batch   int          `json:"batch"`
	Threads int          `json:"threads"`
	Steps   int          `json:"steps"`
	Torch   string       `json:"torch"`
	CPU     string       `json:"cpu"`
	Sizes   []sizeResult `json:"sizes"`
}

// float32Slack is how much further from the float64 reference papscope's
// float32 gradients may be than PyTorch's: both round differently (summation
// order, fused multiply-adds), so neither is exactly the other's.
const float32Slack = 3.0

func run() error {
	sizes := flag.String("sizes", "96,128,224", "square input sizes, comma-separated")
	batch := flag.Int("batch", 32, "images per step")
	threads := flag.Int("threads", runtime.GOMAXPROCS(0), "threads for both sides (GOMAXPROCS and torch.set_num_threads)")
	steps := flag.Int("steps", 5, "timed steps per side and size (after warm-up); the median is reported")
	python := flag.String("python", "/usr/bin/python3", "Python with PyTorch")
	script := flag.String("script", "bench/torch/step.py", "the PyTorch side")
	tol := flag.Float64("tol", 1e-4, "largest relative gradient difference accepted")
	flag.Parse()
	runtime.GOMAXPROCS(*threads)
	dir, err := os.MkdirTemp("", "bench-train")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rep := report{Batch: *batch, Threads: *threads, Steps: *steps, CPU: cpuName()}
	for _, s := range strings.Split(*sizes, ",") {
		size, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-sizes: %q is not a number", s)
		}
		r, torchVersion, err := benchSize(dir, size, *batch, *threads, *steps, *python, *script)
		if err != nil {
			return fmt.Errorf("%d px: %w", size, err)
		}
		rep.Torch = torchVersion
		rep.Sizes = append(rep.Sizes, r)
		if r.MaxGradRelDiff > *tol || math.Abs(r.LossGo-r.LossTorch) > *tol*math.Max(1, math.Abs(r.LossTorch)) {
			return fmt.Errorf("%d px: papscope and PyTorch disagree in float64 (loss %.10g vs %.10g; gradient of %s differs by %.3g relative, want ≤ %g): a benchmark of two different computations is worthless",
				size, r.LossGo, r.LossTorch, r.WorstTensor, r.MaxGradRelDiff, *tol)
		}
		if r.Float32ErrGo > float32Slack*r.Float32ErrTorch {
			return fmt.Errorf("%d px: papscope's float32 gradients are %.3g (relative) from the float64 reference, PyTorch's %.3g: want at most %g× PyTorch's",
				size, r.Float32ErrGo, r.Float32ErrTorch, float32Slack)
		}
	}
	line, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	printTable(rep)
	return nil
}

// benchSize checks and times one input size.
func benchSize(dir string, size, batch, threads, steps int, python, script string) (sizeResult, string, error) {
	in := nn.Dims{Height: size, Width: size}
	r := sizeResult{Input: size}
	w, err := nn.InitWeights(nn.DefaultMetadata(in), 1)
	if err != nil {
		return r, "", err
	}
	images, labels := randomBatch(batch, in)
	classWeights := []float64{1, 1.5, 0.8, 2} // not all alike, so the weighting is checked too
	weightsPath, batchPath := filepath.Join(dir, "init.safetensors"), filepath.Join(dir, "batch.safetensors")
	gradsPath, grads64Path := filepath.Join(dir, "grads.safetensors"), filepath.Join(dir, "grads64.safetensors")
	var buf bytes.Buffer
	if err := w.Encode(&buf); err != nil {
		return r, "", err
	}
	if err := os.WriteFile(weightsPath, buf.Bytes(), 0o644); err != nil {
		return r, "", err
	}
	if err := writeBatch(batchPath, images, labels, classWeights, batch, in); err != nil {
		return r, "", err
	}

	// PyTorch first: its gradients of the first step, then its timing.
	cmd := exec.Command(python, script, "--weights", weightsPath, "--batch", batchPath,
		"--threads", strconv.Itoa(threads), "--steps", strconv.Itoa(steps), "--grads", gradsPath, "--grads64", grads64Path)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return r, "", fmt.Errorf("%s %s: %w (is PyTorch installed? make bench-train installs Debian's python3-torch as root)", python, script, err)
	}
	var torchOut struct {
		ImagesPerS     float64 `json:"images_per_s"`
		SecondsPerStep float64 `json:"seconds_per_step"`
		Torch          string  `json:"torch"`
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &torchOut); err != nil {
		return r, "", fmt.Errorf("%s printed %q, want a JSON line: %w", script, lines[len(lines)-1], err)
	}
	r.TorchImagesPerS, r.TorchSecondsStep = torchOut.ImagesPerS, torchOut.SecondsPerStep
	_, torch32, err := readGrads(gradsPath)
	if err != nil {
		return r, "", err
	}
	torchLoss, torch64, err := readGrads(grads64Path)
	if err != nil {
		return r, "", err
	}
	r.LossTorch = torchLoss

	net, err := train.New(w)
	if err != nil {
		return r, "", err
	}
	cfg := train.Config{Batch: batch, Input: in, ClassWeights: classWeights}
	loss64, go64, err := train.ReferenceGradients(net, cfg, images, labels)
	if err != nil {
		return r, "", err
	}
	r.LossGo = loss64
	// The peak RSS is the float32 trainer's own: the float64 reference's
	// memory is returned first (two collections: gorgonia keeps nodes in a
	// sync.Pool, which one collection only moves to its victim cache).
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	tr, err := train.NewTrainer(net, cfg)
	if err != nil {
		return r, "", err
	}
	_, go32, err := tr.Gradients(images, labels)
	if err != nil {
		return r, "", err
	}
	for _, p := range nn.Params() {
		if !p.Trainable {
			continue
		}
		ref, ok := torch64[p.Name]
		if !ok || torch32[p.Name] == nil {
			return r, "", fmt.Errorf("the PyTorch side wrote no gradient for %s", p.Name)
		}
		if d := relDiff(go64[p.Name], ref); d > r.MaxGradRelDiff || r.WorstTensor == "" {
			r.MaxGradRelDiff, r.WorstTensor = d, p.Name
		}
		r.Float32ErrGo = math.Max(r.Float32ErrGo, relDiff(kernel.Convert[float64](go32[p.Name]), ref))
		r.Float32ErrTorch = math.Max(r.Float32ErrTorch, relDiff(torch32[p.Name], ref))
	}

	// Time papscope: one warm-up step, then steps.
	if _, err := tr.Step(images, labels); err != nil {
		return r, "", err
	}
	tr.OpTimes()
	times := make([]float64, steps)
	var total time.Duration
	for i := range times {
		t0 := time.Now()
		if _, err := tr.Step(images, labels); err != nil {
			return r, "", err
		}
		d := time.Since(t0)
		total += d
		times[i] = d.Seconds()
	}
	r.GoSecondsStep = median(times)
	r.GoImagesPerS = float64(batch) / r.GoSecondsStep
	r.Ratio = r.GoImagesPerS / r.TorchImagesPerS
	r.OpShare = map[string]float64{}
	rest := total
	for name, d := range tr.OpTimes() {
		r.OpShare[name] = d.Seconds() / total.Seconds()
		rest -= d
	}
	r.OpShare["other"] = rest.Seconds() / total.Seconds()
	r.GoPeakRSSMB = peakRSSMB()
	return r, torchOut.Torch, nil
}

// randomBatch is a seeded batch of images in [0, 1] and labels cycling through the classes.
func randomBatch(batch int, in nn.Dims) ([]float32, []int) {
	rng := rand.New(rand.NewPCG(42, uint64(in.Height)))
	images := make([]float32, batch*in.Height*in.Width*3)
	for i := range images {
		images[i] = rng.Float32()
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = i % nn.NumClasses
	}
	return images, labels
}

// writeBatch writes the batch in the layout step.py reads.
func writeBatch(path string, images []float32, labels []int, classWeights []float64, batch int, in nn.Dims) error {
	lf := make([]float32, len(labels))
	for i, l := range labels {
		lf[i] = float32(l)
	}
	cw := make([]float32, len(classWeights))
	for i, v := range classWeights {
		cw[i] = float32(v)
	}
	f := &safetensors.File{}
	for _, t := range []struct {
		name  string
		shape []int
		data  []float32
	}{{"images", []int{batch, in.Height, in.Width, 3}, images}, {"labels", []int{batch}, lf}, {"class_weights", []int{len(cw)}, cw}} {
		st, err := safetensors.F32(t.name, t.shape, t.data)
		if err != nil {
			return err
		}
		f.Tensors = append(f.Tensors, st)
	}
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, f); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// readGrads reads the PyTorch side's loss and gradients (F32 or F64), as float64s.
func readGrads(path string) (float64, map[string][]float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	f, err := safetensors.Decode(data, safetensors.Limits{})
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	loss, err := strconv.ParseFloat(f.Metadata["loss"], 64)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: metadata loss: %w", path, err)
	}
	grads := map[string][]float64{}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if t.DType == "F64" {
			grads[t.Name], err = t.Float64s()
		} else {
			var v []float32
			v, err = t.Float32s()
			grads[t.Name] = kernel.Convert[float64](v)
		}
		if err != nil {
			return 0, nil, err
		}
	}
	return loss, grads, nil
}

// relDiff is max|a−b| / max|b| (0 when both are all zero).
func relDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var diff, scale float64
	for i := range a {
		diff = math.Max(diff, math.Abs(a[i]-b[i]))
		scale = math.Max(scale, math.Abs(b[i]))
	}
	if scale == 0 {
		if diff == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return diff / scale
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// resetPeakRSS starts the peak resident memory (VmHWM) afresh from the
// current resident memory (Linux's clear_refs 5); elsewhere it does nothing.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSMB is this process's peak resident memory (VmHWM), in MB; 0 where /proc does not say.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// cpuName is the CPU's model name from /proc/cpuinfo, or GOARCH.
func cpuName() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
			}
		}
	}
	return runtime.GOARCH
}

// printTable prints the report for people.
func printTable(r report) {
	fmt.Printf("\none Adam step, batch %d, %d threads each, median of %d (%s; PyTorch %s)\n\n", r.Batch, r.Threads, r.Steps, r.CPU, r.Torch)
	fmt.Println("| input | papscope images/s | PyTorch images/s | ratio | loss, float64 (papscope / PyTorch) | max gradient difference, float64 | float32 gradient error (papscope / PyTorch) | papscope peak RSS |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, s := range r.Sizes {
		fmt.Printf("| %d×%d | %.1f | %.1f | %.2f× | %.9f / %.9f | %.1e (%s) | %.1e / %.1e | %.0f MB |\n", s.Input, s.Input, s.GoImagesPerS, s.TorchImagesPerS, s.Ratio,
			s.LossGo, s.LossTorch, s.MaxGradRelDiff, s.WorstTensor, s.Float32ErrGo, s.Float32ErrTorch, s.GoPeakRSSMB)
	}
	for _, s := range r.Sizes {
		names := make([]string, 0, len(s.OpShare))
		for n := range s.OpShare {
			names = append(names, n)
		}
		slices.SortFunc(names, func(a, b string) int { return -cmpFloat(s.OpShare[a], s.OpShare[b]) })
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = fmt.Sprintf("%s %.1f%%", n, 100*s.OpShare[n])
		}
		fmt.Printf("\n%d px, papscope step by op kind: %s\n", s.Input, strings.Join(parts, ", "))
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
