package nn

import (
	"testing"
	"time"
)

// macsPerImage299 is the multiply-accumulate count of one 299×299 forward pass.
const macsPerImage299 = 1.95e9

func BenchmarkForward299(b *testing.B) {
	in := Dims{DefaultInputSize, DefaultInputSize}
	m, err := NewModel(testWeights(b, in, 1))
	if err != nil {
		b.Fatal(err)
	}
	x := testInput(in, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Forward(x); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, 2*macsPerImage299)
}

// BenchmarkForward299Parallel classifies on every core, one model clone per
// goroutine, as papscope classify does over many files. ns/op is per image.
func BenchmarkForward299Parallel(b *testing.B) {
	in := Dims{DefaultInputSize, DefaultInputSize}
	m, err := NewModel(testWeights(b, in, 1))
	if err != nil {
		b.Fatal(err)
	}
	x := testInput(in, 1)
	b.RunParallel(func(pb *testing.PB) {
		mm := m.Clone()
		for pb.Next() {
			if _, err := mm.Forward(x); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// reportRate reports GFLOP/s and ms/op for an operation of the given floating-point work.
func reportRate(b *testing.B, flops float64) {
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(flops/sec/1e9, "GFLOP/s")
	b.ReportMetric(sec*1e3, "ms/op")
}

func BenchmarkPointwise74x74x128to128(b *testing.B) {
	const m, k, n = 74 * 74, 128, 128
	a, dst := make([]float32, m*k), make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) * 0.1
	}
	ep := newEpilogue(make([]float32, n), make([]float32, n), make([]float32, n))
	ep.residual = true
	w := newWeightMatrix(make([]float32, k*n), k, n, ep)
	for b.Loop() {
		w.mul(dst, a, m)
	}
	reportRate(b, 2*m*k*n)
}

func BenchmarkDepthwise74x74x128(b *testing.B) {
	const h, w, c = 74, 74, 128
	src, dst, k := make([]float32, h*w*c), make([]float32, h*w*c), make([]float32, 9*c)
	for b.Loop() {
		depthwise(dst, src, k, h, w, c)
	}
	reportRate(b, 2*9*h*w*c)
}

func BenchmarkConv1(b *testing.B) {
	in := Dims{299, 299}
	out, _ := featureDims(in)
	n := out.Height * out.Width
	src, cols, dst := make([]float32, 299*299*3), make([]float32, n*conv1K), make([]float32, n*64)
	w := newWeightMatrix(make([]float32, 27*64), 27, 64, newEpilogue(make([]float32, 64), make([]float32, 64), make([]float32, 64)))
	for b.Loop() {
		im2colConv1(cols, src, in.Width, out)
		w.mul(dst, cols, n)
	}
	reportRate(b, 2*float64(n)*27*64)
}

func BenchmarkMaxPool149to74(b *testing.B) {
	in, out := Dims{149, 149}, Dims{74, 74}
	src, dst := make([]float32, 149*149*128), make([]float32, 74*74*128)
	for b.Loop() {
		maxPool(dst, src, in, out, 128)
	}
}

// BenchmarkForward299Layers is BenchmarkForward299 timed by layer kind: each
// kind's milliseconds per image, the shares of the forward pass's time.
func BenchmarkForward299Layers(b *testing.B) {
	in := Dims{DefaultInputSize, DefaultInputSize}
	m, err := NewModel(testWeights(b, in, 1))
	if err != nil {
		b.Fatal(err)
	}
	x := testInput(in, 1)
	var t, sum LayerTimes
	for b.Loop() {
		if _, err := m.ForwardTimed(x, &t); err != nil {
			b.Fatal(err)
		}
		sum.Conv1 += t.Conv1
		sum.Depthwise += t.Depthwise
		sum.Pointwise += t.Pointwise
		sum.Pool += t.Pool
		sum.Head += t.Head
	}
	per := func(d time.Duration) float64 { return d.Seconds() * 1e3 / float64(b.N) }
	b.ReportMetric(per(sum.Conv1), "conv1-ms/op")
	b.ReportMetric(per(sum.Depthwise), "depthwise-ms/op")
	b.ReportMetric(per(sum.Pointwise), "pointwise-ms/op")
	b.ReportMetric(per(sum.Pool), "pool-ms/op")
	b.ReportMetric(per(sum.Head), "head-ms/op")
}
