package metrics

import "fmt"

// OODReport says how well an out-of-distribution score (higher = less like
// the training data) tells in-distribution images from outliers.
type OODReport struct {
	Available bool      // false when the weights carry no out-of-distribution statistics; nothing else is then set
	Threshold float64   // the score above which the weights call an image out of distribution
	InN       int       // in-distribution images scored
	InFlagged float64   // fraction of them above the threshold (false alarms)
	AUROC     float64   // ROC AUC of the score for outliers (all kinds) against in-distribution images
	Kinds     []OODKind // per kind of outlier, in the order given
}

// OODKind is the out-of-distribution score's result on one kind of outlier.
type OODKind struct {
	Name    string  `json:"kind"`
	N       int     `json:"n"`
	AUROC   float64 `json:"auroc"`
	Flagged float64 `json:"flagged"` // fraction above the threshold (detected)
}

// EvaluateOOD scores the separation of the outliers out[k] (of kind
// kinds[k]) from the in-distribution scores in.
func EvaluateOOD(threshold float64, in []float64, kinds []string, out [][]float64) (*OODReport, error) {
	if len(kinds) != len(out) {
		return nil, fmt.Errorf("ood metrics: %d kind names for %d kinds of scores", len(kinds), len(out))
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("ood metrics: no in-distribution scores")
	}
	r := &OODReport{Available: true, Threshold: threshold, InN: len(in), InFlagged: flagged(in, threshold)}
	scores := append([]float64(nil), in...)
	positive := make([]bool, len(in))
	for k, s := range out {
		if len(s) == 0 {
			return nil, fmt.Errorf("ood metrics: no scores of kind %s", kinds[k])
		}
		r.Kinds = append(r.Kinds, OODKind{Name: kinds[k], N: len(s), AUROC: auroc(in, s), Flagged: flagged(s, threshold)})
		scores = append(scores, s...)
		for range s {
			positive = append(positive, true)
		}
	}
	r.AUROC = AUC(scores, positive)
	return r, nil
}

// auroc is the AUC of telling out (positive) from in by score.
func auroc(in, out []float64) float64 {
	scores := append(append([]float64(nil), in...), out...)
	positive := make([]bool, len(scores))
	for i := len(in); i < len(scores); i++ {
		positive[i] = true
	}
	return AUC(scores, positive)
}

func flagged(scores []float64, threshold float64) float64 {
	n := 0
	for _, s := range scores {
		if s > threshold {
			n++
		}
	}
	return float64(n) / float64(len(scores))
}

// oodJSON is the JSON form of OODReport.
type oodJSON struct {
	Threshold number    `json:"threshold"`
	InN       int       `json:"in_n"`
	InFlagged number    `json:"in_flagged"`
	AUROC     number    `json:"auroc"`
	Kinds     []OODKind `json:"kinds"`
}

func (r *OODReport) toJSON() *oodJSON {
	if r == nil || !r.Available {
		return nil
	}
	return &oodJSON{number(r.Threshold), r.InN, number(r.InFlagged), number(r.AUROC), r.Kinds}
}

func (j *oodJSON) report() *OODReport {
	if j == nil {
		return nil
	}
	return &OODReport{Available: true, Threshold: float64(j.Threshold), InN: j.InN, InFlagged: float64(j.InFlagged), AUROC: float64(j.AUROC), Kinds: j.Kinds}
}

// text is the report's readable form, one line per kind.
func (r *OODReport) text() string {
	if !r.Available {
		return "out-of-distribution score: unavailable (the weights carry no statistics for it)\n"
	}
	s := fmt.Sprintf("out-of-distribution score: AUROC %s against outliers; threshold %.4g flags %s of these fields\n",
		dec(r.AUROC), r.Threshold, pct(r.InFlagged))
	for _, k := range r.Kinds {
		s += fmt.Sprintf("  %-8s %4d images  AUROC %s  flagged %s\n", k.Name, k.N, dec(k.AUROC), pct(k.Flagged))
	}
	return s
}
