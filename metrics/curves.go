package metrics

import (
	"cmp"
	"math"
	"slices"

	"papscope/nn"
)

// Bin is one confidence bin of the reliability diagram: the examples whose
// top-class confidence lies in (Lo, Hi].
type Bin struct {
	Lo, Hi     float64 // the bin's confidence range
	Count      int     // examples in the bin
	Confidence float64 // their mean top-class confidence; NaN when the bin is empty
	Accuracy   float64 // the fraction of them predicted right; NaN when the bin is empty
}

// Reliability returns the ECEBins equal-width bins of the top-class
// confidence that the expected calibration error is computed from (a
// confidence of 0 goes in the first). trueClass and probs are as Evaluate's
// and must have passed it.
func Reliability(trueClass []int, probs [][]float32) []Bin {
	bins := make([]Bin, ECEBins)
	var conf, acc [ECEBins]float64
	for i, row := range probs {
		pred := int(nn.Argmax(row))
		p := float64(row[pred])
		b := min(max(int(math.Ceil(p*ECEBins))-1, 0), ECEBins-1)
		bins[b].Count++
		conf[b] += p
		if pred == trueClass[i] {
			acc[b]++
		}
	}
	for b := range bins {
		bins[b].Lo, bins[b].Hi = float64(b)/ECEBins, float64(b+1)/ECEBins
		bins[b].Confidence, bins[b].Accuracy = math.NaN(), math.NaN()
		if n := float64(bins[b].Count); n > 0 {
			bins[b].Confidence, bins[b].Accuracy = conf[b]/n, acc[b]/n
		}
	}
	return bins
}

// ECE returns the expected calibration error of bins:
// Σ |bin|/n · |accuracy(bin) − mean confidence(bin)|.
func ECE(bins []Bin) float64 {
	n, e := 0, 0.0
	for _, b := range bins {
		if b.Count > 0 {
			n += b.Count
			e += float64(b.Count) * math.Abs(b.Accuracy-b.Confidence)
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return e / float64(n)
}

// Point is a point of an ROC curve.
type Point struct {
	FPR, TPR float64 // false and true positive rates
}

// ROC returns the ROC curve of scores for telling positive from negative
// examples: one point per distinct score, taken as the threshold from the
// highest down, after (0, 0); tied scores move both rates at once, so the
// trapezoidal area under the points is AUC(scores, positive). It is nil if
// either class is absent.
func ROC(scores []float64, positive []bool) []Point {
	n := len(scores)
	idx := make([]int, n)
	nPos := 0
	for i := range idx {
		idx[i] = i
		if positive[i] {
			nPos++
		}
	}
	nNeg := n - nPos
	if nPos == 0 || nNeg == 0 {
		return nil
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	pts := []Point{{0, 0}}
	tp, fp := 0, 0
	for lo := 0; lo < n; {
		hi := lo + 1
		for hi < n && scores[idx[hi]] == scores[idx[lo]] {
			hi++
		}
		for _, i := range idx[lo:hi] {
			if positive[i] {
				tp++
			} else {
				fp++
			}
		}
		pts = append(pts, Point{float64(fp) / float64(nNeg), float64(tp) / float64(nPos)})
		lo = hi
	}
	return pts
}

// ClassROC returns the one-vs-rest ROC curve of each class's probability, in
// class order (nil for a class whose AUC is undefined); trueClass and probs
// are as Evaluate's and must have passed it.
func ClassROC(trueClass []int, probs [][]float32) [][]Point {
	if len(probs) == 0 {
		return nil
	}
	k := len(probs[0])
	curves := make([][]Point, k)
	scores := make([]float64, len(probs))
	positive := make([]bool, len(probs))
	for c := range k {
		for i, row := range probs {
			scores[i], positive[i] = float64(row[c]), trueClass[i] == c
		}
		curves[c] = ROC(scores, positive)
	}
	return curves
}
