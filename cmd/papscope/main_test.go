package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// fixture is a TF.js model with its inputs and TF.js's outputs (see nn/testdata/tfjs).
const fixture = "../../nn/testdata/tfjs/seed7_160x120"

func runCLI(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var o, e bytes.Buffer
	status = run(args, &o, &e)
	return o.String(), e.String(), status
}

// importFixture converts the fixture model and returns the weights' path.
func importFixture(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "w.safetensors")
	if _, stderr, st := runCLI(t, "import", "-format", "tfjs", "-o", out, filepath.Join(fixture, "model.json")); st != 0 {
		t.Fatalf("import: status %d: %s", st, stderr)
	}
	return out
}

func TestInfoGolden(t *testing.T) {
	t.Parallel()
	stdout, stderr, st := runCLI(t, "info")
	if st != 0 {
		t.Fatalf("status %d: %s", st, stderr)
	}
	path := filepath.Join("testdata", "info.golden")
	if *update {
		os.WriteFile(path, []byte(stdout), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(want) {
		t.Errorf("papscope info differs from %s (go test -update rewrites it):\n%s", path, stdout)
	}
}

func TestInfoJSON(t *testing.T) {
	t.Parallel()
	w := importFixture(t)
	tests := []struct {
		args      []string
		inputSize [2]int
		weights   bool
	}{
		{[]string{"info", "-json"}, [2]int{299, 299}, false},
		{[]string{"info", "-json", "-weights", w}, [2]int{120, 160}, true},
	}
	for _, tt := range tests {
		stdout, stderr, st := runCLI(t, tt.args...)
		if st != 0 {
			t.Fatalf("%v: status %d: %s", tt.args, st, stderr)
		}
		var got infoJSON
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("%v: %v\n%s", tt.args, err, stdout)
		}
		if got.Total != 402756 || got.Trainable != 398532 || got.NonTrainable != 4224 {
			t.Errorf("%v: counts %d/%d/%d", tt.args, got.Total, got.Trainable, got.NonTrainable)
		}
		if strings.Join(got.Classes, ",") != "HSIL,LSIL,NILM,SCC" || got.InputSize != tt.inputSize || len(got.Layers) != 49 {
			t.Errorf("%v: classes %v, input %v, %d layers", tt.args, got.Classes, got.InputSize, len(got.Layers))
		}
		if (got.Weights != nil) != tt.weights {
			t.Errorf("%v: weights section %+v, want present=%v", tt.args, got.Weights, tt.weights)
		}
		if got.Weights != nil && (got.Weights.OOD || got.Weights.Temperature != 0) {
			t.Errorf("%v: imported Keras weights reported with calibration %+v", tt.args, got.Weights)
		}
	}
}

func TestClassifyMatchesTFJS(t *testing.T) {
	t.Parallel()
	w := importFixture(t)
	var ref struct {
		Inputs []struct {
			File  string    `json:"file"`
			Probs []float64 `json:"probs"`
		} `json:"inputs"`
	}
	data, err := os.ReadFile(filepath.Join(fixture, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	args := []string{"classify", "-json", "-weights", w}
	for _, in := range ref.Inputs {
		args = append(args, filepath.Join(fixture, in.File))
	}
	stdout, stderr, st := runCLI(t, args...)
	if st != 0 {
		t.Fatalf("status %d: %s", st, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != len(ref.Inputs) {
		t.Fatalf("%d lines for %d images:\n%s", len(lines), len(ref.Inputs), stdout)
	}
	for i, line := range lines {
		var c classification
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(c.File, ref.Inputs[i].File) {
			t.Errorf("line %d is %s, want %s (input order)", i, c.File, ref.Inputs[i].File)
		}
		best := 0
		for k, p := range ref.Inputs[i].Probs {
			if d := float64(c.Probs[k]) - p; d > 1e-4 || d < -1e-4 {
				t.Errorf("%s: prob %d = %g, TF.js %g", c.File, k, c.Probs[k], p)
			}
			if p > ref.Inputs[i].Probs[best] {
				best = k
			}
		}
		if c.Top != c.Classes[best] {
			t.Errorf("%s: top %s, TF.js %s", c.File, c.Top, c.Classes[best])
		}
	}
}

func TestClassifyReportsBadFilesAndGoesOn(t *testing.T) {
	t.Parallel()
	w := importFixture(t)
	dir := t.TempDir()
	notImage := filepath.Join(dir, "notes.png")
	os.WriteFile(notImage, []byte("not an image"), 0o644)
	empty := filepath.Join(dir, "empty.jpg")
	os.WriteFile(empty, nil, 0o644)
	good := filepath.Join(fixture, "input_0.png")
	stdout, stderr, st := runCLI(t, "classify", "-weights", w, notImage, good, empty, filepath.Join(dir, "missing.tif"))
	if st != 1 {
		t.Errorf("status %d, want 1 when some files fail", st)
	}
	for _, want := range []string{"notes.png: not a recognised image", "empty.jpg: empty file", "missing.tif", "3 of 4 images could not be classified"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "input_0.png") || strings.Count(stdout, "\n") != 2 {
		t.Errorf("stdout should hold the header and the one good image:\n%s", stdout)
	}
}

func TestCommandErrors(t *testing.T) {
	t.Parallel()
	w := importFixture(t)
	corrupt := filepath.Join(t.TempDir(), "corrupt.safetensors")
	data, _ := os.ReadFile(w)
	os.WriteFile(corrupt, data[:len(data)/2], 0o644)
	tests := []struct {
		args    []string
		status  int
		wantErr string
	}{
		{nil, 2, "Commands:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"classify"}, 2, "no images given"},
		{[]string{"classify", "-weights", filepath.Join(t.TempDir(), "none.safetensors"), "a.png"}, 1, "papscope import -format tfjs"},
		{[]string{"classify", "-weights", corrupt, "a.png"}, 1, "truncated"},
		{[]string{"info", "-bogus"}, 2, "flag provided but not defined"},
		{[]string{"import", "-o", "x.safetensors"}, 2, "give exactly one model.json"},
		{[]string{"import", "-format", "onnx", "-o", "x", "m.json"}, 2, `unknown -format "onnx"`},
		{[]string{"import", "m.json"}, 2, "-o OUT.safetensors is required"},
		{[]string{"import", "-o", filepath.Join(t.TempDir(), "x"), "no-such-model.json"}, 1, "no-such-model.json"},
	}
	for _, tt := range tests {
		_, stderr, st := runCLI(t, tt.args...)
		if st != tt.status || !strings.Contains(stderr, tt.wantErr) {
			t.Errorf("papscope %v: status %d, stderr %q; want status %d and %q", tt.args, st, stderr, tt.status, tt.wantErr)
		}
	}
}

func TestImportRefusesMismatchAndKeepsOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	model, _ := os.ReadFile(filepath.Join(fixture, "model.json"))
	bad := strings.Replace(string(model), `"units":256`, `"units":128`, 1)
	if bad == string(model) {
		t.Fatal("fixture model.json has no Dense units 256 to alter")
	}
	os.WriteFile(filepath.Join(dir, "model.json"), []byte(bad), 0o644)
	shard, _ := os.ReadFile(filepath.Join(fixture, "group1-shard1of1.bin"))
	os.WriteFile(filepath.Join(dir, "group1-shard1of1.bin"), shard, 0o644)
	out := filepath.Join(dir, "keep.safetensors")
	os.WriteFile(out, []byte("previous"), 0o644)
	_, stderr, st := runCLI(t, "import", "-o", out, filepath.Join(dir, "model.json"))
	if st != 1 || !strings.Contains(stderr, "dense") {
		t.Errorf("status %d, stderr %q: want a refusal naming the dense layer", st, stderr)
	}
	if got, _ := os.ReadFile(out); string(got) != "previous" {
		t.Error("a failed import overwrote the output file")
	}
}
