package train

import (
	"context"
	"fmt"

	"papscope/internal/imagefile"
	"papscope/internal/parallel"
	"papscope/internal/shortcut"
	"papscope/nn"
)

// cacheLimit resolves FitConfig.CacheBytes.
func cacheLimit(b int64) int64 {
	if b == 0 {
		return DefaultCacheBytes
	}
	return b
}

// decoder turns an image file into network input: decoded, treated (see
// shortcut.Treatment: re-encoded, cropped) and resized.
type decoder struct {
	in    nn.Dims
	treat shortcut.Treatment
}

// size is the number of values of one input.
func (d decoder) size() int { return d.in.Height * d.in.Width * 3 }

// load decodes the file at path into dst.
func (d decoder) load(dst []float32, path string, prep *nn.Preprocessor) error {
	img, err := imagefile.Read(path)
	if err != nil {
		return err
	}
	if d.treat.JPEGQuality > 0 {
		if img, _, err = shortcut.Requantize(img, d.treat.JPEGQuality); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	prep.Crop = d.treat.Crop
	if err := prep.Image(dst, d.in, img); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// all decodes every example on workers goroutines into one slice.
func (d decoder) all(ctx context.Context, examples []Example, workers int) ([]float32, error) {
	size := d.size()
	out := make([]float32, len(examples)*size)
	sc := newScratch(parallel.Workers(len(examples), workers), 0)
	err := parallel.For(ctx, len(examples), workers, func(_ context.Context, w, i int) error {
		return d.load(out[i*size:(i+1)*size], examples[i].Path, &sc[w].prep)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// source gives the network input of an example: from the cache when there is
// one, else decoded from its file.
type source struct {
	dec              decoder
	train, val, test []float32 // cached inputs, concatenated; nil when not cached
}

// newSource decodes the examples of each set once, when they fit in limit
// bytes (see FitConfig.CacheBytes); otherwise it returns a source that
// decodes every time.
func newSource(ctx context.Context, dec decoder, limit int64, workers int, sets ...[]Example) (*source, error) {
	src := &source{dec: dec}
	n := 0
	for _, s := range sets {
		n += len(s)
	}
	if limit < 0 || int64(n)*int64(dec.size())*4 > cacheLimit(limit) {
		return src, nil
	}
	var all []Example
	for _, s := range sets {
		all = append(all, s...)
	}
	data, err := dec.all(ctx, all, workers)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w while loading the images (nothing trained; no checkpoint written)", ErrInterrupted)
	}
	if err != nil {
		return nil, err
	}
	caches := []*[]float32{&src.train, &src.val, &src.test}
	off := 0
	for k, s := range sets {
		*caches[k] = data[off*dec.size() : (off+len(s))*dec.size()]
		off += len(s)
	}
	return src, nil
}

// input returns example i's input from cache, or decodes it into buf with prep.
func (s *source) input(cache []float32, i int, ex Example, buf []float32, prep *nn.Preprocessor) ([]float32, error) {
	size := s.dec.size()
	if cache != nil {
		return cache[i*size : (i+1)*size], nil
	}
	return buf, s.dec.load(buf, ex.Path, prep)
}

// subset returns the inputs of the chosen training examples, from the
// cache when there is one.
func (s *source) subset(ctx context.Context, examples []Example, pick []int, workers int) ([]float32, error) {
	size := s.dec.size()
	if s.train == nil {
		sub := make([]Example, len(pick))
		for k, i := range pick {
			sub[k] = examples[i]
		}
		return s.dec.all(ctx, sub, workers)
	}
	out := make([]float32, len(pick)*size)
	for k, i := range pick {
		copy(out[k*size:(k+1)*size], s.train[i*size:(i+1)*size])
	}
	return out, nil
}

// scratch is one goroutine's preprocessor and buffer for decoding inputs.
type scratch struct {
	prep nn.Preprocessor
	buf  []float32
}

// newScratch returns the scratch of workers goroutines, with buffers of size floats.
func newScratch(workers, size int) []scratch {
	sc := make([]scratch, workers)
	for w := range sc {
		sc[w].buf = make([]float32, size)
	}
	return sc
}
