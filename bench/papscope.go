package main

import (
	"context"
	"fmt"
)

// timing is the worker's phases for one image, in ms (the page's timing message).
type timing struct {
	Copy       float64 `json:"copy"`
	Preprocess float64 `json:"preprocess"`
	Forward    float64 `json:"forward"`
	CAM        float64 `json:"cam"`
	Conv1      float64 `json:"conv1"`
	Depthwise  float64 `json:"depthwise"`
	Pointwise  float64 `json:"pointwise"`
	Pool       float64 `json:"pool"`
	Head       float64 `json:"head"`
}

// add adds o's phases to t's.
func (t *timing) add(o timing) {
	t.Copy += o.Copy
	t.Preprocess += o.Preprocess
	t.Forward += o.Forward
	t.CAM += o.CAM
	t.Conv1 += o.Conv1
	t.Depthwise += o.Depthwise
	t.Pointwise += o.Pointwise
	t.Pool += o.Pool
	t.Head += o.Head
}

// rate is a throughput run: images classified by so many workers in so many ms.
type rate struct {
	Workers    int     `json:"workers"`
	Images     int     `json:"images"`
	Ms         float64 `json:"ms"`
	ImagesPerS float64 `json:"images_per_s"`
}

// papFigures is what the benchmark page measured of papscope's worker for one build.
type papFigures struct {
	Cores   int
	Latency struct {
		Ms     []float64 `json:"ms"`
		Timing []timing  `json:"timing"`
	}
	Probs  [][]float64
	Single rate
	Pool   rate
	Memory memFigures
}

// benchPapscope times papscope's worker running build b on the benchmark page.
func benchPapscope(ctx context.Context, c config, base string, b wasmBuild, f *papFigures) error {
	// The workers of a page benchmarked before must be gone: jsHeaps reads every worker's heap.
	if err := noWorkers(ctx); err != nil {
		return err
	}
	if _, _, err := visit(ctx, &counter{}, base+"/bench/bench.html"+b.query); err != nil {
		return err
	}
	var build string
	if err := eval(ctx, `papBench.build`, &build); err != nil {
		return err
	}
	if build != b.name {
		return fmt.Errorf("the benchmark page runs the %q build, want %q", build, b.name)
	}
	if err := eval(ctx, `papBench.cores`, &f.Cores); err != nil {
		return err
	}
	if err := eval(ctx, fmt.Sprintf(`papBench.latency(%d, %d)`, c.warm, c.runs), &f.Latency); err != nil {
		return err
	}
	if err := eval(ctx, `papBench.probs()`, &f.Probs); err != nil {
		return err
	}
	if err := eval(ctx, fmt.Sprintf(`papBench.throughput(1, %d)`, c.batch), &f.Single); err != nil {
		return err
	}
	if err := eval(ctx, fmt.Sprintf(`papBench.throughput(%d, %d)`, f.Cores, c.batch), &f.Pool); err != nil {
		return err
	}
	if c.skipMemory {
		return nil
	}
	return benchMemory(ctx, c, &f.Memory)
}
