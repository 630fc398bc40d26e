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

// Row is one classified image of a batch.
type Row struct {
	File  string
	Top   string
	Probs [nn.NumClasses]float32 // in nn.ClassNames order
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

// WriteCSV writes rows as CSV with the header file,top_class,HSIL,LSIL,NILM,SCC.
// A file name that a spreadsheet would run as a formula is prefixed with a quote.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(append([]string{"file", "top_class"}, nn.ClassNames()...)); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, r := range rows {
		rec := []string{defuse(r.File), r.Top}
		for _, p := range r.Probs {
			rec = append(rec, FormatProb(p))
		}
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
