package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"papscope/nn"
)

// initWeightsFile writes freshly initialised weights at 16×16 and returns the path.
func initWeightsFile(t *testing.T) string {
	t.Helper()
	w, err := nn.InitWeights(nn.DefaultMetadata(nn.Dims{Height: 16, Width: 16}), 3)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := w.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEvalJSONAndPlot(t *testing.T) {
	t.Parallel()
	data := writeTinyDataset(t, 6)
	weights := initWeightsFile(t)
	dir := t.TempDir()
	plot, reliability, roc := filepath.Join(dir, "confusion.png"), filepath.Join(dir, "reliability.png"), filepath.Join(dir, "roc.png")
	stdout, stderr, err := callCmd(runEval, "-weights", weights, "-data", data, "-json", "-plot", plot,
		"-reliability", reliability, "-roc", roc, "-workers", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var got struct {
		Accuracy         *float64                  `json:"accuracy"`
		BalancedAccuracy *float64                  `json:"balanced_accuracy"`
		ECE              *float64                  `json:"ece"`
		PerClass         map[string]map[string]any `json:"per_class"`
		Confusion        [][]int                   `json:"confusion"`
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if dec.More() {
		t.Errorf("more than one JSON value:\n%s", stdout)
	}
	if !strings.Contains(stdout, `"ood_auroc": null`) {
		t.Errorf("weights without OOD statistics: want ood_auroc null:\n%s", stdout)
	}
	if got.Accuracy == nil || got.BalancedAccuracy == nil || got.ECE == nil {
		t.Errorf("missing keys:\n%s", stdout)
	}
	for _, name := range nn.ClassNames() {
		pc, ok := got.PerClass[name]
		if !ok {
			t.Errorf("per_class has no %s", name)
			continue
		}
		for _, k := range []string{"precision", "recall", "f1", "auc"} {
			if _, ok := pc[k]; !ok {
				t.Errorf("per_class.%s has no %s", name, k)
			}
		}
	}
	sum := 0
	for c, row := range got.Confusion {
		rowSum := 0
		for _, v := range row {
			rowSum += v
		}
		if rowSum != 6 || len(row) != 4 {
			t.Errorf("confusion row %d = %v, want 4 counts summing to 6", c, row)
		}
		sum += rowSum
	}
	if len(got.Confusion) != 4 || sum != 24 {
		t.Errorf("confusion %v sums to %d, want 24", got.Confusion, sum)
	}
	for _, path := range []string{plot, reliability, roc} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 400 {
			t.Errorf("%s is %v", filepath.Base(path), b)
		}
	}
}

func TestEvalText(t *testing.T) {
	t.Parallel()
	data := writeTinyDataset(t, 2)
	stdout, stderr, err := callCmd(runEval, "-weights", initWeightsFile(t), "-data", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"accuracy", "balanced accuracy", "confusion matrix", "SCC", "out-of-distribution score: unavailable"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in:\n%s", want, stdout)
		}
	}
}

func TestEvalUnreadable(t *testing.T) {
	t.Parallel()
	data := writeTinyDataset(t, 2)
	if err := os.WriteFile(filepath.Join(data, "LSIL", "bad.jpg"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := callCmd(runEval, "-weights", initWeightsFile(t), "-data", data, "-json")
	if !errors.Is(err, errSomeFailed) {
		t.Fatalf("error %v, want errSomeFailed", err)
	}
	var rep struct {
		N int `json:"n"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.N != 8 {
		t.Errorf("report n=%d (%v), want 8 readable images:\n%s", rep.N, err, stdout)
	}
	if !strings.Contains(stderr, "bad.jpg") || !strings.Contains(stderr, "1 of 9") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

func TestEvalBadInput(t *testing.T) {
	t.Parallel()
	data := writeTinyDataset(t, 1)
	weights := initWeightsFile(t)
	noLSIL := writeTinyDataset(t, 1)
	os.RemoveAll(filepath.Join(noLSIL, "LSIL"))
	tests := []struct {
		args  []string
		usage bool
		want  string
	}{
		{[]string{"-weights", weights}, true, "-data"},
		{[]string{"-weights", weights, "-data", data, "-workers", "0"}, true, "-workers"},
		{[]string{"-weights", weights, "-data", data, "extra"}, true, "unexpected"},
		{[]string{"-weights", weights, "-data", noLSIL}, false, "LSIL"},
		{[]string{"-weights", filepath.Join(data, "missing.safetensors"), "-data", data}, false, "no weights"},
	}
	for _, tt := range tests {
		_, _, err := callCmd(runEval, tt.args...)
		if err == nil || errors.Is(err, errUsage) != tt.usage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want usage=%v containing %q", tt.args, err, tt.usage, tt.want)
		}
	}
}
