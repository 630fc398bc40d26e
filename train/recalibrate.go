package train

import (
	"context"
	"fmt"

	"gorgonia.org/tensor"

	"papscope/internal/parallel"
	"papscope/nn"
)

// Recalibrate sets every batch normalization's moving statistics to the mean
// and variance of that layer's input over images ("precise" batch
// normalization): NHWC float32 inputs of size in, concatenated. The network
// runs forward in training mode (each layer normalised with the statistics of
// a chunk of batch images) on up to workers goroutines, and each layer's
// population statistics are combined exactly from the chunks'. Images beyond
// the last whole chunk are left out; with fewer images than batch, they are
// one chunk.
//
// The moving averages a training run keeps lag behind weights that are still
// changing fast, and inference with them can be far worse than training
// suggests; recalibrating before validating and exporting removes that lag.
func (n *Net) Recalibrate(ctx context.Context, images []float32, in nn.Dims, batch, workers int) error {
	size := in.Height * in.Width * 3
	if size == 0 || len(images) < size || len(images)%size != 0 {
		return fmt.Errorf("train: recalibrate: %d input values are not a whole number of %dx%dx3 images", len(images), in.Height, in.Width)
	}
	count := len(images) / size
	batch = max(1, min(batch, count))
	chunks := count / batch
	workers = max(1, min(workers, chunks))

	// Each worker runs its own graph over its own copy of the values: gorgonia
	// transposes operands in place inside matrix products.
	w, err := n.Weights()
	if err != nil {
		return err
	}
	sums := make([]map[string]*moments, workers)
	graphs := make([]*graph, workers)
	err = parallel.For(ctx, chunks, workers, func(_ context.Context, k, c int) error {
		if graphs[k] == nil {
			net, err := New(w)
			if err == nil {
				graphs[k], err = build(net, batch, in, statistics, tensor.Float32)
			}
			if err != nil {
				return err
			}
			sums[k] = map[string]*moments{}
		}
		return addStatistics(sums[k], graphs[k], images[c*batch*size:(c+1)*batch*size])
	})
	if err != nil {
		return fmt.Errorf("train: recalibrate: %w", err)
	}
	total := map[string]*moments{}
	for _, s := range sums {
		for name, m := range s {
			if t, ok := total[name]; ok {
				t.merge(m)
			} else {
				total[name] = m
			}
		}
	}
	for name, m := range total {
		mean, variance := m.population()
		copy(n.values[name+"/moving_mean"].Data().([]float32), mean)
		copy(n.values[name+"/moving_variance"].Data().([]float32), variance)
	}
	return nil
}

// addStatistics runs gr, a statistics-mode graph, over one chunk of images
// and adds each batch-normalization layer's moments to sums.
func addStatistics(sums map[string]*moments, gr *graph, chunk []float32) error {
	if err := gr.setInput(chunk); err != nil {
		return err
	}
	if err := gr.exec(); err != nil {
		return err
	}
	for _, st := range gr.stats {
		m := sums[st.name]
		if m == nil {
			m = newMoments(len(st.mean.Data().([]float32)))
			sums[st.name] = m
		}
		m.add(st.mean.Data().([]float32), st.variance.Data().([]float32))
	}
	gr.vm.Reset()
	return nil
}

// moments sums per-channel statistics of equal-sized chunks: their means and
// their mean squares, in float64.
type moments struct {
	chunks       int
	mean, square []float64
}

func newMoments(channels int) *moments {
	return &moments{mean: make([]float64, channels), square: make([]float64, channels)}
}

// add counts one chunk with per-channel mean and (biased) variance.
func (m *moments) add(mean, variance []float32) {
	m.chunks++
	for i, u := range mean {
		m.mean[i] += float64(u)
		m.square[i] += float64(variance[i]) + float64(u)*float64(u)
	}
}

// merge adds o's chunks to m's.
func (m *moments) merge(o *moments) {
	m.chunks += o.chunks
	for i := range m.mean {
		m.mean[i] += o.mean[i]
		m.square[i] += o.square[i]
	}
}

// population returns the mean and variance over all the chunks' values.
func (m *moments) population() (mean, variance []float32) {
	mean, variance = make([]float32, len(m.mean)), make([]float32, len(m.mean))
	k := float64(m.chunks)
	for i := range m.mean {
		u := m.mean[i] / k
		mean[i] = float32(u)
		variance[i] = float32(max(0, m.square[i]/k-u*u))
	}
	return mean, variance
}
