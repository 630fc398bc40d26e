package nn

import "fmt"

// GradCAM writes into dst the Grad-CAM map of class for out, the result of m's
// last forward pass: ReLU(Σ_k α_k·Features_k) at out.FeatureDims, normalised so
// its largest value is 1 (a map that is zero everywhere stays zero). α_k is the
// gradient of the class's logit with respect to the pooled feature k, through
// the dense head, divided by the number of feature-map pixels, which equals the
// spatial mean of the logit's gradient with respect to the feature map.
//
// dst is reused when it has room for FeatureDims.Height×FeatureDims.Width
// values, so the call allocates nothing; otherwise a new slice is returned.
func (m *Model) GradCAM(dst []float32, out *Output, class Class) ([]float32, error) {
	if class < 0 || class >= NumClasses {
		return nil, fmt.Errorf("nn: grad-cam class %d is not in [0,%d)", class, NumClasses)
	}
	d := out.FeatureDims
	n := d.Height * d.Width
	if n == 0 || len(out.Features) != n*256 || len(out.Pooled) != 256 {
		return nil, fmt.Errorf("nn: grad-cam needs the output of a forward pass")
	}
	p := m.p
	const hidden = 256
	// g_j = ∂logit/∂h_j = W2[j][class] where the hidden ReLU is active, else 0.
	var g [hidden]float32
	for j := range hidden {
		pre := p.dense1B[j]
		for k, x := range out.Pooled {
			pre += x * p.dense1W[k*hidden+j]
		}
		if pre > 0 {
			g[j] = p.dense2W[j*NumClasses+int(class)]
		}
	}
	// α_k = Σ_j W1[k][j]·g_j / n.
	var alpha [256]float32
	inv := 1 / float32(n)
	for k := range alpha {
		row := p.dense1W[k*hidden : (k+1)*hidden]
		s := float32(0)
		for j, w := range row {
			s += w * g[j]
		}
		alpha[k] = s * inv
	}
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	mx := float32(0)
	for i := range dst {
		f := out.Features[i*256 : (i+1)*256]
		s := float32(0)
		for k, a := range alpha {
			s += a * f[k]
		}
		s = max(s, 0)
		dst[i] = s
		mx = max(mx, s)
	}
	if mx > 0 {
		for i, v := range dst {
			dst[i] = v / mx // division, not a reciprocal: the largest value becomes exactly 1
		}
	}
	return dst, nil
}
