package shortcut

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"

	"papscope/internal/imagefile"
	"papscope/internal/parallel"
	"papscope/metrics"
	"papscope/nn"
)

// Treatment is what is done to every image, of every class alike, to take
// the shortcuts away: re-encoding at one JPEG quality (training and
// evaluation, natively) and a centre crop (preprocessing, everywhere).
type Treatment struct {
	JPEGQuality int     // re-encode every image at this quality before use; 0 leaves files as they are
	Crop        float64 // share of each side kept, centred (nn.Preprocessor.Crop); 0 keeps the whole image
}

// None is no treatment: the files as they are, the whole image.
var None = Treatment{}

// Default is papscope's treatment of the LBC data: every image re-encoded at
// the abnormal copies' quality (so a NILM field, saved at 90, gets the same
// quantisation as the copies; re-encoding those at 75 again changes little),
// and the centre half of each side kept, where nearest fill seldom reaches.
var Default = Treatment{JPEGQuality: AbnormalQuality, Crop: 0.5}

// JPEGQualityKey is the weights' metadata key (nn.Metadata.Extra) recording
// the JPEG quality training images were re-encoded at; the crop has its own
// field, nn.Metadata.Crop, since nn applies it.
const JPEGQualityKey = "jpeg_quality"

// String describes t for messages and metadata.
func (t Treatment) String() string {
	if t == None {
		return "none"
	}
	s := ""
	if t.JPEGQuality > 0 {
		s = fmt.Sprintf("re-encoded at JPEG quality %d", t.JPEGQuality)
	}
	if t.Crop > 0 && t.Crop < 1 {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("centre crop keeping %g of each side", t.Crop)
	}
	return s
}

// Apply returns img as the network sees it under t, before resizing: re-encoded
// at t.JPEGQuality when set, then cropped.
func (t Treatment) Apply(img image.Image) (image.Image, error) {
	if t.JPEGQuality > 0 {
		var err error
		if img, _, err = Requantize(img, t.JPEGQuality); err != nil {
			return nil, err
		}
	}
	return crop(img, t.Crop), nil
}

// crop returns the centred part of img that nn keeps at share c.
func crop(img image.Image, c float64) image.Image {
	r := nn.CropRect(img.Bounds(), c)
	if r == img.Bounds() {
		return img
	}
	if s, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return s.SubImage(r)
	}
	return img
}

// Stats are an image's non-morphological statistics: what a classifier could
// use to tell the classes apart without looking at a single cell.
type Stats struct {
	Quality int     // estimated JPEG quality of the file (of the re-encoded file under a treatment)
	Fill    float64 // FillFraction of the part of the image the network sees
}

// Measure reads a JPEG file and returns its statistics under t.
func Measure(path string, t Treatment) (Stats, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Stats{}, fmt.Errorf("shortcut statistics: %w", err)
	}
	img, err := imagefile.Decode(data)
	if err != nil {
		return Stats{}, fmt.Errorf("shortcut statistics: %s: %w", path, err)
	}
	if t.JPEGQuality > 0 {
		if img, data, err = Requantize(img, t.JPEGQuality); err != nil {
			return Stats{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	q, err := JPEGQuality(data)
	if err != nil {
		return Stats{}, fmt.Errorf("%s: %w", path, err)
	}
	return Stats{Quality: q, Fill: FillFraction(crop(img, t.Crop))}, nil
}

// MeasureAll measures every file on workers goroutines.
func MeasureAll(ctx context.Context, paths []string, t Treatment, workers int) ([]Stats, error) {
	out := make([]Stats, len(paths))
	err := parallel.For(ctx, len(paths), workers, func(_ context.Context, _, i int) error {
		var err error
		out[i], err = Measure(paths[i], t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ProbeResult is how well the statistics alone predict the class, out of fold.
type ProbeResult struct {
	N                int     `json:"n"`
	Folds            int     `json:"folds"`
	Accuracy         float64 `json:"accuracy"`
	BalancedAccuracy float64 `json:"balanced_accuracy"`    // chance: 1/4
	Chance           float64 `json:"chance"`               // balanced accuracy of a constant guess
	NILMvsAbnormal   float64 `json:"nilm_vs_abnormal_auc"` // AUC of P(NILM) for NILM against the other classes; chance 0.5
	Confusion        [][]int `json:"confusion"`
}

// features turns statistics into the classifier's inputs.
func features(s Stats) []float64 {
	return []float64{float64(s.Quality), s.Fill, s.Fill * s.Fill}
}

// Probe trains a class-weighted multinomial logistic regression on the
// statistics of the images outside each fold and scores it on the images in
// it (fold[i] is image i's fold, e.g. from dataset.Folds by slide), and
// returns the pooled out-of-fold figures.
func Probe(stats []Stats, labels, fold []int) (*ProbeResult, error) {
	if len(stats) != len(labels) || len(stats) != len(fold) {
		return nil, fmt.Errorf("probe: %d statistics, %d labels, %d folds: want one of each per image", len(stats), len(labels), len(fold))
	}
	k := 0
	for _, f := range fold {
		k = max(k, f+1)
	}
	probs := make([][]float32, len(stats))
	for f := range k {
		var xs [][]float64
		var ys []int
		for i, s := range stats {
			if fold[i] != f {
				xs, ys = append(xs, features(s)), append(ys, labels[i])
			}
		}
		if len(xs) == 0 {
			return nil, fmt.Errorf("probe: fold %d holds every image", f)
		}
		m := fitLogistic(xs, ys)
		for i, s := range stats {
			if fold[i] == f {
				probs[i] = m.predict(features(s))
			}
		}
	}
	rep, err := metrics.Evaluate(labels, probs)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	nilm := 2
	scores := make([]float64, len(probs))
	positive := make([]bool, len(probs))
	for i, p := range probs {
		scores[i], positive[i] = float64(p[nilm]), labels[i] == nilm
	}
	present := 0
	for _, c := range rep.PerClass {
		if c.Support > 0 {
			present++
		}
	}
	return &ProbeResult{
		N: rep.N, Folds: k, Accuracy: rep.Accuracy, BalancedAccuracy: rep.BalancedAccuracy,
		Chance: 1 / float64(max(present, 1)), NILMvsAbnormal: metrics.AUC(scores, positive), Confusion: rep.Confusion,
	}, nil
}

// logistic is a multinomial logistic regression on standardised features.
type logistic struct {
	mean, sd []float64
	w        [][]float64 // per class: bias, then one weight per feature
}

// fitLogistic fits by full-batch gradient descent, each class weighted by
// the inverse of its frequency, with a small L2 penalty.
func fitLogistic(xs [][]float64, ys []int) *logistic {
	d := len(xs[0])
	m := &logistic{mean: make([]float64, d), sd: make([]float64, d), w: make([][]float64, nn.NumClasses)}
	for _, x := range xs {
		for j, v := range x {
			m.mean[j] += v / float64(len(xs))
		}
	}
	for _, x := range xs {
		for j, v := range x {
			m.sd[j] += (v - m.mean[j]) * (v - m.mean[j]) / float64(len(xs))
		}
	}
	for j := range m.sd {
		m.sd[j] = math.Sqrt(m.sd[j])
	}
	count := make([]float64, nn.NumClasses)
	for _, y := range ys {
		count[y]++
	}
	cw := make([]float64, nn.NumClasses)
	for c := range cw {
		if count[c] > 0 {
			cw[c] = float64(len(ys)) / (float64(nn.NumClasses) * count[c])
		}
	}
	for c := range m.w {
		m.w[c] = make([]float64, d+1)
	}
	z := make([][]float64, len(xs))
	for i, x := range xs {
		z[i] = m.standardise(x)
	}
	const steps, rate, l2 = 2000, 0.5, 1e-3
	grad := make([][]float64, nn.NumClasses)
	for c := range grad {
		grad[c] = make([]float64, d+1)
	}
	for range steps {
		for c := range grad {
			clear(grad[c])
		}
		for i, zi := range z {
			p := m.softmax(zi)
			for c := range p {
				g := cw[ys[i]] * (p[c] - b2f(c == ys[i]))
				grad[c][0] += g
				for j, v := range zi {
					grad[c][j+1] += g * v
				}
			}
		}
		for c := range m.w {
			for j := range m.w[c] {
				m.w[c][j] -= rate * (grad[c][j]/float64(len(z)) + l2*m.w[c][j])
			}
		}
	}
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// standardise centres and scales x by the training statistics; a constant
// feature becomes 0.
func (m *logistic) standardise(x []float64) []float64 {
	z := make([]float64, len(x))
	for j, v := range x {
		if m.sd[j] > 1e-12 {
			z[j] = (v - m.mean[j]) / m.sd[j]
		}
	}
	return z
}

func (m *logistic) softmax(z []float64) []float64 {
	p := make([]float64, len(m.w))
	top := math.Inf(-1)
	for c, w := range m.w {
		s := w[0]
		for j, v := range z {
			s += w[j+1] * v
		}
		p[c] = s
		top = max(top, s)
	}
	sum := 0.0
	for c := range p {
		p[c] = math.Exp(p[c] - top)
		sum += p[c]
	}
	for c := range p {
		p[c] /= sum
	}
	return p
}

// predict returns the class probabilities of one image's features.
func (m *logistic) predict(x []float64) []float32 {
	p := m.softmax(m.standardise(x))
	out := make([]float32, len(p))
	for c, v := range p {
		out[c] = float32(v)
	}
	return out
}
