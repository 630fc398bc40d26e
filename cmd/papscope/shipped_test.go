package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"papscope/nn"
)

// shippedWeights is the repository's weights file, seen from this package's directory.
var shippedWeights = filepath.Join("..", "..", defaultWeights)

// TestShippedWeightsMatchTheirCard classifies synthetic fields of a seed never
// used for training (7) or for the gallery (90210) with the shipped weights
// and checks the accuracy against the held-out accuracy their metadata (and
// model card) report, and the out-of-distribution score against outliers.
func TestShippedWeightsMatchTheirCard(t *testing.T) {
	w, err := loadWeights(shippedWeights)
	if err != nil {
		t.Fatal(err)
	}
	var card struct {
		Accuracy float64 `json:"accuracy"`
	}
	if err := json.Unmarshal([]byte(w.Meta.Metrics), &card); err != nil || card.Accuracy == 0 {
		t.Fatalf("the shipped weights carry no held-out accuracy (metrics %q): %v", w.Meta.Metrics, err)
	}
	if !w.HasOOD() || !(w.Meta.Temperature > 0) {
		t.Errorf("the shipped weights are not calibrated: OOD statistics %v, temperature %g", w.HasOOD(), w.Meta.Temperature)
	}
	data := filepath.Join(t.TempDir(), "fresh")
	if _, stderr, err := callCmd(runSynth, "-n", "25", "-seed", "31337", "-o", data); err != nil {
		t.Fatalf("synth: %v\n%s", err, stderr)
	}
	out, stderr, err := callCmd(runEval, "-weights", shippedWeights, "-data", data, "-json", "-outliers", "10")
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, stderr)
	}
	var got struct {
		Accuracy float64                       `json:"accuracy"`
		PerClass map[string]map[string]float64 `json:"per_class"`
		OODAUROC *float64                      `json:"ood_auroc"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("eval JSON: %v\n%s", err, out)
	}
	const slack = 0.05 // 100 images: a few points of sampling noise
	if got.Accuracy < card.Accuracy-slack {
		t.Errorf("accuracy on fresh fields %.3f, the card says %.3f", got.Accuracy, card.Accuracy)
	}
	for _, name := range nn.ClassNames() {
		if r := got.PerClass[name]["recall"]; r < 0.9-slack {
			t.Errorf("%s recall %.3f on fresh fields, the card promises at least 0.90", name, r)
		}
	}
	if got.OODAUROC == nil || *got.OODAUROC < 0.9 {
		t.Errorf("OOD AUROC against generated outliers %v, want at least 0.9", got.OODAUROC)
	}
	t.Logf("fresh fields: accuracy %.3f (card %.3f), OOD AUROC %.4f", got.Accuracy, card.Accuracy, *got.OODAUROC)
}
