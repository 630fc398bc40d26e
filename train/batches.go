package train

import (
	"context"
	"sync"

	"papscope/internal/parallel"
	"papscope/nn"
)

// preparedBatch is one augmented batch, ready for a step.
type preparedBatch struct {
	images []float32
	full   []float32 // the augmented whole inputs, when the step sees patches of them
	idx    []int     // training example indices
	err    error
	pool   *sync.Pool
}

func (b *preparedBatch) release() { b.pool.Put(b) }

// produce assembles batches first … batches-1 of an epoch in order on other
// goroutines, a batch ahead of the trainer.
func produce(ctx context.Context, cfg FitConfig, src *source, perm []int, epoch, first, batches, workers int) <-chan *preparedBatch {
	out := make(chan *preparedBatch, 1)
	in, step, batch, n := cfg.Input, cfg.stepInput(), cfg.Batch, len(perm)
	size, stepSize := src.dec.size(), step.Height*step.Width*3
	pool := &sync.Pool{New: func() any {
		b := &preparedBatch{images: make([]float32, batch*stepSize), idx: make([]int, batch)}
		if cfg.Patch > 0 {
			b.full = make([]float32, batch*size)
		}
		return b
	}}
	sc := newScratch(parallel.Workers(batch, workers), size)
	go func() {
		defer close(out)
		for b := first; b < batches; b++ {
			bt := pool.Get().(*preparedBatch)
			bt.pool = pool
			for k := range batch {
				bt.idx[k] = perm[(b*batch+k)%n]
			}
			bt.err = parallel.For(ctx, batch, workers, func(_ context.Context, w, k int) error {
				i := bt.idx[k]
				x, err := src.input(src.train, i, cfg.Train[i], sc[w].buf, &sc[w].prep)
				if err != nil {
					return err
				}
				rng := augmentRNG(cfg.Seed, epoch, i)
				t := cfg.Augment.Draw(rng, in)
				if cfg.Patch == 0 {
					return t.Apply(bt.images[k*size:(k+1)*size], x, in)
				}
				full := bt.full[k*size : (k+1)*size]
				if err := t.Apply(full, x, in); err != nil {
					return err
				}
				patch(bt.images[k*stepSize:(k+1)*stepSize], full, in, step, rng.IntN(in.Height-step.Height+1), rng.IntN(in.Width-step.Width+1))
				return nil
			})
			if ctx.Err() != nil {
				return
			}
			select {
			case out <- bt:
			case <-ctx.Done():
				return
			}
			if bt.err != nil {
				return
			}
		}
	}()
	return out
}

// patch copies the part of src (an HWC RGB image of size in) of size out
// whose top-left corner is (y0, x0) into dst.
func patch(dst, src []float32, in, out nn.Dims, y0, x0 int) {
	row := out.Width * 3
	for y := range out.Height {
		s := ((y0+y)*in.Width + x0) * 3
		copy(dst[y*row:(y+1)*row], src[s:s+row])
	}
}
