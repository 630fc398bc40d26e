package metrics

import (
	"math"
	"testing"
)

func TestROC(t *testing.T) {
	for _, tc := range []struct {
		name     string
		scores   []float64
		positive []bool
		want     []Point
	}{
		{"separated", []float64{0.9, 0.8, 0.2, 0.1}, []bool{true, true, false, false},
			[]Point{{0, 0}, {0, 0.5}, {0, 1}, {0.5, 1}, {1, 1}}},
		{"tie across classes", []float64{0.7, 0.7, 0.1}, []bool{true, false, false},
			[]Point{{0, 0}, {0.5, 1}, {1, 1}}},
		{"reversed", []float64{0.1, 0.9}, []bool{true, false},
			[]Point{{0, 0}, {1, 0}, {1, 1}}},
		{"one class", []float64{0.1, 0.9}, []bool{true, true}, nil},
	} {
		got := ROC(tc.scores, tc.positive)
		if len(got) != len(tc.want) {
			t.Errorf("%s: ROC = %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: ROC = %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

// TestROCArea checks the trapezoidal area under each class's ROC curve is its AUC.
func TestROCArea(t *testing.T) {
	trueClass, probs := paperFixture()
	r, err := Evaluate(trueClass, probs)
	if err != nil {
		t.Fatal(err)
	}
	for c, curve := range ClassROC(trueClass, probs) {
		area := 0.0
		for i := 1; i < len(curve); i++ {
			area += (curve[i].FPR - curve[i-1].FPR) * (curve[i].TPR + curve[i-1].TPR) / 2
		}
		if last := curve[len(curve)-1]; last != (Point{1, 1}) {
			t.Errorf("%s: curve ends at %v, want (1, 1)", r.Classes[c], last)
		}
		if !same(area, r.PerClass[c].AUC, 1e-12) {
			t.Errorf("%s: area under the ROC points %v, AUC %v", r.Classes[c], area, r.PerClass[c].AUC)
		}
	}
}

func TestReliability(t *testing.T) {
	// Confidences 0.95 (right), 0.95 (wrong), 0.5 (right), 0 is impossible for a top class of 2.
	trueClass := []int{0, 1, 1}
	probs := [][]float32{{0.95, 0.05}, {0.95, 0.05}, {0.5, 0.5}}
	bins := Reliability(trueClass, probs)
	if len(bins) != ECEBins || bins[0].Lo != 0 || bins[ECEBins-1].Hi != 1 {
		t.Fatalf("bins %v", bins)
	}
	top, mid := bins[ECEBins-1], bins[7] // 0.5 lies in (7/15, 8/15]
	if top.Count != 2 || !same(top.Accuracy, 0.5, 0) || !same(top.Confidence, 0.95, 1e-6) {
		t.Errorf("top bin %+v", top)
	}
	if mid.Count != 1 || mid.Accuracy != 0 || !same(mid.Confidence, 0.5, 0) { // a tie predicts class 0
		t.Errorf("bin of 0.5 %+v", mid)
	}
	if !math.IsNaN(bins[3].Accuracy) || bins[3].Count != 0 {
		t.Errorf("empty bin %+v", bins[3])
	}
	want := (2*math.Abs(0.5-0.95) + 0.5) / 3
	if got := ECE(bins); !same(got, want, 1e-6) {
		t.Errorf("ECE = %v, want %v", got, want)
	}
	if !math.IsNaN(ECE(nil)) {
		t.Error("ECE of no bins is not NaN")
	}
}
