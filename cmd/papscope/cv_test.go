package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"papscope/nn"
)

// writeManifest gives the tiny dataset in dir a manifest: slides of two
// images each, every image its own original, file names with spaces and
// parentheses.
func writeManifest(t *testing.T, dir string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("file,class,slide,original\n")
	for _, name := range nn.ClassNames() {
		entries, err := os.ReadDir(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range entries {
			renamed := fmt.Sprintf("%s_%d (%d).png", name, i/2, i)
			if err := os.Rename(filepath.Join(dir, name, e.Name()), filepath.Join(dir, name, renamed)); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s/%s,%s,%s_%d,%s_%d (%d)\n", name, renamed, name, strings.ToLower(name), i/2, name, i/2, i)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCVEndToEnd(t *testing.T) {
	t.Parallel()
	data := writeTinyDataset(t, 8)
	writeManifest(t, data)
	work := filepath.Join(t.TempDir(), "work")
	weights := filepath.Join(t.TempDir(), "final.safetensors")
	plot := filepath.Join(t.TempDir(), "confusion.png")
	args := []string{"-data", data, "-folds", "2", "-size", "16", "-epochs", "1", "-batch", "4", "-val", "0.3", "-keep-last", "-schedule", "cosine",
		"-augment", "strong", "-work", work, "-json", "-o", weights, "-data-kind", "real", "-describe", "tiny test fields", "-plot", plot}
	stdout, stderr, err := callCmd(runCV, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var got struct {
		BySlide struct {
			Split   string `json:"split"`
			Metrics struct {
				N         int     `json:"n"`
				Confusion [][]int `json:"confusion"`
			} `json:"metrics"`
			Recall    [][2]float64 `json:"recall_95ci"`
			ECEBefore *float64     `json:"ece_before"`
			FieldECE  *float64     `json:"field_ece_after"`
			NILM      struct {
				N int `json:"n"`
			} `json:"nilm_augmented"`
			Folds []struct {
				HeldOut     []string `json:"held_out_slides"`
				Temperature float64  `json:"temperature"`
				OOD         struct {
					Available bool    `json:"Available"`
					InN       int     `json:"InN"`
					AUROC     float64 `json:"AUROC"`
				} `json:"ood"`
			} `json:"folds"`
		} `json:"by_slide"`
		ByImage *struct {
			Metrics struct {
				N int `json:"n"`
			} `json:"metrics"`
		} `json:"by_image"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	s := got.BySlide
	if s.Split != "slide" || s.Metrics.N != 32 || len(s.Recall) != 4 || len(s.Folds) != 2 || got.ByImage == nil || got.ByImage.Metrics.N != 32 {
		t.Fatalf("unexpected result: %s", stdout)
	}
	if s.ECEBefore == nil || s.FieldECE == nil || s.NILM.N != 8 {
		t.Errorf("ECE before calibration %v, augmented-NILM probe on %d fields (want the 8 NILM fields)", s.ECEBefore, s.NILM.N)
	}
	seen := map[string]bool{}
	for _, f := range s.Folds {
		if !(f.Temperature > 0) || !f.OOD.Available || f.OOD.InN != 16 || !(f.OOD.AUROC >= 0 && f.OOD.AUROC <= 1) {
			t.Errorf("fold: temperature %g, OOD %+v: want a temperature, and the 16 held-out images scored", f.Temperature, f.OOD)
		}
		for _, sl := range f.HeldOut {
			if seen[sl] {
				t.Errorf("slide %s held out by two folds", sl)
			}
			seen[sl] = true
		}
	}
	if len(seen) != 16 {
		t.Errorf("%d slides held out, want all 16", len(seen))
	}
	if img, err := os.ReadFile(plot); err != nil || !bytes.HasPrefix(img, []byte("\x89PNG")) {
		t.Errorf("confusion plot: %v", err)
	}
	// The final weights: every image, the out-of-fold temperature and figures.
	w, err := loadWeights(weights)
	if err != nil {
		t.Fatal(err)
	}
	m := w.Meta()
	if m.Data != nn.RealData || !strings.HasPrefix(m.TrainingData, "tiny test fields: all 32 images") || !w.HasOOD() || m.Temperature <= 0 ||
		!strings.Contains(m.Evaluation, "2-fold cross-validation by slide") || m.Extra["cross_validation"] == "" {
		t.Errorf("final weights' metadata: %+v", m)
	}
	var card struct {
		N int `json:"n"`
	}
	if err := json.Unmarshal([]byte(m.Metrics), &card); err != nil || card.N != s.Metrics.N {
		t.Errorf("final weights' metrics %s: want the by-slide report (n = %d)", m.Metrics, s.Metrics.N)
	}
	// A rerun reuses every fold's result.
	_, stderr2, err := callCmd(runCV, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stderr2, "reusing it"); n != 4 {
		t.Errorf("rerun reused %d fold results, want 4:\n%s", n, stderr2)
	}
}

func TestCVUsage(t *testing.T) {
	t.Parallel()
	data := writeTinyDataset(t, 2)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-data", data, "-val", "0"}, "add -keep-last"},
		{[]string{"-data", data, "-augment", "wild"}, `unknown augmentation "wild"`},
		{[]string{"-data", data, "-schedule", "step"}, `unknown learning-rate schedule "step"`},
		{[]string{"-data", data, "-data-kind", "drawn"}, `-data-kind "drawn"`},
	} {
		_, _, err := callCmd(runCV, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("cv %q: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

// TestCVFinalEpochs: without -keep-last the final weights train for the
// median of the epochs the folds' validation chose.
func TestCVFinalEpochs(t *testing.T) {
	t.Parallel()
	data := writeTinyDataset(t, 8)
	writeManifest(t, data)
	weights := filepath.Join(t.TempDir(), "final.safetensors")
	_, stderr, err := callCmd(runCV, "-data", data, "-folds", "2", "-size", "16", "-epochs", "2", "-batch", "4", "-val", "0.3",
		"-by-image=false", "-work", filepath.Join(t.TempDir(), "work"), "-o", weights)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "the median of the folds' best epochs") {
		t.Errorf("stderr does not say how many epochs the final weights trained:\n%s", stderr)
	}
	w, err := loadWeights(weights)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(w.Meta().TrainingData, "weights of the last epoch") {
		t.Errorf("training data %q", w.Meta().TrainingData)
	}
}
