// Package modelcard turns weights' metadata into the model card the page
// shows: where the weights came from, what data trained them, their held-out
// metrics and how they were measured, and what kind of images trained them
// (as the metadata records it: nn.Metadata.Data).
package modelcard

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"papscope/metrics"
	"papscope/nn"
)

// Card is the model card, display-ready. It travels from the worker to the page as JSON.
type Card struct {
	Name         string        `json:"name"`          // the weights file name
	Source       string        `json:"source"`        // what made them (trainer, import)
	TrainingData string        `json:"training_data"` // what data trained them
	Input        string        `json:"input"`         // input size, "64×64"
	InputWidth   int           `json:"input_width"`   // the input size in pixels, for the page's note on resizing
	InputHeight  int           `json:"input_height"`
	Crop         float64       `json:"crop"`         // share of each side kept, centred, before resizing; 0 for the whole image
	Data         string        `json:"data"`         // what kind of images trained them: nn.SyntheticData, nn.RealData, or "" when not recorded
	Synthetic    bool          `json:"synthetic"`    // trained on synthetic images: a demonstration only
	Evaluation   string        `json:"evaluation"`   // how the metrics were measured; "" when not recorded
	OOD          string        `json:"ood"`          // whether an out-of-distribution score is available
	Summary      []Field       `json:"summary"`      // held-out metrics overall
	PerClass     []ClassMetric `json:"per_class"`    // held-out metrics per class, in class order
	MetricsNote  string        `json:"metrics_note"` // why there are no metrics, when there are none
}

// Field is one labelled value.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// ClassMetric is one class's held-out metrics, formatted.
type ClassMetric struct {
	Class     string `json:"class"`
	Precision string `json:"precision"`
	Recall    string `json:"recall"`
	F1        string `json:"f1"`
	Support   string `json:"support"`
}

// New makes the card of weights called name with metadata m; hasOOD says whether they carry OOD statistics.
func New(name string, m nn.Metadata, hasOOD bool) Card {
	c := Card{
		Name:         name,
		Source:       OrUnknown(m.Source),
		TrainingData: OrUnknown(m.TrainingData),
		Input:        fmt.Sprintf("%d×%d", m.Input.Width, m.Input.Height),
		InputWidth:   m.Input.Width,
		InputHeight:  m.Input.Height,
		Crop:         m.Crop,
		Data:         m.Data,
		Synthetic:    m.Data == nn.SyntheticData,
		Evaluation:   m.Evaluation,
		OOD:          "not carried by these weights: no out-of-distribution warning",
	}
	if hasOOD {
		c.OOD = fmt.Sprintf("available (threshold %.3g)", m.OODThreshold)
	}
	if m.Metrics == "" {
		c.MetricsNote = "These weights carry no held-out metrics."
		return c
	}
	var r metrics.Report
	if err := json.Unmarshal([]byte(m.Metrics), &r); err != nil || r.N == 0 || len(r.Classes) == 0 {
		c.MetricsNote = "The held-out metrics are not in papscope's format: " + truncate(m.Metrics, 200)
		return c
	}
	c.Summary = []Field{
		{"Held-out images", fmt.Sprint(r.N)},
		{"Accuracy", number(r.Accuracy, true)},
		{"Balanced accuracy", number(r.BalancedAccuracy, true)},
		{"Macro F1", number(r.MacroF1, false)},
		{"Macro AUC", number(r.MacroAUC, false)},
		{"Calibration error (ECE)", number(r.ECE, false)},
	}
	for i, s := range r.PerClass {
		c.PerClass = append(c.PerClass, ClassMetric{Class: r.Classes[i], Precision: number(s.Precision, false),
			Recall: number(s.Recall, false), F1: number(s.F1, false), Support: fmt.Sprint(s.Support)})
	}
	return c
}

// Unknown is how the card, and papscope info, show a metadata field the weights do not record.
const Unknown = "unknown"

// OrUnknown returns s, or Unknown when s is blank.
func OrUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return Unknown
	}
	return s
}

// number formats a metric: a percentage with one decimal, or three decimals.
func number(v float64, pct bool) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case pct:
		return fmt.Sprintf("%.1f%%", 100*v)
	}
	return fmt.Sprintf("%.3f", v)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
