package train

import (
	"context"
	"fmt"
	"slices"

	"papscope/calibrate"
	"papscope/internal/parallel"
	"papscope/metrics"
	"papscope/nn"
)

// forward runs nn with w over the examples (inputs from cache, or decoded by
// src) and returns their outputs and probabilities at the weights' temperature.
func forward(ctx context.Context, w *nn.Weights, examples []Example, src *source, cache []float32, workers int) (calibrate.Outputs, [][]float32, error) {
	out := calibrate.Outputs{Labels: make([]int, len(examples)), Logits: make([][nn.NumClasses]float32, len(examples)), Pooled: make([][]float32, len(examples))}
	probs := make([][]float32, len(examples))
	model, err := nn.NewModel(w)
	if err != nil {
		return out, nil, err
	}
	// The inputs come from src's decoder (the cache training shares), not
	// from model.Preprocess: they must be cropped as the weights say, as
	// papscope classify and the page will crop them.
	if !sameCrop(src.dec.treat.Crop, model.Crop()) {
		return out, nil, fmt.Errorf("train: validation inputs are cropped at %g, but the weights record crop %g", src.dec.treat.Crop, model.Crop())
	}
	workers = parallel.Workers(len(examples), workers)
	models := make([]*nn.Model, workers)
	for w := range models {
		models[w] = model
		if w > 0 {
			models[w] = model.Clone()
		}
	}
	sc := newScratch(workers, src.dec.size())
	err = parallel.For(ctx, len(examples), workers, func(_ context.Context, w, i int) error {
		x, err := src.input(cache, i, examples[i], sc[w].buf, &sc[w].prep)
		if err != nil {
			return err
		}
		o, err := models[w].Forward(x)
		if err != nil {
			return err
		}
		probs[i] = slices.Clone(o.Probs[:])
		out.Logits[i], out.Pooled[i], out.Labels[i] = o.Logits, slices.Clone(o.Pooled), examples[i].Class
		return nil
	})
	return out, probs, err
}

// validate runs nn with w over the examples and returns the metrics.
func validate(ctx context.Context, w *nn.Weights, examples []Example, src *source, cache []float32, workers int) (*metrics.Report, error) {
	out, probs, err := forward(ctx, w, examples, src, cache, workers)
	if err != nil {
		return nil, err
	}
	return metrics.Evaluate(out.Labels, probs)
}

// sameCrop reports whether crops a and b keep the same part of every image
// (nn.CropRect): 0 and 1 both keep the whole image.
func sameCrop(a, b float64) bool {
	whole := func(c float64) bool { return c <= 0 || c >= 1 }
	return a == b || whole(a) && whole(b)
}
