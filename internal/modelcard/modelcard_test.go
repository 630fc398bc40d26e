package modelcard

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"papscope/metrics"
	"papscope/nn"
)

func meta(training, data, metrics string) nn.Metadata {
	m := nn.DefaultMetadata(nn.Dims{Height: 64, Width: 48})
	m.TrainingData, m.Data, m.Metrics, m.Source = training, data, metrics, "papscope train"
	m.OODThreshold = 12.5
	return m
}

// papscopeMetrics returns the metrics JSON papscope writes for four held-out
// images: HSIL, LSIL and one NILM right, one NILM called HSIL, no SCC; every
// prediction with confidence 0.7.
func papscopeMetrics(t *testing.T) string {
	t.Helper()
	row := func(c int) []float32 {
		p := []float32{0.1, 0.1, 0.1, 0.1}
		p[c] = 0.7
		return p
	}
	r, err := metrics.Evaluate([]int{0, 1, 2, 2}, [][]float32{row(0), row(1), row(0), row(2)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name      string
		m         nn.Metadata
		ood       bool
		synthetic bool
		summary   []Field
		perClass  []ClassMetric
		note      string
		oodSub    string
	}{
		{
			name: "papscope metrics", m: meta("fields drawn by papscope synth", nn.SyntheticData, papscopeMetrics(t)), ood: true, synthetic: true,
			summary: []Field{{"Held-out images", "4"}, {"Accuracy", "75.0%"}, {"Balanced accuracy", "83.3%"},
				{"Macro F1", "0.778"}, {"Macro AUC", "0.861"}, {"Calibration error (ECE)", "0.050"}},
			perClass: []ClassMetric{{"HSIL", "0.500", "1.000", "0.667", "1"}, {"LSIL", "1.000", "1.000", "1.000", "1"},
				{"NILM", "1.000", "0.500", "0.667", "2"}, {"SCC", "–", "–", "–", "0"}},
			oodSub: "threshold 12.5",
		},
		{name: "no metrics", m: meta("Mendeley LBC", nn.RealData, ""), note: "no held-out metrics", oodSub: "not carried"},
		// The kind of data is what the metadata records, not a word in the description.
		{name: "synthetic in words only", m: meta("synthetic fields", "", ""), note: "no held-out metrics", oodSub: "not carried"},
		{name: "foreign metrics", m: meta("", "", `{"val_acc":0.9}`), note: "not in papscope's format", oodSub: "not carried"},
		// A per_class object missing classes is not what metrics writes.
		{name: "partial metrics", m: meta("", "", `{"n":4,"classes":["HSIL","SCC"],"accuracy":0.5,"per_class":{"HSIL":{"precision":1}}}`),
			note: "not in papscope's format", oodSub: "not carried"},
		{name: "not JSON", m: meta("", "", `accuracy 0.9`), note: "not in papscope's format", oodSub: "not carried"},
	} {
		c := New("w.safetensors", tc.m, tc.ood)
		if c.Name != "w.safetensors" || c.Input != "48×64" {
			t.Errorf("%s: name %q input %q", tc.name, c.Name, c.Input)
		}
		if c.Synthetic != tc.synthetic {
			t.Errorf("%s: synthetic = %v, want %v", tc.name, c.Synthetic, tc.synthetic)
		}
		if !reflect.DeepEqual(c.Summary, tc.summary) {
			t.Errorf("%s: summary = %v, want %v", tc.name, c.Summary, tc.summary)
		}
		if !reflect.DeepEqual(c.PerClass, tc.perClass) {
			t.Errorf("%s: per class = %v, want %v", tc.name, c.PerClass, tc.perClass)
		}
		if !strings.Contains(c.MetricsNote, tc.note) || (tc.note == "") != (c.MetricsNote == "") {
			t.Errorf("%s: note %q, want one containing %q", tc.name, c.MetricsNote, tc.note)
		}
		if !strings.Contains(c.OOD, tc.oodSub) {
			t.Errorf("%s: OOD %q, want it to contain %q", tc.name, c.OOD, tc.oodSub)
		}
	}
	if c := New("x", meta(" ", "", ""), false); c.TrainingData != Unknown {
		t.Errorf("blank training data shows %q, want %q", c.TrainingData, Unknown)
	}
}
