// Package calibrate fits the trust statistics papscope's weights carry: a
// softmax temperature that calibrates the probabilities, and the class means
// and shared precision matrix of the pooled feature vector that give an
// out-of-distribution (Mahalanobis distance) score, with its threshold.
//
// It is native-side fitting, run by `papscope train` on the validation and
// training splits; nn applies the results (see nn.Weights.WithTrust).
package calibrate

import (
	"fmt"
	"math"
	"slices"

	"papscope/internal/kernel"
	"papscope/nn"
)

// Temperature search range: FitTemperature returns a T in [MinTemperature, MaxTemperature].
const (
	MinTemperature = 0.05
	MaxTemperature = 20
)

// temperatureTolerance is the width, in log T, at which the golden-section search stops (a relative error of about 1e-7).
const temperatureTolerance = 1e-7

// FitTemperature returns the softmax temperature T that minimises the mean
// negative log-likelihood of labels under softmax(logits / T) — temperature
// scaling (Guo et al., 2017). The search is a golden-section search over
// log T in [log MinTemperature, log MaxTemperature]: the NLL is convex in 1/T
// (a log-sum-exp of functions linear in 1/T minus a linear one), hence unimodal
// in log T, so the search finds the minimum, or the end of the range nearest to it.
func FitTemperature(logits [][nn.NumClasses]float32, labels []int) (float64, error) {
	if len(logits) == 0 {
		return 0, fmt.Errorf("fit temperature: no examples")
	}
	if len(logits) != len(labels) {
		return 0, fmt.Errorf("fit temperature: %d logit rows for %d labels", len(logits), len(labels))
	}
	for i, row := range logits {
		if y := labels[i]; y < 0 || y >= nn.NumClasses {
			return 0, fmt.Errorf("fit temperature: label %d of example %d is not a class index in [0, %d)", y, i, nn.NumClasses)
		}
		for _, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return 0, fmt.Errorf("fit temperature: example %d has non-finite logit %g", i, v)
			}
		}
	}
	nll := func(logT float64) float64 { return NLL(logits, labels, math.Exp(logT)) }
	invPhi := (math.Sqrt(5) - 1) / 2 // 1/φ
	a, b := math.Log(MinTemperature), math.Log(MaxTemperature)
	c, d := b-invPhi*(b-a), a+invPhi*(b-a)
	fc, fd := nll(c), nll(d)
	for b-a > temperatureTolerance {
		if fc <= fd { // the minimum is in [a, d]
			b, d, fd = d, c, fc
			c = b - invPhi*(b-a)
			fc = nll(c)
		} else { // in [c, b]
			a, c, fc = c, d, fd
			d = a + invPhi*(b-a)
			fd = nll(d)
		}
	}
	return min(max(math.Exp((a+b)/2), MinTemperature), MaxTemperature), nil
}

// Temperature returns the temperature to calibrate with, and the fit it came
// from (FitTemperature). A fit at either end of the search range means the
// NLL has no minimum inside it — on examples the network classifies without
// error and with margin it keeps falling as T → 0, which would only make the
// probabilities more extreme — so the temperature is not identifiable from
// these examples and Temperature returns 1, the network's own.
func Temperature(logits [][nn.NumClasses]float32, labels []int) (use, fitted float64, err error) {
	fitted, err = FitTemperature(logits, labels)
	if err != nil {
		return 0, 0, err
	}
	if fitted <= MinTemperature*1.001 || fitted >= MaxTemperature/1.001 {
		return 1, fitted, nil
	}
	return fitted, fitted, nil
}

// NLL returns the mean negative log-likelihood of labels under
// softmax(logits / temperature), computed stably in float64.
func NLL(logits [][nn.NumClasses]float32, labels []int, temperature float64) float64 {
	sum := 0.0
	for i, row := range logits {
		var z [nn.NumClasses]float64
		mx := math.Inf(-1)
		for k, v := range row {
			z[k] = float64(v) / temperature
			mx = max(mx, z[k])
		}
		s := 0.0
		for _, v := range z {
			s += math.Exp(v - mx)
		}
		sum += mx + math.Log(s) - z[labels[i]]
	}
	return sum / float64(len(logits))
}

// ProbsAt returns the probabilities of every row of logits at softmax
// temperature t (0 means 1), as weights carrying t give them (nn.Probs).
func ProbsAt(logits [][nn.NumClasses]float32, t float64) [][]float32 {
	out := make([][]float32, len(logits))
	for i, l := range logits {
		out[i] = nn.Probs(make([]float32, nn.NumClasses), l[:], t)
	}
	return out
}

// MinShrinkage is the least weight FitOOD gives the scaled-identity target in
// the covariance estimate. It keeps the covariance well conditioned (condition
// number at most about dim/MinShrinkage) even when a feature never varies in
// the training data, as a ReLU unit that is always off does.
const MinShrinkage = 1e-3

// FitOOD fits the statistics of the out-of-distribution score on pooled
// feature vectors (one row per training image, all of one length dim) with
// their class labels. It returns the class means, nn.NumClasses×dim in class
// order, and the precision matrix, dim×dim row-major, exactly symmetric: the
// inverse of the shared (tied) within-class covariance, as in linear
// discriminant analysis.
//
// The covariance S of the class-centred vectors (divided by n − classes) is
// shrunk towards μI, μ = trace(S)/dim, with the Ledoit–Wolf (2004) intensity
// δ = min(1, b²/d²) — d² = ‖S − μI‖²_F, b² = (1/n²) Σᵢ ‖xᵢxᵢᵀ − S‖²_F over the
// centred vectors xᵢ — and at least MinShrinkage: Σ = (1 − δ)S + δμI. Σ is
// inverted through its Cholesky factorisation in float64.
func FitOOD(pooled [][]float32, labels []int) (means, precision []float64, err error) {
	n := len(pooled)
	if n == 0 {
		return nil, nil, fmt.Errorf("fit ood: no examples")
	}
	if n != len(labels) {
		return nil, nil, fmt.Errorf("fit ood: %d feature rows for %d labels", n, len(labels))
	}
	dim := len(pooled[0])
	if dim == 0 {
		return nil, nil, fmt.Errorf("fit ood: empty feature vectors")
	}
	var count [nn.NumClasses]int
	means = make([]float64, nn.NumClasses*dim)
	for i, row := range pooled {
		if len(row) != dim {
			return nil, nil, fmt.Errorf("fit ood: example %d has %d features, want %d", i, len(row), dim)
		}
		y := labels[i]
		if y < 0 || y >= nn.NumClasses {
			return nil, nil, fmt.Errorf("fit ood: label %d of example %d is not a class index in [0, %d)", y, i, nn.NumClasses)
		}
		count[y]++
		m := means[y*dim : (y+1)*dim]
		for j, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, nil, fmt.Errorf("fit ood: example %d has non-finite feature %g", i, v)
			}
			m[j] += float64(v)
		}
	}
	for c, k := range count {
		if k == 0 {
			return nil, nil, fmt.Errorf("fit ood: no examples of class %s", nn.ClassNames()[c])
		}
		for j := range dim {
			means[c*dim+j] /= float64(k)
		}
	}
	if n <= nn.NumClasses {
		return nil, nil, fmt.Errorf("fit ood: %d examples, want more than %d to estimate a covariance", n, nn.NumClasses)
	}

	// Within-class covariance S, and the centred vectors for the shrinkage intensity.
	centred := make([][]float64, n)
	s := make([]float64, dim*dim)
	for i, row := range pooled {
		x := make([]float64, dim)
		m := means[labels[i]*dim:]
		for j, v := range row {
			x[j] = float64(v) - m[j]
		}
		centred[i] = x
		for a, xa := range x {
			if xa == 0 {
				continue
			}
			sr := s[a*dim : a*dim+a+1]
			for b := range sr {
				sr[b] += xa * x[b]
			}
		}
	}
	norm := 1 / float64(n-nn.NumClasses)
	for a := range dim {
		for b := range a + 1 {
			s[a*dim+b] *= norm
			s[b*dim+a] = s[a*dim+b]
		}
	}
	mu := 0.0
	for a := range dim {
		mu += s[a*dim+a]
	}
	mu /= float64(dim)
	if !(mu > 0) {
		return nil, nil, fmt.Errorf("fit ood: the features do not vary within classes")
	}
	delta := shrinkage(s, centred, mu)
	sigma := make([]float64, dim*dim)
	for a := range dim {
		for b := range dim {
			sigma[a*dim+b] = (1 - delta) * s[a*dim+b]
		}
		sigma[a*dim+a] += delta * mu
	}
	precision, err = invertSPD(sigma, dim)
	if err != nil {
		return nil, nil, fmt.Errorf("fit ood: %w", err)
	}
	return means, precision, nil
}

// shrinkage returns the Ledoit–Wolf intensity for shrinking the covariance s
// of the centred vectors x towards mu·I, at least MinShrinkage and at most 1.
func shrinkage(s []float64, x [][]float64, mu float64) float64 {
	dim := len(x[0])
	d2, sNorm2 := 0.0, 0.0
	for a := range dim {
		for b := range dim {
			v := s[a*dim+b]
			sNorm2 += v * v
			if a == b {
				v -= mu
			}
			d2 += v * v
		}
	}
	// ‖xxᵀ − S‖² = ‖x‖⁴ − 2 xᵀSx + ‖S‖².
	b2 := 0.0
	for _, xi := range x {
		xx, xsx := 0.0, 0.0
		for a, xa := range xi {
			xx += xa * xa
			if xa == 0 {
				continue
			}
			row := s[a*dim : (a+1)*dim]
			r := 0.0
			for b, xb := range xi {
				r += row[b] * xb
			}
			xsx += xa * r
		}
		b2 += xx*xx - 2*xsx + sNorm2
	}
	n := float64(len(x))
	b2 /= n * n
	if d2 == 0 {
		return 1
	}
	return min(max(b2/d2, MinShrinkage), 1)
}

// invertSPD inverts a symmetric positive-definite dim×dim matrix through its
// Cholesky factorisation A = LLᵀ: A⁻¹ = L⁻ᵀL⁻¹, made exactly symmetric.
func invertSPD(a []float64, dim int) ([]float64, error) {
	l := make([]float64, dim*dim)
	for i := range dim {
		for j := range i + 1 {
			s := a[i*dim+j]
			for k := range j {
				s -= l[i*dim+k] * l[j*dim+k]
			}
			if i == j {
				if !(s > 0) {
					return nil, fmt.Errorf("covariance is not positive definite (pivot %d is %g)", i, s)
				}
				l[i*dim+i] = math.Sqrt(s)
			} else {
				l[i*dim+j] = s / l[j*dim+j]
			}
		}
	}
	// Solve L·M = I for M = L⁻¹ (lower triangular), column by column.
	m := make([]float64, dim*dim)
	for c := range dim {
		for i := c; i < dim; i++ {
			s := 0.0
			if i == c {
				s = 1
			}
			for k := c; k < i; k++ {
				s -= l[i*dim+k] * m[k*dim+c]
			}
			m[i*dim+c] = s / l[i*dim+i]
		}
	}
	// A⁻¹[i][j] = Σ_k M[k][i]·M[k][j], k ≥ max(i, j).
	inv := make([]float64, dim*dim)
	for i := range dim {
		for j := range i + 1 {
			s := 0.0
			for k := i; k < dim; k++ {
				s += m[k*dim+i] * m[k*dim+j]
			}
			inv[i*dim+j], inv[j*dim+i] = s, s
		}
	}
	return inv, nil
}

// Score returns the out-of-distribution score of a feature vector x exactly
// as nn computes it (nn.MahalanobisScore), with means and precision as FitOOD returns them.
func Score(means, precision []float64, x []float32) float64 {
	return nn.MahalanobisScore(x, means, precision, make([]float64, len(x)))
}

// OODThreshold returns the quantile (in (0, 1], e.g. 0.99) of the scores of
// in-distribution validation images: the threshold above which an input is
// called out of distribution, so that about 1 − quantile of in-distribution
// images are. The quantile interpolates linearly between order statistics
// (Hyndman and Fan's type 7, NumPy's default).
func OODThreshold(scores []float64, quantile float64) (float64, error) {
	if len(scores) == 0 {
		return 0, fmt.Errorf("ood threshold: no scores")
	}
	if !(quantile > 0 && quantile <= 1) {
		return 0, fmt.Errorf("ood threshold: quantile %g is not in (0, 1]", quantile)
	}
	s := slices.Clone(scores)
	for _, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, fmt.Errorf("ood threshold: score %g is not a finite non-negative number", v)
		}
	}
	slices.Sort(s)
	h := quantile * float64(len(s)-1)
	lo := int(math.Floor(h))
	hi := min(lo+1, len(s)-1)
	t := s[lo] + (h-float64(lo))*(s[hi]-s[lo])
	if t <= 0 {
		return 0, fmt.Errorf("ood threshold: the %g quantile of the scores is 0", quantile)
	}
	return t, nil
}

// Attach returns a copy of w carrying a temperature and out-of-distribution
// statistics (as FitTemperature, FitOOD and OODThreshold return them; the
// features must be nn.OODDim long), validated by nn.
func Attach(w *nn.Weights, temperature float64, means, precision []float64, threshold float64) (*nn.Weights, error) {
	t, err := w.WithTrust(temperature, kernel.Convert[float32](means), kernel.Convert[float32](precision), threshold)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	return t, nil
}
