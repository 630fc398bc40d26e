package nn_test

import (
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"papscope/nn"
	"papscope/tfjs"
)

// reference is expected.json, written by testdata/tfjs/make_reference.js
// with TensorFlow.js (cpu backend) from the same model.json the test imports.
type reference struct {
	TFJSVersion string `json:"tfjs_version"`
	Height      int    `json:"height"`
	Width       int    `json:"width"`
	Inputs      []struct {
		File          string    `json:"file"`
		Probs         []float64 `json:"probs"`
		Logits        []float64 `json:"logits"`
		Pooled        []float64 `json:"pooled"`
		FeaturesSum   float64   `json:"features_sum"`
		FeaturesSumSq float64   `json:"features_sumsq"`
	} `json:"inputs"`
}

// TestMatchesTensorFlowJS imports each TF.js fixture model and checks that nn,
// fed the same PNG inputs through its preprocessing, agrees with TF.js.
func TestMatchesTensorFlowJS(t *testing.T) {
	for _, fixture := range []string{"seed1_299", "seed7_160x120"} {
		t.Run(fixture, func(t *testing.T) {
			dir := filepath.Join("testdata", "tfjs", fixture)
			var ref reference
			readJSON(t, filepath.Join(dir, "expected.json"), &ref)
			modelJSON, err := os.ReadFile(filepath.Join(dir, "model.json"))
			if err != nil {
				t.Fatal(err)
			}
			w, err := tfjs.Import(modelJSON, func(name string) ([]byte, error) {
				return os.ReadFile(filepath.Join(dir, name))
			})
			if err != nil {
				t.Fatalf("import %s: %v", dir, err)
			}
			if want := (nn.Dims{Height: ref.Height, Width: ref.Width}); w.Meta().Input != want {
				t.Fatalf("imported input size %v, want %v", w.Meta().Input, want)
			}
			m, err := nn.NewModel(w)
			if err != nil {
				t.Fatal(err)
			}
			if len(ref.Inputs) == 0 {
				t.Fatal("expected.json has no inputs")
			}
			var maxProb, maxLogit float64
			for _, in := range ref.Inputs {
				f, err := os.Open(filepath.Join(dir, in.File))
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(f)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				out, err := m.ClassifyImage(img)
				if err != nil {
					t.Fatal(err)
				}
				for c := range nn.NumClasses {
					maxProb = math.Max(maxProb, math.Abs(float64(out.Probs[c])-in.Probs[c]))
					maxLogit = math.Max(maxLogit, relDiff(float64(out.Logits[c]), in.Logits[c]))
					if d := math.Abs(float64(out.Probs[c]) - in.Probs[c]); d > 1e-4 {
						t.Errorf("%s: prob[%s] = %.7f, TF.js %.7f (diff %.2g > 1e-4)", in.File, nn.ClassNames()[c], out.Probs[c], in.Probs[c], d)
					}
					if d := relDiff(float64(out.Logits[c]), in.Logits[c]); d > 1e-3 {
						t.Errorf("%s: logit[%s] = %.6f, TF.js %.6f (relative diff %.2g > 1e-3)", in.File, nn.ClassNames()[c], out.Logits[c], in.Logits[c], d)
					}
				}
				for j, v := range in.Pooled {
					if d := relDiff(float64(out.Pooled[j]), v); d > 1e-3 {
						t.Fatalf("%s: pooled[%d] = %g, TF.js %g", in.File, j, out.Pooled[j], v)
					}
				}
				var sum, sumSq float64
				for _, v := range out.Features {
					sum += float64(v)
					sumSq += float64(v) * float64(v)
				}
				if relDiff(sum, in.FeaturesSum) > 1e-4 || relDiff(sumSq, in.FeaturesSumSq) > 1e-4 {
					t.Errorf("%s: feature map sum %g, sum of squares %g; TF.js %g, %g", in.File, sum, sumSq, in.FeaturesSum, in.FeaturesSumSq)
				}
			}
			t.Logf("%d inputs: max |prob - TF.js| %.2g, max relative logit difference %.2g", len(ref.Inputs), maxProb, maxLogit)
		})
	}
}

func relDiff(got, want float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-3)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
