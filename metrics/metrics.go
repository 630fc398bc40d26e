// Package metrics computes the classification metrics `papscope eval`
// reports — accuracy, balanced accuracy, per-class precision, recall, F1 and
// one-vs-rest ROC AUC, the confusion matrix, expected calibration error and
// log loss — from true classes and predicted probabilities, and renders them
// as text and JSON; it also returns the points of the reliability diagram and
// the ROC curves (Reliability, ClassROC), which metrics/plots draws.
//
// A value that is undefined for the data (precision of a class never
// predicted, recall or AUC of a class absent from the labels, AUC of a class
// that is the only one present) is NaN in a Report and null in its JSON.
package metrics

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"papscope/nn"
)

// ECEBins is the number of equal-width confidence bins of the expected calibration error.
const ECEBins = 15

// probEpsilon clips probabilities in the log loss, so a confident mistake costs
// -log(1e-15) ≈ 34.5 rather than infinity (scikit-learn's convention).
const probEpsilon = 1e-15

// sumTolerance is how far a probability row may sum from 1.
const sumTolerance = 1e-3

// ClassStats are the one-vs-rest metrics of one class.
type ClassStats struct {
	Precision float64 // TP / (TP + FP); NaN if the class is never predicted
	Recall    float64 // TP / (TP + FN); NaN if the class has no examples
	F1        float64 // harmonic mean of precision and recall; 0 if both are 0, NaN if either is NaN
	AUC       float64 // one-vs-rest ROC AUC of the class's probability; NaN unless both it and another class are present
	Support   int     // number of examples of the class
}

// Report holds the metrics of a set of predictions.
type Report struct {
	Classes          []string     // class names, in index order
	N                int          // number of examples
	Accuracy         float64      // fraction of examples whose top-probability class is the true class
	BalancedAccuracy float64      // mean recall over the classes present
	MacroF1          float64      // mean F1 over the classes where it is defined; NaN if none
	MacroAUC         float64      // mean AUC over the classes where it is defined; NaN if none
	ECE              float64      // expected calibration error of the top-class confidence, ECEBins bins
	LogLoss          float64      // mean negative log probability of the true class
	PerClass         []ClassStats // per class, in index order
	Confusion        [][]int      // Confusion[true][predicted] counts
	OOD              *OODReport   // the out-of-distribution score's evaluation, when the caller made one (see EvaluateOOD)
}

// Evaluate computes the metrics for the four papscope classes (nn.ClassNames):
// trueClass[i] is the true class of example i and probs[i] its predicted
// probabilities, one per class. The predicted class is the most probable one
// (the lowest index on ties).
func Evaluate(trueClass []int, probs [][]float32) (*Report, error) {
	return EvaluateClasses(nn.ClassNames(), trueClass, probs)
}

// EvaluateClasses is Evaluate for any list of class names; each row of probs
// has one probability per class.
func EvaluateClasses(classes []string, trueClass []int, probs [][]float32) (*Report, error) {
	k, n := len(classes), len(trueClass)
	if k < 2 {
		return nil, fmt.Errorf("evaluate: %d classes, want at least 2", k)
	}
	if n == 0 {
		return nil, fmt.Errorf("evaluate: no examples")
	}
	if len(probs) != n {
		return nil, fmt.Errorf("evaluate: %d true classes but %d probability rows", n, len(probs))
	}
	for i, row := range probs {
		if len(row) != k {
			return nil, fmt.Errorf("evaluate: example %d has %d probabilities, want %d", i, len(row), k)
		}
		sum := 0.0
		for j, p := range row {
			if !(p >= 0 && p <= 1) {
				return nil, fmt.Errorf("evaluate: example %d: probability of %s is %v, want a number in [0, 1]", i, classes[j], p)
			}
			sum += float64(p)
		}
		if math.Abs(sum-1) > sumTolerance {
			return nil, fmt.Errorf("evaluate: example %d: probabilities sum to %.6g, want 1 (pass softmax outputs, not logits)", i, sum)
		}
		if c := trueClass[i]; c < 0 || c >= k {
			return nil, fmt.Errorf("evaluate: example %d: true class %d out of range [0, %d)", i, c, k)
		}
	}

	r := &Report{Classes: slices.Clone(classes), N: n, PerClass: make([]ClassStats, k), Confusion: make([][]int, k)}
	for c := range r.Confusion {
		r.Confusion[c] = make([]int, k)
	}
	pred := make([]int, n)
	correct, logLoss := 0, 0.0
	for i, row := range probs {
		pred[i] = int(nn.Argmax(row))
		r.Confusion[trueClass[i]][pred[i]]++
		if pred[i] == trueClass[i] {
			correct++
		}
		logLoss -= math.Log(min(max(float64(row[trueClass[i]]), probEpsilon), 1))
	}
	r.Accuracy = float64(correct) / float64(n)
	r.LogLoss = logLoss / float64(n)

	scores := make([]float64, n)
	positive := make([]bool, n)
	var recalls, f1s, aucs []float64
	for c := range k {
		tp, predicted, support := r.Confusion[c][c], 0, 0
		for j := range k {
			predicted += r.Confusion[j][c]
			support += r.Confusion[c][j]
		}
		s := ClassStats{Support: support, Precision: ratio(tp, predicted), Recall: ratio(tp, support)}
		switch {
		case math.IsNaN(s.Precision) || math.IsNaN(s.Recall):
			s.F1 = math.NaN()
		case s.Precision+s.Recall == 0:
			s.F1 = 0
		default:
			s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
		}
		for i, row := range probs {
			scores[i], positive[i] = float64(row[c]), trueClass[i] == c
		}
		s.AUC = AUC(scores, positive)
		r.PerClass[c] = s
		recalls = appendDefined(recalls, s.Recall)
		f1s = appendDefined(f1s, s.F1)
		aucs = appendDefined(aucs, s.AUC)
	}
	r.BalancedAccuracy = mean(recalls)
	r.MacroF1 = mean(f1s)
	r.MacroAUC = mean(aucs)
	r.ECE = ECE(Reliability(trueClass, probs))
	return r, nil
}

// AUC returns the area under the ROC curve of scores for telling positive from
// negative examples: the Mann–Whitney U statistic over the number of
// positive–negative pairs, from average ranks, so a tied pair counts one half.
// It is NaN if either class is absent.
func AUC(scores []float64, positive []bool) float64 {
	n := len(scores)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	nPos, rankSum := 0, 0.0
	for lo := 0; lo < n; {
		hi := lo + 1
		for hi < n && scores[idx[hi]] == scores[idx[lo]] {
			hi++
		}
		rank := float64(lo+hi+1) / 2 // mean of the 1-based ranks lo+1 … hi
		for _, i := range idx[lo:hi] {
			if positive[i] {
				nPos++
				rankSum += rank
			}
		}
		lo = hi
	}
	nNeg := n - nPos
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	u := rankSum - float64(nPos)*float64(nPos+1)/2
	return u / (float64(nPos) * float64(nNeg))
}

// ratio returns a/b, NaN if b is 0.
func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// appendDefined appends x unless it is NaN.
func appendDefined(s []float64, x float64) []float64 {
	if math.IsNaN(x) {
		return s
	}
	return append(s, x)
}

// mean returns the mean of s, NaN if s is empty.
func mean(s []float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	return sum / float64(len(s))
}

// Wilson returns the 95 % Wilson score interval of a proportion of k
// successes in n trials; NaN, NaN when n is 0.
func Wilson(k, n int) (lo, hi float64) {
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	const z = 1.959963984540054
	p, nf := float64(k)/float64(n), float64(n)
	centre := (p + z*z/(2*nf)) / (1 + z*z/nf)
	half := z / (1 + z*z/nf) * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return max(0, centre-half), min(1, centre+half)
}
