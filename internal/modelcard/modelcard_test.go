package modelcard

import (
	"reflect"
	"strings"
	"testing"

	"papscope/nn"
)

func meta(training, data, metrics string) nn.Metadata {
	m := nn.DefaultMetadata(nn.Dims{Height: 64, Width: 48})
	m.TrainingData, m.Data, m.Metrics, m.Source = training, data, metrics, "papscope train"
	m.OODThreshold = 12.5
	return m
}

const papscopeMetrics = `{"n":40,"classes":["HSIL","LSIL","NILM","SCC"],"accuracy":0.925,"balanced_accuracy":0.9,` +
	`"macro_f1":0.91,"macro_auc":null,"ece":0.03,"log_loss":0.2,` +
	`"per_class":{"HSIL":{"precision":1,"recall":0.9,"f1":0.947,"auc":0.99,"support":10},` +
	`"SCC":{"precision":0.8,"recall":null,"f1":0.8,"auc":0.9,"support":10}},"confusion":[[1]]}`

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
			name: "papscope metrics", m: meta("fields drawn by papscope synth", nn.SyntheticData, papscopeMetrics), ood: true, synthetic: true,
			summary: []Field{{"Held-out images", "40"}, {"Accuracy", "92.5%"}, {"Balanced accuracy", "90.0%"},
				{"Macro F1", "0.910"}, {"Calibration error (ECE)", "0.030"}},
			perClass: []ClassMetric{{"HSIL", "1.000", "0.900", "0.947", "10"}, {"SCC", "0.800", "–", "0.800", "10"}},
			oodSub:   "threshold 12.5",
		},
		{name: "no metrics", m: meta("Mendeley LBC", nn.RealData, ""), note: "no held-out metrics", oodSub: "not carried"},
		// The kind of data is what the metadata records, not a word in the description.
		{name: "synthetic in words only", m: meta("synthetic fields", "", ""), note: "no held-out metrics", oodSub: "not carried"},
		{name: "foreign metrics", m: meta("", "", `{"val_acc":0.9}`), note: "not in papscope's format", oodSub: "not carried"},
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
	if c := New("x", meta("", "", ""), false); c.TrainingData != "unknown" {
		t.Errorf("empty training data shows %q, want unknown", c.TrainingData)
	}
}
