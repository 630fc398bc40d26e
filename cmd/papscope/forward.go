package main

import (
	"fmt"
	"io"

	"papscope/dataset"
	"papscope/nn"
)

// forwarded holds the network's outputs on the dataset items that could be read.
type forwarded struct {
	labels  []int
	logits  [][nn.NumClasses]float32
	probs   [][]float32 // at the weights' temperature
	pooled  [][]float32
	scores  []float64 // out-of-distribution scores; empty when the weights carry no statistics
	skipped int       // items that could not be read
}

// forwardItems classifies dataset items with model on workers goroutines;
// unreadable images are reported on stderr and skipped.
func forwardItems(model *nn.Model, items []dataset.Item, workers int, stderr io.Writer) (*forwarded, error) {
	files := make([]string, len(items))
	for i, it := range items {
		files[i] = it.Path
	}
	f := &forwarded{}
	i := 0
	for r := range classifyFiles(model, files, workers) {
		if r.err != nil {
			f.skipped++
			fmt.Fprintf(stderr, "papscope: skipping %v\n", r.err)
		} else {
			f.labels = append(f.labels, items[i].Class)
			f.logits = append(f.logits, r.c.Logits)
			f.probs = append(f.probs, r.c.Probs[:])
			f.pooled = append(f.pooled, r.c.pooled)
			if r.c.OODScore != nil {
				f.scores = append(f.scores, float64(*r.c.OODScore))
			}
		}
		i++
	}
	if len(f.labels) == 0 {
		return nil, fmt.Errorf("none of the %d images could be classified", len(items))
	}
	return f, nil
}
