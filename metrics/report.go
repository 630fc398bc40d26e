package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// number is a float64 that marshals NaN and ±Inf as JSON null and unmarshals null as NaN.
type number float64

// MarshalJSON writes null for NaN and ±Inf, the number otherwise.
func (x number) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads null as NaN.
func (x *number) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*x = number(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*x = number(f)
	return nil
}

// classJSON is the JSON form of ClassStats.
type classJSON struct {
	Precision number `json:"precision"`
	Recall    number `json:"recall"`
	F1        number `json:"f1"`
	AUC       number `json:"auc"`
	Support   int    `json:"support"`
}

// perClassJSON is the per_class object, keyed by class name in class order.
type perClassJSON struct {
	classes []string
	stats   []ClassStats
}

// MarshalJSON writes the classes in class order (a Go map would sort them).
func (p perClassJSON) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for c, s := range p.stats {
		if c > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(p.classes[c])
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(classJSON{number(s.Precision), number(s.Recall), number(s.F1), number(s.AUC), s.Support})
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// reportJSON is the JSON form of Report.
type reportJSON struct {
	N                int               `json:"n"`
	Classes          []string          `json:"classes"`
	Accuracy         number            `json:"accuracy"`
	BalancedAccuracy number            `json:"balanced_accuracy"`
	MacroF1          number            `json:"macro_f1"`
	MacroAUC         number            `json:"macro_auc"`
	ECE              number            `json:"ece"`
	LogLoss          number            `json:"log_loss"`
	PerClass         json.RawMessage   `json:"per_class"`
	Confusion        [][]int           `json:"confusion"`
	ConfusionAxes    map[string]string `json:"confusion_axes"`
	OODAUROC         *number           `json:"ood_auroc"`
	OOD              *oodJSON          `json:"ood"`
}

// MarshalJSON writes the report with keys n, classes, accuracy,
// balanced_accuracy, macro_f1, macro_auc, ece, log_loss, per_class (an object
// keyed by class name, in class order, of precision, recall, f1, auc and
// support), confusion (rows = true class, columns = predicted), ood_auroc and
// ood (the out-of-distribution evaluation; null when none was made or the
// weights carry no statistics); NaN values are written as null.
func (r *Report) MarshalJSON() ([]byte, error) {
	per, err := json.Marshal(perClassJSON{r.Classes, r.PerClass})
	if err != nil {
		return nil, err
	}
	j := reportJSON{
		N: r.N, Classes: r.Classes,
		Accuracy: number(r.Accuracy), BalancedAccuracy: number(r.BalancedAccuracy),
		MacroF1: number(r.MacroF1), MacroAUC: number(r.MacroAUC),
		ECE: number(r.ECE), LogLoss: number(r.LogLoss),
		PerClass: per, Confusion: r.Confusion,
		ConfusionAxes: map[string]string{"rows": "true", "columns": "predicted"},
		OOD:           r.OOD.toJSON(),
	}
	if j.OOD != nil {
		j.OODAUROC = &j.OOD.AUROC
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the form MarshalJSON writes, null as NaN.
func (r *Report) UnmarshalJSON(b []byte) error {
	var j reportJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("metrics report: %w", err)
	}
	var per map[string]classJSON
	if err := json.Unmarshal(j.PerClass, &per); err != nil {
		return fmt.Errorf("metrics report: per_class: %w", err)
	}
	*r = Report{
		Classes: j.Classes, N: j.N,
		Accuracy: float64(j.Accuracy), BalancedAccuracy: float64(j.BalancedAccuracy),
		MacroF1: float64(j.MacroF1), MacroAUC: float64(j.MacroAUC),
		ECE: float64(j.ECE), LogLoss: float64(j.LogLoss),
		Confusion: j.Confusion, OOD: j.OOD.report(),
	}
	for _, name := range j.Classes {
		s, ok := per[name]
		if !ok {
			return fmt.Errorf("metrics report: per_class has no entry for class %s", name)
		}
		r.PerClass = append(r.PerClass, ClassStats{float64(s.Precision), float64(s.Recall), float64(s.F1), float64(s.AUC), s.Support})
	}
	return nil
}

// WriteJSON writes the report as indented JSON followed by a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("write metrics JSON: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write metrics JSON: %w", err)
	}
	return nil
}

// WriteText writes a readable summary: the overall metrics, a per-class
// table and the confusion matrix (rows = true class, columns = predicted).
// Undefined values are shown as "-".
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "examples           %d\n", r.N)
	fmt.Fprintf(&b, "accuracy           %s\n", pct(r.Accuracy))
	fmt.Fprintf(&b, "balanced accuracy  %s\n", pct(r.BalancedAccuracy))
	fmt.Fprintf(&b, "macro F1           %s\n", dec(r.MacroF1))
	fmt.Fprintf(&b, "macro AUC          %s\n", dec(r.MacroAUC))
	fmt.Fprintf(&b, "ECE (%d bins)      %s\n", ECEBins, dec(r.ECE))
	fmt.Fprintf(&b, "log loss           %s\n\n", dec(r.LogLoss))

	nameW := len("class")
	for _, name := range r.Classes {
		nameW = max(nameW, len(name))
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tprecision\trecall\tF1\tAUC\tsupport\t\n", nameW, "class")
	for c, s := range r.PerClass {
		fmt.Fprintf(tw, "%-*s\t%s\t%s\t%s\t%s\t%d\t\n", nameW, r.Classes[c], dec(s.Precision), dec(s.Recall), dec(s.F1), dec(s.AUC), s.Support)
	}
	tw.Flush()

	b.WriteString("\nconfusion matrix (rows = true, columns = predicted)\n")
	nameW = max(nameW, len("true \\ predicted"))
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\t", nameW, "true \\ predicted")
	for _, name := range r.Classes {
		fmt.Fprintf(tw, "%s\t", name)
	}
	fmt.Fprint(tw, "total\t\n")
	for c, row := range r.Confusion {
		fmt.Fprintf(tw, "%-*s\t", nameW, r.Classes[c])
		total := 0
		for _, v := range row {
			fmt.Fprintf(tw, "%d\t", v)
			total += v
		}
		fmt.Fprintf(tw, "%d\t\n", total)
	}
	tw.Flush()
	if r.OOD != nil {
		b.WriteString("\n" + r.OOD.text())
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write metrics text: %w", err)
	}
	return nil
}

// dec formats x with four decimals, "-" if undefined.
func dec(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	return fmt.Sprintf("%.4f", x)
}

// pct formats a fraction as a percentage, "-" if undefined.
func pct(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100*x)
}
