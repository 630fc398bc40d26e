package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"papscope/dataset/lbctest"
	"papscope/internal/shortcut"
	"papscope/nn"
)

// shippedWeights is the repository's weights file, seen from this package's directory.
var shippedWeights = filepath.Join("..", "..", defaultWeights)

// TestShippedWeightsMatchTheirCard checks that the shipped weights are the
// ones their metadata and weights/MODEL_CARD.md describe: real fields, the
// treatment against the data's shortcuts, calibrated, with cross-validated
// figures the card repeats; and that they classify the real fields through
// the CLI as those figures lead one to expect. The fields are the ones they
// learnt from, so this is a check of the file, not a measure of the model:
// the measure is the cross-validation by slide.
func TestShippedWeightsMatchTheirCard(t *testing.T) {
	t.Parallel()
	w, err := loadWeights(shippedWeights)
	if err != nil {
		t.Fatal(err)
	}
	m := w.Meta()
	if m.Data != nn.RealData || !strings.Contains(m.Evaluation, "cross-validation by slide") {
		t.Errorf("the shipped weights say data %q, evaluation %q: want real fields, cross-validated by slide", m.Data, m.Evaluation)
	}
	if !w.HasOOD() || !(m.Temperature > 0) || m.Crop == 0 || m.Extra[shortcut.JPEGQualityKey] == "" {
		t.Errorf("the shipped weights: OOD statistics %v, temperature %g, crop %g, JPEG quality %q: want all of them",
			w.HasOOD(), m.Temperature, m.Crop, m.Extra[shortcut.JPEGQualityKey])
	}
	var cv struct {
		Accuracy         float64 `json:"accuracy"`
		BalancedAccuracy float64 `json:"balanced_accuracy"`
		PerClass         map[string]struct {
			Recall float64 `json:"recall"`
		} `json:"per_class"`
	}
	if err := json.Unmarshal([]byte(m.Metrics), &cv); err != nil || cv.BalancedAccuracy == 0 {
		t.Fatalf("the shipped weights carry no cross-validated figures (metrics %q): %v", m.Metrics, err)
	}
	card, err := os.ReadFile(filepath.Join("..", "..", "weights", "MODEL_CARD.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf("%.3f", cv.BalancedAccuracy), fmt.Sprintf("%.3f", cv.Accuracy)}
	for _, name := range nn.ClassNames() {
		want = append(want, fmt.Sprintf("%.3f", cv.PerClass[name].Recall))
	}
	for _, s := range want {
		if !strings.Contains(string(card), s) {
			t.Errorf("weights/MODEL_CARD.md does not state %s, a figure of the weights' metadata (%s)", s, m.Metrics)
		}
	}

	out, stderr, err := callCmd(runEval, "-weights", shippedWeights, "-data", lbctest.Dir(t, 2), "-json", "-outliers", "10")
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, stderr)
	}
	var got struct {
		Accuracy         float64  `json:"accuracy"`
		BalancedAccuracy float64  `json:"balanced_accuracy"`
		OODAUROC         *float64 `json:"ood_auroc"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("eval JSON: %v\n%s", err, out)
	}
	// Fields the weights learnt from score at least what fields of unseen slides do.
	if got.BalancedAccuracy < cv.BalancedAccuracy {
		t.Errorf("balanced accuracy on the fields the weights learnt from %.3f, below the cross-validated %.3f", got.BalancedAccuracy, cv.BalancedAccuracy)
	}
	if got.OODAUROC == nil || *got.OODAUROC < 0.9 {
		t.Errorf("OOD AUROC of the real fields against generated outliers %v, want at least 0.9", got.OODAUROC)
	}
	t.Logf("real fields (learnt from): accuracy %.3f, balanced %.3f (cross-validated by slide: %.3f); OOD AUROC %.4f",
		got.Accuracy, got.BalancedAccuracy, cv.BalancedAccuracy, *got.OODAUROC)
}
