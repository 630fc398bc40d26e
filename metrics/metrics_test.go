package metrics

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// nan stands for an expected NaN in the tables.
var nan = math.NaN()

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if want := readGolden(t, name, got); !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update if the change is intended)", filepath.Join("testdata", name))
	}
}

// readGolden returns testdata/name, after writing got to it under -update.
func readGolden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	return want
}

// goldenJSON is golden for JSON: it fails on any difference except numbers
// within 1e-12 relative, which other architectures (FMA, math.Log) may give.
func goldenJSON(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	want := readGolden(t, name, got)
	if bytes.Equal(got, want) {
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !jsonClose(g, w) {
		t.Errorf("%s differs (run go test -update if the change is intended):\ngot:\n%s", path, got)
	}
}

// jsonClose compares decoded JSON values, numbers within 1e-12 relative.
func jsonClose(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b))
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !jsonClose(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if !jsonClose(v, b[k]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// same reports whether a and b are equal within tol, NaN matching NaN.
func same(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

// oneHot returns a probability row of k classes with p on class c and the rest spread evenly.
func oneHot(k, c int, p float32) []float32 {
	row := make([]float32, k)
	for j := range row {
		row[j] = (1 - p) / float32(k-1)
	}
	row[c] = p
	return row
}

// fromConfusion builds examples realising the confusion matrix m, each predicted with confidence p.
func fromConfusion(m [][]int, p float32) (trueClass []int, probs [][]float32) {
	for t, row := range m {
		for pred, n := range row {
			for range n {
				trueClass = append(trueClass, t)
				probs = append(probs, oneHot(len(m), pred, p))
			}
		}
	}
	return trueClass, probs
}

// paperFixture is the held-out result the original authors report (HSIL
// 24/24, LSIL 24/24, NILM 22/22, SCC 12/17 with 5 SCC called HSIL), with
// deterministic, varied confidences.
func paperFixture() (trueClass []int, probs [][]float32) {
	m := [][]int{{24, 0, 0, 0}, {0, 24, 0, 0}, {0, 0, 22, 0}, {5, 0, 0, 12}}
	i := 0
	for t, row := range m {
		for pred, n := range row {
			for range n {
				c := 0.5 + 0.49*float32((i*37)%100)/100
				i++
				r := make([]float32, 4)
				rest := 1 - c
				for j := range r {
					r[j] = rest / 3
				}
				if pred != t { // the true class comes second
					r[t] = rest * 0.8
					for j := range r {
						if j != t && j != pred {
							r[j] = rest * 0.1
						}
					}
				}
				r[pred] = c
				trueClass = append(trueClass, t)
				probs = append(probs, r)
			}
		}
	}
	return trueClass, probs
}

func TestEvaluateTables(t *testing.T) {
	type cls struct{ p, r, f1, auc float64 }
	tests := []struct {
		name              string
		classes           []string
		confusion         [][]int
		acc, bal, macroF1 float64
		per               []cls
	}{
		{
			name:      "perfect",
			classes:   []string{"HSIL", "LSIL", "NILM", "SCC"},
			confusion: [][]int{{2, 0, 0, 0}, {0, 3, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 4}},
			acc:       1, bal: 1, macroF1: 1,
			per: []cls{{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}},
		},
		{
			name:      "everything called HSIL",
			classes:   []string{"HSIL", "LSIL", "NILM", "SCC"},
			confusion: [][]int{{2, 0, 0, 0}, {3, 0, 0, 0}, {1, 0, 0, 0}, {4, 0, 0, 0}},
			acc:       0.2, bal: 0.25, macroF1: 2 * 0.2 / 1.2,
			// One-hot-like rows: HSIL's score is 0.7 for all, a tie: AUC 0.5. The others score 0.1 everywhere.
			per: []cls{{0.2, 1, 2 * 0.2 / 1.2, 0.5}, {nan, 0, nan, 0.5}, {nan, 0, nan, 0.5}, {nan, 0, nan, 0.5}},
		},
		{
			name:      "one true class only",
			classes:   []string{"HSIL", "LSIL", "NILM", "SCC"},
			confusion: [][]int{{0, 0, 0, 0}, {0, 0, 0, 0}, {1, 0, 3, 0}, {0, 0, 0, 0}},
			acc:       0.75, bal: 0.75, macroF1: 2 * 0.75 / 1.75,
			per: []cls{{0, nan, nan, nan}, {nan, nan, nan, nan}, {1, 0.75, 2 * 0.75 / 1.75, nan}, {nan, nan, nan, nan}},
		},
		{
			name:      "three classes",
			classes:   []string{"A", "B", "C"},
			confusion: [][]int{{3, 1, 0}, {0, 2, 2}, {1, 0, 1}},
			acc:       0.6, bal: (0.75 + 0.5 + 0.5) / 3, macroF1: (0.75 + 4.0/7 + 0.4) / 3,
			per: []cls{{0.75, 0.75, 0.75, nan}, {2.0 / 3, 0.5, 4.0 / 7, nan}, {1.0 / 3, 0.5, 0.4, nan}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trueClass, probs := fromConfusion(tt.confusion, 0.7)
			r, err := EvaluateClasses(tt.classes, trueClass, probs)
			if err != nil {
				t.Fatal(err)
			}
			for i, row := range tt.confusion {
				for j, v := range row {
					if r.Confusion[i][j] != v {
						t.Fatalf("confusion = %v, want %v", r.Confusion, tt.confusion)
					}
				}
			}
			if !same(r.Accuracy, tt.acc, 1e-12) || !same(r.BalancedAccuracy, tt.bal, 1e-12) || !same(r.MacroF1, tt.macroF1, 1e-12) {
				t.Errorf("accuracy %v, balanced %v, macro F1 %v; want %v, %v, %v", r.Accuracy, r.BalancedAccuracy, r.MacroF1, tt.acc, tt.bal, tt.macroF1)
			}
			for c, want := range tt.per {
				got := r.PerClass[c]
				if !same(got.Precision, want.p, 1e-12) || !same(got.Recall, want.r, 1e-12) || !same(got.F1, want.f1, 1e-12) ||
					(!math.IsNaN(want.auc) && !same(got.AUC, want.auc, 1e-12)) {
					t.Errorf("class %s: got %+v, want %+v", tt.classes[c], got, want)
				}
				support := 0
				for _, v := range tt.confusion[c] {
					support += v
				}
				if got.Support != support {
					t.Errorf("class %s: support %d, want %d", tt.classes[c], got.Support, support)
				}
			}
			// Every example has confidence 0.7: ECE = |accuracy − 0.7|; log loss from the true-class probabilities.
			if !same(r.ECE, math.Abs(tt.acc-0.7), 1e-6) {
				t.Errorf("ECE = %v, want %v", r.ECE, math.Abs(tt.acc-0.7))
			}
			k := float64(len(tt.classes))
			wantLoss := -(tt.acc*math.Log(0.7) + (1-tt.acc)*math.Log(float64(float32(0.3)/float32(k-1))))
			if !same(r.LogLoss, wantLoss, 1e-6) {
				t.Errorf("log loss = %v, want %v", r.LogLoss, wantLoss)
			}
		})
	}
}

func TestAUCHand(t *testing.T) {
	tests := []struct {
		scores []float64
		pos    []bool
		want   float64
	}{
		{[]float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
		{[]float64{0.1, 0.2, 0.3, 0.4}, []bool{false, false, true, true}, 1},
		{[]float64{0.4, 0.3, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		{[]float64{0.5, 0.5}, []bool{true, false}, 0.5},
		{[]float64{0.5, 0.5, 0.5, 0.9}, []bool{true, false, false, true}, 0.75}, // (0.5+0.5+1+1)/4
		{[]float64{0.2, 0.3}, []bool{true, true}, nan},
		{[]float64{0.2, 0.3}, []bool{false, false}, nan},
	}
	for _, tt := range tests {
		if got := AUC(tt.scores, tt.pos); !same(got, tt.want, 1e-12) {
			t.Errorf("AUC(%v, %v) = %v, want %v", tt.scores, tt.pos, got, tt.want)
		}
	}
}

// bruteAUC counts positive–negative pairs ranked correctly, ties one half.
func bruteAUC(scores []float64, pos []bool) float64 {
	num, pairs := 0.0, 0
	for i := range scores {
		for j := range scores {
			if !pos[i] || pos[j] {
				continue
			}
			pairs++
			switch {
			case scores[i] > scores[j]:
				num++
			case scores[i] == scores[j]:
				num += 0.5
			}
		}
	}
	if pairs == 0 {
		return math.NaN()
	}
	return num / float64(pairs)
}

func TestAUCTiesAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 500 {
		n := 1 + r.IntN(40)
		levels := 1 + r.IntN(6) // few distinct scores: many ties
		scores, pos := make([]float64, n), make([]bool, n)
		for i := range n {
			scores[i] = float64(r.IntN(levels)) / 4
			pos[i] = r.IntN(3) == 0
		}
		if got, want := AUC(scores, pos), bruteAUC(scores, pos); !same(got, want, 1e-12) {
			t.Fatalf("trial %d: AUC = %v, brute force %v (scores %v, pos %v)", trial, got, want, scores, pos)
		}
	}
}

func TestAUCInEvaluate(t *testing.T) {
	// Class 1's scores 0.2, 0.5 (tie), 0.5, 0.8 for true classes 0, 1, 0, 1: AUC = (1 + 0.5 + 1 + 1)/4 = 0.875.
	trueClass := []int{0, 1, 0, 1}
	probs := [][]float32{{0.8, 0.2}, {0.5, 0.5}, {0.5, 0.5}, {0.2, 0.8}}
	r, err := EvaluateClasses([]string{"neg", "pos"}, trueClass, probs)
	if err != nil {
		t.Fatal(err)
	}
	if !same(r.PerClass[1].AUC, 0.875, 1e-12) || !same(r.PerClass[0].AUC, 0.875, 1e-12) || !same(r.MacroAUC, 0.875, 1e-12) {
		t.Errorf("AUC = %v, %v, macro %v; want 0.875", r.PerClass[0].AUC, r.PerClass[1].AUC, r.MacroAUC)
	}
}

func TestECEAndLogLossHand(t *testing.T) {
	// Confidences 0.9 (right), 0.9 (wrong) share bin (13/15, 14/15]: 2/4·|0.5−0.9| = 0.2;
	// 0.62 (right) alone in bin 9: 1/4·0.38 = 0.095; 0.7 (wrong) alone in bin 10: 1/4·0.7 = 0.175.
	trueClass := []int{0, 1, 1, 0}
	probs := [][]float32{{0.9, 0.1}, {0.9, 0.1}, {0.38, 0.62}, {0.3, 0.7}}
	r, err := EvaluateClasses([]string{"neg", "pos"}, trueClass, probs)
	if err != nil {
		t.Fatal(err)
	}
	if !same(r.ECE, 0.47, 1e-6) {
		t.Errorf("ECE = %v, want 0.47", r.ECE)
	}
	wantLoss := -(math.Log(0.9) + math.Log(0.1) + math.Log(0.62) + math.Log(0.3)) / 4
	if !same(r.LogLoss, wantLoss, 1e-6) {
		t.Errorf("log loss = %v, want %v", r.LogLoss, wantLoss)
	}

	// Bin edges: confidence exactly 1 lands in the last bin; a probability of 0 for the true class is clipped to 1e-15.
	r, err = EvaluateClasses([]string{"neg", "pos"}, []int{0, 1}, [][]float32{{1, 0}, {1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if !same(r.ECE, 0.5, 1e-12) || !same(r.LogLoss, -math.Log(1e-15)/2, 1e-9) {
		t.Errorf("ECE = %v, log loss = %v; want 0.5, %v", r.ECE, r.LogLoss, -math.Log(1e-15)/2)
	}
}

func TestEvaluateErrors(t *testing.T) {
	two := []string{"a", "b"}
	tests := []struct {
		name      string
		classes   []string
		trueClass []int
		probs     [][]float32
		want      string
	}{
		{"one class", []string{"a"}, []int{0}, [][]float32{{1}}, "1 classes, want at least 2"},
		{"empty", two, nil, nil, "no examples"},
		{"length mismatch", two, []int{0, 1}, [][]float32{{1, 0}}, "2 true classes but 1 probability rows"},
		{"row width", two, []int{0}, [][]float32{{1, 0, 0}}, "example 0 has 3 probabilities, want 2"},
		{"NaN", two, []int{0}, [][]float32{{float32(math.NaN()), 1}}, "probability of a is NaN"},
		{"negative", two, []int{0}, [][]float32{{-0.5, 1.5}}, "probability of a is -0.5"},
		{"logits", two, []int{0}, [][]float32{{0.9, 0.9}}, "sum to 1.8, want 1 (pass softmax outputs, not logits)"},
		{"class range", two, []int{2}, [][]float32{{0.5, 0.5}}, "true class 2 out of range [0, 2)"},
		{"negative class", two, []int{-1}, [][]float32{{0.5, 0.5}}, "true class -1 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EvaluateClasses(tt.classes, tt.trueClass, tt.probs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := Evaluate([]int{0}, [][]float32{{0.5, 0.5}}); err == nil || !strings.Contains(err.Error(), "want 4") {
		t.Errorf("Evaluate with 2 probabilities: err = %v", err)
	}
}

func paperReport(t *testing.T) *Report {
	t.Helper()
	trueClass, probs := paperFixture()
	r, err := Evaluate(trueClass, probs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPaperFixture(t *testing.T) {
	r := paperReport(t)
	if r.N != 87 || !same(r.Accuracy, 82.0/87, 1e-12) || r.Confusion[3][0] != 5 || r.Confusion[3][3] != 12 {
		t.Errorf("N %d, accuracy %v, confusion %v", r.N, r.Accuracy, r.Confusion)
	}
	if !same(r.PerClass[0].Precision, 24.0/29, 1e-12) || !same(r.PerClass[3].Recall, 12.0/17, 1e-12) {
		t.Errorf("per class %+v", r.PerClass)
	}
}

func TestJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := paperReport(t).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	goldenJSON(t, "report.json", b.Bytes())

	// The keys the CLI and the model card rely on.
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"accuracy", "balanced_accuracy", "per_class", "confusion", "ece", "log_loss", "n", "macro_auc"} {
		if _, ok := m[key]; !ok {
			t.Errorf("JSON lacks key %q", key)
		}
	}
	hsil := m["per_class"].(map[string]any)["HSIL"].(map[string]any)
	for _, key := range []string{"precision", "recall", "f1", "auc", "support"} {
		if _, ok := hsil[key]; !ok {
			t.Errorf("per_class.HSIL lacks key %q", key)
		}
	}
	if i := bytes.Index(b.Bytes(), []byte(`"HSIL"`)); i < 0 || i > bytes.Index(b.Bytes(), []byte(`"SCC": {`)) {
		t.Errorf("per_class is not in class order")
	}
}

func TestJSONNaNIsNull(t *testing.T) {
	trueClass, probs := fromConfusion([][]int{{0, 0, 0, 0}, {0, 0, 0, 0}, {1, 0, 3, 0}, {0, 0, 0, 0}}, 0.7)
	r, err := Evaluate(trueClass, probs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"macro_auc":null`, `"LSIL":{"precision":null,"recall":null,"f1":null,"auc":null,"support":0}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back.MacroAUC) || !math.IsNaN(back.PerClass[1].Precision) || back.PerClass[2].Recall != 0.75 || back.Confusion[2][2] != 3 {
		t.Errorf("round trip: %+v", back)
	}
	b2, _ := json.Marshal(&back)
	if !bytes.Equal(b, b2) {
		t.Errorf("round trip changed the JSON:\n%s\n%s", b, b2)
	}
}

func TestWriteTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := paperReport(t).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", b.Bytes())
}
