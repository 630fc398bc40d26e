package nn

import (
	"fmt"
	"math"
)

// This file is a deliberately naive float64 implementation of the network,
// driven by Architecture() layer by layer with Keras semantics. It shares no
// kernel with the fast forward pass, so it checks both the kernels and the
// architecture data.

type refTensor struct {
	h, w, c int
	v       []float64
}

func (t refTensor) at(y, x, c int) float64 { return t.v[(y*t.w+x)*t.c+c] }

type refResult struct {
	logits, probs [NumClasses]float64
	pooled        []float64
	features      []float64
	featureDims   Dims
}

func referenceForward(w *Weights, input []float32, in Dims) refResult {
	get := func(name string) []float64 {
		src := w.Tensor(name)
		out := make([]float64, len(src))
		for i, v := range src {
			out[i] = float64(v)
		}
		return out
	}
	act := func(v float64, a Activation) float64 {
		if a == ReLU && v < 0 {
			return 0
		}
		return v
	}
	outs := map[string]refTensor{}
	var res refResult
	var vec []float64
	for _, l := range Architecture() {
		var x refTensor
		if len(l.Inputs) > 0 {
			x = outs[l.Inputs[0]]
		}
		var y refTensor
		switch l.Kind {
		case Input:
			y = refTensor{in.Height, in.Width, 3, make([]float64, len(input))}
			for i, v := range input {
				y.v[i] = float64(v)
			}
		case Conv2D:
			k, b := get(l.Name+"/kernel"), get(l.Name+"/bias")
			oh, ow := (x.h-3)/l.Stride+1, (x.w-3)/l.Stride+1
			y = refTensor{oh, ow, l.Filters, make([]float64, oh*ow*l.Filters)}
			for oy := range oh {
				for ox := range ow {
					for f := range l.Filters {
						s := b[f]
						for ky := range 3 {
							for kx := range 3 {
								for c := range x.c {
									s += x.at(oy*l.Stride+ky, ox*l.Stride+kx, c) * k[((ky*3+kx)*x.c+c)*l.Filters+f]
								}
							}
						}
						y.v[(oy*ow+ox)*l.Filters+f] = act(s, l.Activation)
					}
				}
			}
		case SeparableConv2D:
			dk, pk, b := get(l.Name+"/depthwise_kernel"), get(l.Name+"/pointwise_kernel"), get(l.Name+"/bias")
			dw := refTensor{x.h, x.w, x.c, make([]float64, len(x.v))}
			for yy := range x.h {
				for xx := range x.w {
					for c := range x.c {
						s := 0.0
						for ky := range 3 {
							for kx := range 3 {
								sy, sx := yy+ky-1, xx+kx-1
								if sy >= 0 && sy < x.h && sx >= 0 && sx < x.w {
									s += x.at(sy, sx, c) * dk[(ky*3+kx)*x.c+c]
								}
							}
						}
						dw.v[(yy*x.w+xx)*x.c+c] = s
					}
				}
			}
			y = refTensor{x.h, x.w, l.Filters, make([]float64, x.h*x.w*l.Filters)}
			for p := range x.h * x.w {
				for f := range l.Filters {
					s := b[f]
					for c := range x.c {
						s += dw.v[p*x.c+c] * pk[c*l.Filters+f]
					}
					y.v[p*l.Filters+f] = act(s, l.Activation)
				}
			}
		case BatchNorm:
			g, be, mu, va := get(l.Name+"/gamma"), get(l.Name+"/beta"), get(l.Name+"/moving_mean"), get(l.Name+"/moving_variance")
			y = refTensor{x.h, x.w, x.c, make([]float64, len(x.v))}
			for i, v := range x.v {
				c := i % x.c
				y.v[i] = (v-mu[c])/math.Sqrt(va[c]+BNEpsilon)*g[c] + be[c]
			}
		case MaxPool2D:
			oh, ow := (x.h-3)/2+1, (x.w-3)/2+1
			y = refTensor{oh, ow, x.c, make([]float64, oh*ow*x.c)}
			for oy := range oh {
				for ox := range ow {
					for c := range x.c {
						m := math.Inf(-1)
						for ky := range 3 {
							for kx := range 3 {
								m = math.Max(m, x.at(2*oy+ky, 2*ox+kx, c))
							}
						}
						y.v[(oy*ow+ox)*x.c+c] = m
					}
				}
			}
		case Add:
			other := outs[l.Inputs[1]]
			y = refTensor{x.h, x.w, x.c, make([]float64, len(x.v))}
			for i := range x.v {
				y.v[i] = x.v[i] + other.v[i]
			}
		case GlobalAvgPool2D:
			res.features = x.v
			res.featureDims = Dims{x.h, x.w}
			vec = make([]float64, x.c)
			for i, v := range x.v {
				vec[i%x.c] += v / float64(x.h*x.w)
			}
			res.pooled = vec
		case Dense:
			k, b := get(l.Name+"/kernel"), get(l.Name+"/bias")
			out := make([]float64, l.Filters)
			for j := range out {
				s := b[j]
				for i, v := range vec {
					s += v * k[i*l.Filters+j]
				}
				out[j] = act(s, l.Activation)
			}
			if l.Activation == Softmax {
				copy(res.logits[:], out)
				mx, sum := math.Inf(-1), 0.0
				for _, v := range out {
					mx = math.Max(mx, v)
				}
				for j, v := range out {
					res.probs[j] = math.Exp(v - mx)
					sum += res.probs[j]
				}
				for j := range res.probs {
					res.probs[j] /= sum
				}
			}
			vec = out
		default:
			panic(fmt.Sprintf("reference: unhandled layer kind %v", l.Kind))
		}
		outs[l.Name] = y
	}
	return res
}
