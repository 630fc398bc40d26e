package train

import (
	"context"
	"sync"

	"papscope/nn"
)

// preparedBatch is one augmented batch, ready for a step.
type preparedBatch struct {
	images []float32
	idx    []int // training example indices
	err    error
	pool   *sync.Pool
}

func (b *preparedBatch) release() { b.pool.Put(b) }

// produce assembles batches first … batches-1 of an epoch in order on other
// goroutines, a batch ahead of the trainer.
func produce(ctx context.Context, cfg FitConfig, src *source, perm []int, epoch, first, batches, workers int) <-chan *preparedBatch {
	out := make(chan *preparedBatch, 1)
	in, batch, n := cfg.Input, cfg.Batch, len(perm)
	size := src.dec.size()
	pool := &sync.Pool{New: func() any {
		return &preparedBatch{images: make([]float32, batch*size), idx: make([]int, batch)}
	}}
	go func() {
		defer close(out)
		for b := first; b < batches; b++ {
			bt := pool.Get().(*preparedBatch)
			bt.pool = pool
			for k := range batch {
				bt.idx[k] = perm[(b*batch+k)%n]
			}
			bt.err = parallel(ctx, batch, workers, func(k int, prep *nn.Preprocessor, scratch []float32) error {
				i := bt.idx[k]
				x, err := src.input(src.train, i, cfg.Train[i], scratch, prep)
				if err != nil {
					return err
				}
				t := cfg.Augment.Draw(augmentRNG(cfg.Seed, epoch, i), in)
				return t.Apply(bt.images[k*size:(k+1)*size], x, in)
			}, size)
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
