package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"papscope/calibrate"
	"papscope/nn"
	"papscope/train"
)

// writeTinyDataset writes perClass 24×24 PNGs into DIR/HSIL, LSIL, NILM and
// SCC, each class an obvious pattern, and returns DIR.
func writeTinyDataset(t *testing.T, perClass int) string {
	t.Helper()
	dir := t.TempDir()
	colours := []color.NRGBA{{200, 40, 40, 255}, {40, 180, 60, 255}, {40, 60, 200, 255}}
	for c, name := range nn.ClassNames() {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range perClass {
			img := image.NewNRGBA(image.Rect(0, 0, 24, 24))
			for y := range 24 {
				for x := range 24 {
					var px color.NRGBA
					switch {
					case c < 3:
						px = colours[c]
						px.G += uint8((x + y + i) % 7 * 3)
					case (x/4+y/4)%2 == 0:
						px = color.NRGBA{250, 250, 250, 255}
					default:
						px = color.NRGBA{10, 10, 10, 255}
					}
					img.SetNRGBA(x, y, px)
				}
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name, fmt.Sprintf("img%02d.png", i)), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func callCmd(run func(args []string, stdout, stderr io.Writer) error, args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = run(args, &o, &e)
	return o.String(), e.String(), err
}

func TestTrainEndToEnd(t *testing.T) {
	t.Parallel()
	data := writeTinyDataset(t, 6)
	// An unreadable image is listed and skipped.
	if err := os.WriteFile(filepath.Join(data, "NILM", "broken.png"), []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "w.safetensors")
	stdout, stderr, err := callCmd(runTrain, "-data", data, "-o", out, "-epochs", "2", "-batch", "4", "-size", "16", "-split", "0.5,0.25,0.25", "-patience", "0")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "broken.png") || !strings.Contains(stderr, "epoch 2/2") || !strings.Contains(stdout, "wrote "+out) {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	w, err := nn.DecodeWeights(raw)
	if err != nil {
		t.Fatal(err)
	}
	m := w.Meta()
	if m.Input != (nn.Dims{Height: 16, Width: 16}) || m.Source != "papscope train" ||
		!strings.Contains(m.TrainingData, "24 images (HSIL 6, LSIL 6, NILM 6, SCC 6)") ||
		!strings.Contains(m.TrainingData, "train 12 / validation 8 / test 4") || !strings.Contains(m.TrainingData, "seed 1") {
		t.Errorf("metadata %+v", m)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(m.Metrics), &rep); err != nil {
		t.Fatalf("metrics %q: %v", m.Metrics, err)
	}
	if rep["n"] != 4.0 || rep["accuracy"] == nil || rep["confusion"] == nil {
		t.Errorf("test metrics %v", rep)
	}
	if m.Extra["training_history"] == "" {
		t.Error("no training history in the metadata")
	}
	// Calibration: a temperature and OOD statistics, and the fit recorded.
	if !w.HasOOD() || !(m.Temperature > 0) || !(m.OODThreshold > 0) {
		t.Errorf("weights not calibrated: OOD %v, temperature %g, threshold %g", w.HasOOD(), m.Temperature, m.OODThreshold)
	}
	var fit map[string]any
	if err := json.Unmarshal([]byte(m.Extra["calibration"]), &fit); err != nil {
		t.Fatalf("calibration record %q: %v", m.Extra["calibration"], err)
	}
	num := func(k string) float64 { v, _ := fit[k].(float64); return v }
	if f := num("temperature_fitted"); f <= calibrate.MinTemperature*1.001 && m.Temperature != 1 {
		t.Errorf("a temperature fit at the end of the range (%g) was kept (%g), want 1", f, m.Temperature)
	}
	if num("temperature") != m.Temperature || num("test_ece_after") < 0 || num("val_nll_after") > num("val_nll_before")+1e-9 || fit["ood_threshold_from"] != "validation" {
		t.Errorf("calibration record %v (temperature %g)", fit, m.Temperature)
	}
	// eval measures the OOD score against generated outliers.
	evalOut, stderr, err := callCmd(runEval, "-weights", out, "-data", data, "-json", "-outliers", "3")
	if err != nil && !errors.Is(err, errSomeFailed) { // broken.png is still there
		t.Fatalf("eval: %v\n%s", err, stderr)
	}
	var ev struct {
		AUROC *float64 `json:"ood_auroc"`
		OOD   struct {
			Kinds []struct {
				Kind string `json:"kind"`
				N    int    `json:"n"`
			} `json:"kinds"`
		} `json:"ood"`
	}
	if err := json.Unmarshal([]byte(evalOut), &ev); err != nil {
		t.Fatalf("eval JSON: %v\n%s", err, evalOut)
	}
	if ev.AUROC == nil || *ev.AUROC < 0 || *ev.AUROC > 1 || len(ev.OOD.Kinds) != 5 || ev.OOD.Kinds[0].N != 3 {
		t.Errorf("eval OOD section: %s", evalOut)
	}

	// The checkpoint resumes: two more epochs.
	ckpt := strings.TrimSuffix(out, ".safetensors") + ".ckpt.safetensors"
	c, err := train.ReadCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Epoch != 2 || c.State.Batch != 4 {
		t.Errorf("checkpoint state %+v", c.State)
	}
	_, stderr, err = callCmd(runTrain, "-data", data, "-o", out, "-epochs", "3", "-resume", ckpt)
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "epoch 3/3") || strings.Contains(stderr, "epoch 1/3") {
		t.Errorf("resume stderr:\n%s", stderr)
	}
}

func TestTrainBadInput(t *testing.T) {
	t.Parallel()
	data := writeTinyDataset(t, 2)
	out := filepath.Join(t.TempDir(), "w.safetensors")
	noSCC := writeTinyDataset(t, 2)
	if err := os.RemoveAll(filepath.Join(noSCC, "SCC")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args  []string
		usage bool
		want  string
	}{
		{[]string{"-o", out}, true, "-data"},
		{[]string{"-data", data}, true, "-o"},
		{[]string{"-data", data, "-o", out, "-size", "3"}, true, "too small"},
		{[]string{"-data", data, "-o", out, "-size", "ax4"}, true, "WxH"},
		{[]string{"-data", data, "-o", out, "-split", "0.5,0.5"}, true, "three"},
		{[]string{"-data", data, "-o", out, "-split", "0.5,0.5,0.5"}, true, "sums"},
		{[]string{"-data", data, "-o", out, "-batch", "0"}, true, "-batch"},
		{[]string{"-data", filepath.Join(data, "nope"), "-o", out}, false, "does not exist"},
		{[]string{"-data", noSCC, "-o", out}, false, "SCC"},
		{[]string{"-data", data, "-o", out, "-resume", filepath.Join(data, "HSIL", "img00.png")}, false, "checkpoint"},
	}
	for _, tt := range tests {
		_, _, err := callCmd(runTrain, tt.args...)
		if err == nil || errors.Is(err, errUsage) != tt.usage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want usage=%v containing %q", tt.args, err, tt.usage, tt.want)
		}
	}
}

func TestParseInputSize(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]nn.Dims{"128": {Height: 128, Width: 128}, "160x120": {Height: 120, Width: 160}, "64X64": {Height: 64, Width: 64}} {
		got, err := parseInputSize(s)
		if err != nil || got != want {
			t.Errorf("parseInputSize(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
}
