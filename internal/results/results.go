// Package results formats classification results for the page: probabilities
// as the page's data attributes and text show them, and the batch table as CSV.
package results

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"papscope/nn"
)

// CSVName is the file name the batch export downloads as.
const CSVName = "papscope-results.csv"

// Row is one image of a batch: classified, or failed with Error.
type Row struct {
	File  string
	Top   string
	Probs [nn.NumClasses]float32 // in nn.ClassNames order

	// OOD is the out-of-distribution score and verdict; nil when the weights
	// carry no statistics (or the image failed).
	OOD *OOD
	// Error says why the image could not be classified; the other fields are then empty.
	Error string
}

// OOD is one image's out-of-distribution score and whether it is at most the weights' threshold.
type OOD struct {
	Score float32
	In    bool
}

// Run says what produced a batch: the weights, their input size and when.
// Every CSV row repeats it, so that a row copied elsewhere keeps it.
type Run struct {
	Weights string // the weights' name, e.g. papscope.safetensors
	Input   string // the weights' input size, width×height, e.g. 128x96
	At      string // when the batch was classified, RFC 3339 in UTC
}

// Header is the CSV's first line: the same fields, in the same order, for the page and `papscope classify -csv`.
var Header = []string{"file", "top_class", "HSIL", "LSIL", "NILM", "SCC", "ood_score", "in_distribution", "error", "weights", "input_size", "classified_at"}

// InDistribution is the table's and CSV's text for an image's OOD verdict:
// "yes", "no", or "" when there is no verdict.
func (r Row) InDistribution() string {
	switch {
	case r.OOD == nil:
		return ""
	case r.OOD.In:
		return "yes"
	}
	return "no"
}

// Score formats an OOD score for the CSV, exactly, or "" when there is none.
func (r Row) Score() string {
	if r.OOD == nil {
		return ""
	}
	return FormatProb(r.OOD.Score)
}

// FormatProb formats a probability exactly, the shortest decimal that reads back as the same float32.
func FormatProb(p float32) string { return strconv.FormatFloat(float64(p), 'g', -1, 32) }

// FormatProbs formats probabilities with FormatProb, comma-separated, in class order.
func FormatProbs(p [nn.NumClasses]float32) string {
	s := make([]string, len(p))
	for i, v := range p {
		s[i] = FormatProb(v)
	}
	return strings.Join(s, ",")
}

// Percent formats a probability for people: one decimal, "<0.1%" for tiny non-zero values.
func Percent(p float32) string {
	switch {
	case p > 0 && p < 0.0005:
		return "<0.1%"
	case p > 0.9995 && p < 1:
		return ">99.9%"
	}
	return fmt.Sprintf("%.1f%%", 100*p)
}

// Millis formats a duration in milliseconds for people.
func Millis(ms float64) string {
	if ms < 10 {
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// WriteCSV writes rows as CSV under Header: the probabilities, the
// out-of-distribution score and verdict (empty when the weights carry no
// statistics), the error of a file that failed (its other cells empty), and
// the run's weights, input size and date on every row. A cell that a
// spreadsheet would run as a formula is prefixed with a quote.
func WriteCSV(w io.Writer, run Run, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, r := range rows {
		rec := []string{defuse(r.File), r.Top}
		for _, p := range r.Probs {
			if r.Error != "" {
				rec = append(rec, "")
				continue
			}
			rec = append(rec, FormatProb(p))
		}
		rec = append(rec, r.Score(), r.InDistribution(), defuse(r.Error), defuse(run.Weights), run.Input, run.At)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// defuse prefixes a cell that starts like a spreadsheet formula with an apostrophe.
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
