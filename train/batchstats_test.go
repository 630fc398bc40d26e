package train

import (
	"math"
	"testing"

	"papscope/nn"
)

// referenceBatchStats runs the network in training mode in float64 (batch
// normalization with the batch's own statistics, as the training graph does)
// and returns, for every batch-normalization layer, the per-channel batch mean
// and biased variance of its input.
func referenceBatchStats(w *nn.Weights, images []float32, batch int, in nn.Dims) map[string][2][]float64 {
	type act struct {
		h, w, c int
		v       []float64 // batch × h × w × c
	}
	get := func(name string) []float64 {
		src := w.Tensor(name)
		out := make([]float64, len(src))
		for i, v := range src {
			out[i] = float64(v)
		}
		return out
	}
	relu := func(v float64) float64 { return max(v, 0) }
	stats := map[string][2][]float64{}
	outs := map[string]act{}
	for _, l := range nn.Architecture() {
		var x act
		if len(l.Inputs) > 0 {
			x = outs[l.Inputs[0]]
		}
		var y act
		switch l.Kind {
		case nn.Input:
			y = act{in.Height, in.Width, 3, make([]float64, len(images))}
			for i, v := range images {
				y.v[i] = float64(v)
			}
		case nn.Conv2D:
			k, b := get(l.Name+"/kernel"), get(l.Name+"/bias")
			oh, ow := (x.h-3)/2+1, (x.w-3)/2+1
			y = act{oh, ow, l.Filters, make([]float64, batch*oh*ow*l.Filters)}
			for n := range batch {
				for oy := range oh {
					for ox := range ow {
						for f := range l.Filters {
							s := b[f]
							for ky := range 3 {
								for kx := range 3 {
									for c := range x.c {
										s += x.v[((n*x.h+2*oy+ky)*x.w+2*ox+kx)*x.c+c] * k[((ky*3+kx)*x.c+c)*l.Filters+f]
									}
								}
							}
							y.v[((n*oh+oy)*ow+ox)*l.Filters+f] = relu(s)
						}
					}
				}
			}
		case nn.SeparableConv2D:
			dk, pk, b := get(l.Name+"/depthwise_kernel"), get(l.Name+"/pointwise_kernel"), get(l.Name+"/bias")
			y = act{x.h, x.w, l.Filters, make([]float64, batch*x.h*x.w*l.Filters)}
			dw := make([]float64, x.c)
			for n := range batch {
				for yy := range x.h {
					for xx := range x.w {
						for c := range x.c {
							s := 0.0
							for ky := range 3 {
								for kx := range 3 {
									sy, sx := yy+ky-1, xx+kx-1
									if sy >= 0 && sy < x.h && sx >= 0 && sx < x.w {
										s += x.v[((n*x.h+sy)*x.w+sx)*x.c+c] * dk[(ky*3+kx)*x.c+c]
									}
								}
							}
							dw[c] = s
						}
						for f := range l.Filters {
							s := b[f]
							for c := range x.c {
								s += dw[c] * pk[c*l.Filters+f]
							}
							y.v[((n*x.h+yy)*x.w+xx)*l.Filters+f] = relu(s)
						}
					}
				}
			}
		case nn.BatchNorm:
			g, be := get(l.Name+"/gamma"), get(l.Name+"/beta")
			mean, variance := make([]float64, x.c), make([]float64, x.c)
			count := float64(len(x.v) / x.c)
			for i, v := range x.v {
				mean[i%x.c] += v / count
			}
			for i, v := range x.v {
				d := v - mean[i%x.c]
				variance[i%x.c] += d * d / count
			}
			stats[l.Name] = [2][]float64{mean, variance}
			y = act{x.h, x.w, x.c, make([]float64, len(x.v))}
			for i, v := range x.v {
				c := i % x.c
				y.v[i] = (v-mean[c])/math.Sqrt(variance[c]+nn.BNEpsilon)*g[c] + be[c]
			}
		case nn.MaxPool2D:
			oh, ow := (x.h-3)/2+1, (x.w-3)/2+1
			y = act{oh, ow, x.c, make([]float64, batch*oh*ow*x.c)}
			for n := range batch {
				for oy := range oh {
					for ox := range ow {
						for c := range x.c {
							m := math.Inf(-1)
							for ky := range 3 {
								for kx := range 3 {
									m = max(m, x.v[((n*x.h+2*oy+ky)*x.w+2*ox+kx)*x.c+c])
								}
							}
							y.v[((n*oh+oy)*ow+ox)*x.c+c] = m
						}
					}
				}
			}
		case nn.Add:
			other := outs[l.Inputs[1]]
			y = act{x.h, x.w, x.c, make([]float64, len(x.v))}
			for i := range x.v {
				y.v[i] = x.v[i] + other.v[i]
			}
		default:
			return stats // the head has no batch normalization
		}
		outs[l.Name] = y
	}
	return stats
}

// TestWarmStartTakesEveryLayersBatchStatistics checks the statistics the
// training step reads out of the graph for all 17 batch-normalization layers:
// after a warm-start step they must equal a float64 training-mode reference.
func TestWarmStartTakesEveryLayersBatchStatistics(t *testing.T) {
	in := nn.Dims{Height: 19, Width: 17}
	w := testWeights(t, in, 5)
	net, err := New(w)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 3
	tr, err := NewTrainer(net, Config{Batch: batch, Input: in, LearnRate: 1e-12, WarmStartMoving: true})
	if err != nil {
		t.Fatal(err)
	}
	images := randImages(3, batch, in)
	want := referenceBatchStats(w, images, batch, in)
	if _, err := tr.Step(images, []int{0, 1, 3}); err != nil {
		t.Fatal(err)
	}
	got, err := net.Weights()
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 17 {
		t.Fatalf("reference found %d batch-normalization layers, want 17", len(want))
	}
	for name, st := range want {
		mean, variance := got.Tensor(name+"/moving_mean"), got.Tensor(name+"/moving_variance")
		for c := range st[0] {
			if d := math.Abs(float64(mean[c]) - st[0][c]); d > 1e-4*math.Max(1, math.Abs(st[0][c])) {
				t.Fatalf("%s channel %d: moving mean %g, batch mean %g", name, c, mean[c], st[0][c])
			}
			if d := math.Abs(float64(variance[c]) - st[1][c]); d > 1e-4*math.Max(1, st[1][c]) {
				t.Fatalf("%s channel %d: moving variance %g, batch variance %g", name, c, variance[c], st[1][c])
			}
		}
	}
}
