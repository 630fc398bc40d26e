package nn

import (
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"

	"papscope/internal/kernel"
)

// Trust: what the weights may carry, beyond the parameters, to say how far to
// believe an output. A softmax temperature calibrates the probabilities; the
// per-class means and the shared precision matrix of the pooled 256-vector
// give an out-of-distribution score, the Mahalanobis distance of an input's
// pooled features to the nearest class mean, with a threshold chosen on
// validation data. Weights without them (imported Keras weights) run as
// before: temperature 1 and no score.

// Names of the optional out-of-distribution tensors. They are statistics of
// the training data, not parameters: Params does not list them.
const (
	OODMeansName     = "ood/class_means" // [NumClasses, OODDim]: mean pooled vector of each class
	OODPrecisionName = "ood/precision"   // [OODDim, OODDim]: inverse of the shared covariance, symmetric
)

// OODDim is the length of the pooled vector the out-of-distribution score uses.
const OODDim = 256

// MaxTemperature is the largest softmax temperature weights may carry.
const MaxTemperature = 100

// Metadata keys of the trust statistics, decimal strings.
const (
	keyTemperature  = "temperature"
	keyOODThreshold = "ood_threshold"
)

// symmetryTolerance is how far, relative to the largest diagonal entry, the
// precision matrix may be from symmetric (float32 rounding of a symmetric
// float64 matrix is exactly symmetric; this allows for other writers).
const symmetryTolerance = 1e-5

// oodParams returns the shapes of the optional out-of-distribution tensors.
func oodParams() []Param {
	return []Param{
		{Name: OODMeansName, Shape: []int{NumClasses, OODDim}},
		{Name: OODPrecisionName, Shape: []int{OODDim, OODDim}},
	}
}

// validateTrust checks the temperature and the threshold values; 0 means absent.
func (m Metadata) validateTrust() error {
	if t := m.Temperature; t != 0 && !(t > 0 && t <= MaxTemperature) { // also rejects NaN
		return fmt.Errorf("weights: temperature %g is not in (0, %d]", t, MaxTemperature)
	}
	if t := m.OODThreshold; t != 0 && !(t > 0 && !math.IsInf(t, 1)) {
		return fmt.Errorf("weights: %s %g is not a positive finite number", keyOODThreshold, t)
	}
	return nil
}

// temperature returns the softmax temperature to apply: 1 when the metadata has none.
func (m Metadata) temperature() float64 {
	if m.Temperature == 0 {
		return 1
	}
	return m.Temperature
}

// validateOOD checks the out-of-distribution statistics: all of them or none,
// shapes, finite values, and a symmetric positive-definite precision matrix.
func validateOOD(meta Metadata, tensors map[string][]float32) error {
	var have, missing []string
	for _, name := range []string{OODMeansName, OODPrecisionName} {
		if _, ok := tensors[name]; ok {
			have = append(have, "tensor "+name)
		} else {
			missing = append(missing, "tensor "+name)
		}
	}
	if meta.OODThreshold != 0 {
		have = append(have, "metadata "+keyOODThreshold)
	} else {
		missing = append(missing, "metadata "+keyOODThreshold)
	}
	if len(have) == 0 {
		return nil
	}
	if len(missing) > 0 {
		return fmt.Errorf("weights: out-of-distribution statistics are incomplete: have %s, missing %s (give all or none)",
			strings.Join(have, ", "), strings.Join(missing, ", "))
	}
	for _, p := range oodParams() {
		v := tensors[p.Name]
		if len(v) != p.Size() {
			return tensorError(p.Name, "has %d values, want %d for %w %v", len(v), p.Size(), ErrTensorShape, p.Shape)
		}
		if err := checkFinite(p.Name, v); err != nil {
			return err
		}
	}
	return checkPrecision(tensors[OODPrecisionName])
}

// checkPrecision checks that an OODDim×OODDim matrix is symmetric within
// symmetryTolerance and positive definite (its Cholesky factorisation succeeds).
func checkPrecision(p []float32) error {
	const n = OODDim
	maxDiag := 0.0
	for i := range n {
		d := float64(p[i*n+i])
		if !(d > 0) {
			return tensorError(OODPrecisionName, "has diagonal entry %g at [%d,%d], want > 0", d, i, i)
		}
		maxDiag = max(maxDiag, d)
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			a, b := float64(p[i*n+j]), float64(p[j*n+i])
			if math.Abs(a-b) > symmetryTolerance*maxDiag {
				return tensorError(OODPrecisionName, "is not symmetric: [%d,%d] = %g, [%d,%d] = %g", i, j, a, j, i, b)
			}
		}
	}
	// Cholesky in float64 of the symmetric part: it fails exactly when the matrix is not positive definite.
	l := make([]float64, n*n)
	for i := range n {
		for j := range i + 1 {
			s := (float64(p[i*n+j]) + float64(p[j*n+i])) / 2
			s -= dot(l[i*n:i*n+j], l[j*n:j*n+j])
			if i == j {
				if !(s > 0) {
					return tensorError(OODPrecisionName, "is not positive definite")
				}
				l[i*n+i] = math.Sqrt(s)
			} else {
				l[i*n+j] = s / l[j*n+j]
			}
		}
	}
	return nil
}

// dot returns Σ a[k]·b[k] (len(b) ≥ len(a)) in four running sums, so the
// additions of consecutive terms do not wait on each other.
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	k := 0
	for ; k+4 <= len(a); k += 4 {
		s0 += a[k] * b[k]
		s1 += a[k+1] * b[k+1]
		s2 += a[k+2] * b[k+2]
		s3 += a[k+3] * b[k+3]
	}
	for ; k < len(a); k++ {
		s0 += a[k] * b[k]
	}
	return (s0 + s1) + (s2 + s3)
}

// HasOOD reports whether the weights carry out-of-distribution statistics.
func (w *Weights) HasOOD() bool { return w.tensors[OODMeansName] != nil }

// WithTrust returns a copy of w carrying a softmax temperature (0 or 1 for
// none) and out-of-distribution statistics: means, NumClasses×OODDim in class
// order; precision, OODDim×OODDim row-major; and the threshold on the score
// (nil, nil and 0 for none). The result is validated as NewWeights validates;
// w is unchanged.
func (w *Weights) WithTrust(temperature float64, means, precision []float32, threshold float64) (*Weights, error) {
	meta := w.Meta()
	meta.Temperature = temperature
	meta.OODThreshold = threshold
	tensors := maps.Clone(w.tensors)
	delete(tensors, OODMeansName)
	delete(tensors, OODPrecisionName)
	if means != nil {
		tensors[OODMeansName] = append([]float32(nil), means...)
	}
	if precision != nil {
		tensors[OODPrecisionName] = append([]float32(nil), precision...)
	}
	return NewWeights(meta, tensors)
}

// parseDecimal reads an optional decimal metadata value; absent is 0.
func parseDecimal(md map[string]string, key string) (float64, error) {
	s, ok := md[key]
	if !ok {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) {
		return 0, fmt.Errorf("weights: metadata %q is %q, want a positive decimal number", key, s)
	}
	return v, nil
}

// formatDecimal writes a metadata value so that parseDecimal reads back the same float64.
func formatDecimal(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// oodStats are the out-of-distribution statistics in the form Forward uses.
type oodStats struct {
	means     []float64 // NumClasses × OODDim
	precision []float64 // OODDim × OODDim
	threshold float32
}

// newOODStats converts w's statistics to float64, or returns nil when w has none.
func newOODStats(w *Weights) *oodStats {
	if !w.HasOOD() {
		return nil
	}
	return &oodStats{
		means:     kernel.Convert[float64](w.Tensor(OODMeansName)),
		precision: kernel.Convert[float64](w.Tensor(OODPrecisionName)),
		threshold: float32(w.meta.OODThreshold),
	}
}

// score returns the out-of-distribution score of pooled; diff is OODDim scratch.
func (s *oodStats) score(pooled []float32, diff []float64) float64 {
	return MahalanobisScore(pooled, s.means, s.precision, diff)
}

// MahalanobisScore returns the minimum over classes of the Mahalanobis
// distance sqrt((x−μc)ᵀ P (x−μc)) in float64, with means holding one row of
// len(x) values per class and P (len(x)²) the shared precision matrix; diff is
// len(x) scratch. It is the OOD score Forward reports, for fitting code to share.
func MahalanobisScore(x []float32, means, precision, diff []float64) float64 {
	n := len(x)
	diff = diff[:n]
	best := math.Inf(1)
	for c := range len(means) / n {
		mean := means[c*n : (c+1)*n]
		for i, v := range x {
			diff[i] = float64(v) - mean[i]
		}
		q := 0.0
		for i, di := range diff {
			row := precision[i*n : (i+1)*n]
			r := 0.0
			for j, dj := range diff {
				r += row[j] * dj
			}
			q += di * r
		}
		best = min(best, q)
	}
	return math.Sqrt(max(best, 0))
}

// InDistribution reports whether the input looks like the training data: the
// out-of-distribution score is available and at most the weights' threshold.
// It is false when the weights carry no statistics (unknown, not "out").
func (o *Output) InDistribution() bool {
	return o.OODAvailable && o.OODScore <= o.OODThreshold
}
