package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"papscope/nn"
	"papscope/torchimport/torchtest"
)

// python returns the interpreter with PyTorch (see torchtest.Python).
func python(t *testing.T) string { return torchtest.Python(t, "../..") }

// runPython runs Python in the repository's root with the twin on its path
// (see torchtest.Run) and returns its output.
func runPython(t *testing.T, args ...string) string { return torchtest.Run(t, "../..", args...) }

// synthWithSlides writes a small synthetic dataset with a manifest.csv that
// gives each class three slides of two images.
func synthWithSlides(t *testing.T, dir string) {
	t.Helper()
	if _, stderr, st := runCLI(t, "synth", "-n", "6", "-seed", "3", "-o", dir, "-size", "96x96"); st != 0 {
		t.Fatalf("synth: status %d: %s", st, stderr)
	}
	var b strings.Builder
	b.WriteString("file,class,slide\n")
	for _, c := range nn.ClassNames() {
		for i := range 6 {
			fmt.Fprintf(&b, "%s/%s_%04d.png,%s,%s_%d\n", c, c, i, c, strings.ToLower(c), i/2)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTorchrunWeightsImportAndClassify trains the PyTorch twin with two
// processes under torchrun (gloo, CPU) for a few steps, resumes it from its
// checkpoint for one more epoch, imports the state_dict with `papscope import
// -format torch`, and classifies with it: the weights must equal train.py's
// own papscope export and carry its JPEG treatment and centre crop (train.py's
// defaults, papscope train's), and papscope classify, applying that crop,
// must agree with the twin on the same image files (each through its own
// preprocessing) within 1e-4.
func TestTorchrunWeightsImportAndClassify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, run := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	synthWithSlides(t, data)
	// train.py's default crop (0.5, papscope train's): papscope classify crops as the weights say (nn.Model),
	// and the twin crops as nn.CropRect does (torchimport's TestCropBoxMatchesNN).
	args := []string{"torch/train.py", "--data", data, "--out", run,
		"--size", "64", "--batch", "4", "--steps-per-epoch", "2", "--workers", "0", "--recalibrate", "8"}
	log := runPython(t, append(torchrun(t), append(args, "--epochs", "2")...)...)
	t.Logf("torchrun, 2 processes, 2 epochs:\n%s", log)
	for _, want := range []string{"over 2 processes (gloo, cpu, AMP off)", "grouped by slide from", "epoch 2/2 step 2/2", "held-out test split", "wrote"} {
		if !strings.Contains(log, want) {
			t.Errorf("the training log does not say %q", want)
		}
	}
	log = runPython(t, append(torchrun(t), append(args, "--epochs", "3", "--resume")...)...)
	t.Logf("torchrun, resumed for a third epoch:\n%s", log)
	if !strings.Contains(log, "resumed from") || !strings.Contains(log, "epoch 3/3 step 2/2") || strings.Contains(log, "epoch 1/3") {
		t.Errorf("the resumed run should continue at epoch 3 from the checkpoint")
	}

	imported := filepath.Join(dir, "imported.safetensors")
	stdout, stderr, st := runCLI(t, "import", "-format", "torch", "-o", imported, filepath.Join(run, "model.safetensors"))
	if st != 0 {
		t.Fatalf("papscope import -format torch: status %d: %s", st, stderr)
	}
	if !strings.Contains(stdout, "input 64x64") {
		t.Errorf("import should take the input size from the state_dict's metadata: %s", stdout)
	}
	got, want := loadWeightsT(t, imported), loadWeightsT(t, filepath.Join(run, "papscope.safetensors"))
	for _, p := range nn.Params() {
		if !slices.Equal(got.Tensor(p.Name), want.Tensor(p.Name)) {
			t.Errorf("%s: the imported state_dict differs from train.py's papscope weights", p.Name)
		}
	}
	for _, key := range []string{"training_history", "split", "shortcut_treatment"} {
		if got.Meta().Extra[key] == "" {
			t.Errorf("imported weights lack the %q metadata train.py writes", key)
		}
	}
	// train.py re-encodes every image at papscope train's JPEG quality and keeps its centre half by default,
	// and records both alike.
	const crop = 0.5
	if got.Meta().Crop != crop || want.Meta().Crop != crop || got.Meta().Preprocessing != nn.PreprocessingWithCrop(crop) || got.Meta().Extra["jpeg_quality"] != "75" {
		t.Errorf("imported metadata: crop %g (train.py's papscope weights: %g), preprocessing %q, jpeg_quality %q; want crop %g and JPEG quality 75",
			got.Meta().Crop, want.Meta().Crop, got.Meta().Preprocessing, got.Meta().Extra["jpeg_quality"], crop)
	}
	if got.Meta().Metrics == "" || !strings.Contains(got.Meta().Source, "DistributedDataParallel over 2 processes") {
		t.Errorf("imported metadata: metrics %q, source %q", got.Meta().Metrics, got.Meta().Source)
	}

	files := []string{filepath.Join(data, "HSIL", "HSIL_0001.png"), filepath.Join(data, "NILM", "NILM_0004.png"), filepath.Join(data, "SCC", "SCC_0002.png")}
	stdout, stderr, st = runCLI(t, append([]string{"classify", "-json", "-weights", imported}, files...)...)
	if st != 0 {
		t.Fatalf("papscope classify: status %d: %s", st, stderr)
	}
	var goProbs [][]float64
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var r struct {
			Probs []float64 `json:"probs"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("classify -json line %q: %v", sc.Text(), err)
		}
		goProbs = append(goProbs, r.Probs)
	}
	// The twin reads the images as papscope does at inference: no re-encoding, the weights' crop if any.
	script := `import json, sys, torch
from papscope_torch import safetensors_io, data, model
sd, md = safetensors_io.load(sys.argv[1])
m = model.PapscopeNet(); m.load_state_dict(sd); m.eval()
crop = float(md.get("crop", 0))
with torch.no_grad():
    print(json.dumps([torch.softmax(m(data.load_image(f, (64, 64), crop=crop)[None]).double(), 1)[0].tolist() for f in sys.argv[2:]]))`
	var twin [][]float64
	out := runPython(t, append([]string{"-c", script, filepath.Join(run, "model.safetensors")}, files...)...)
	if err := json.Unmarshal([]byte(out), &twin); err != nil {
		t.Fatalf("twin's probabilities %q: %v", out, err)
	}
	if len(goProbs) != len(files) || len(twin) != len(files) {
		t.Fatalf("%d classify lines and %d twin rows for %d files", len(goProbs), len(twin), len(files))
	}
	var worst float64
	for i := range files {
		for c := range nn.NumClasses {
			d := math.Abs(goProbs[i][c] - twin[i][c])
			worst = math.Max(worst, d)
			if d > 1e-4 {
				t.Errorf("%s: prob[%s] papscope classify %.7f, twin %.7f", filepath.Base(files[i]), nn.ClassNames()[c], goProbs[i][c], twin[i][c])
			}
		}
	}
	t.Logf("papscope classify vs the twin on %d image files (each with its own preprocessing, 96x96, centre 48x48 → 64x64): max |Δprob| %.3g", len(files), worst)
}

// torchrun returns the launcher's arguments for two processes on this
// machine. It is --standalone but for the rendezvous port: --standalone always
// uses localhost:29400, so two runs at once (another test binary, another
// checkout) share one rendezvous store, and a run whose store is held by the
// other fails when that one ends.
func torchrun(t *testing.T) []string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return []string{"torch/torchrun.py", "--nnodes=1", "--nproc_per_node=2", "--rdzv_backend=c10d",
		fmt.Sprintf("--rdzv_endpoint=localhost:%d", port), fmt.Sprintf("--rdzv_id=papscope-test-%d", port)}
}

func loadWeightsT(t *testing.T, path string) *nn.Weights {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := nn.DecodeWeights(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return w
}

// TestImportTorchRefusesOtherArchitecture saves the state_dict of a PyTorch
// model that differs from papscope's in one layer and checks that import
// refuses it, naming that layer, and leaves the output file alone.
func TestImportTorchRefusesOtherArchitecture(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name, change string
		want         []string
	}{
		{"dense 128", "m.fc1 = torch.nn.Linear(256, 128); m.fc2 = torch.nn.Linear(128, 4)", []string{"fc1", "dense", "[128 256]"}},
		{"5 classes", "m.fc2 = torch.nn.Linear(256, 5)", []string{"fc2", "dense_1", "[5 256]"}},
		{"no residual block 7", "m.blocks = m.blocks[:7]", []string{"blocks.7.sep_a", "separable_conv2d_15", "missing from the state_dict"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".safetensors")
			runPython(t, "-c", `import sys, torch
from papscope_torch import safetensors_io, model
m = model.PapscopeNet()
`+tt.change+`
safetensors_io.save(sys.argv[1], m.state_dict(), {"format": "pt"})`, sd)
			out := filepath.Join(dir, "keep.safetensors")
			os.WriteFile(out, []byte("previous"), 0o644)
			_, stderr, st := runCLI(t, "import", "-format", "torch", "-o", out, sd)
			if st != 1 {
				t.Fatalf("status %d, stderr %q: want a refusal", st, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
			if got, _ := os.ReadFile(out); string(got) != "previous" {
				t.Error("a failed import overwrote the output file")
			}
		})
	}
}

func TestImportTorchUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		status  int
		wantErr string
	}{
		{[]string{"import", "-format", "torch", "-o", "x.safetensors"}, 2, "give exactly one state_dict"},
		{[]string{"import", "-format", "tfjs", "-size", "64", "-o", "x.safetensors", "m.json"}, 2, "-size is for -format torch"},
		{[]string{"import", "-format", "torch", "-size", "3x3", "-o", "x.safetensors", "m.safetensors"}, 2, "too small"},
		{[]string{"import", "-format", "torch", "-o", filepath.Join(t.TempDir(), "x"), "no-such.safetensors"}, 1, "no-such.safetensors"},
		{[]string{"import", "-format", "torch", "-o", filepath.Join(t.TempDir(), "x"), "../../weights/papscope.safetensors"}, 1, "already papscope weights"},
	}
	for _, tt := range tests {
		_, stderr, st := runCLI(t, tt.args...)
		if st != tt.status || !strings.Contains(stderr, tt.wantErr) {
			t.Errorf("papscope %v: status %d, stderr %q; want status %d and %q", tt.args, st, stderr, tt.status, tt.wantErr)
		}
	}
}
