package train

import (
	"fmt"
	"testing"

	"papscope/nn"
)

// freshNet returns a network with freshly initialised (seed 1) weights for inputs of size in.
func freshNet(tb testing.TB, in nn.Dims) *Net {
	tb.Helper()
	w, err := nn.InitWeights(nn.DefaultMetadata(in), 1)
	if err != nil {
		tb.Fatal(err)
	}
	net, err := New(w)
	if err != nil {
		tb.Fatal(err)
	}
	return net
}

// BenchmarkTrainStep measures one Adam step on a batch of 32 images at the
// sizes make bench-train compares with PyTorch.
func BenchmarkTrainStep(b *testing.B) {
	for _, size := range []int{96, 128, 224} {
		b.Run(fmt.Sprintf("%dpx", size), func(b *testing.B) {
			in := nn.Dims{Height: size, Width: size}
			net := freshNet(b, in)
			const batch = 32
			tr, err := NewTrainer(net, Config{Batch: batch, Input: in})
			if err != nil {
				b.Fatal(err)
			}
			images := randImages(1, batch, in)
			labels := make([]int, batch)
			for i := range labels {
				labels[i] = i % nn.NumClasses
			}
			if _, err := tr.Step(images, labels); err != nil { // the first run allocates the graph's values
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := tr.Step(images, labels); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkPredict299 measures the inference graph on one 299×299 image.
func BenchmarkPredict299(b *testing.B) {
	in := nn.Dims{Height: 299, Width: 299}
	net := freshNet(b, in)
	images := randImages(1, 1, in)
	if _, err := net.Predict(images, 1, in); err != nil { // build the graph
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := net.Predict(images, 1, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
