package main

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sync"

	"papscope/dataset"
	"papscope/metrics"
	"papscope/nn"
	"papscope/outliers"
	"papscope/safefile"
)

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	weightsPath := fs.String("weights", defaultWeights, "weights file (.safetensors)")
	data := fs.String("data", "", "dataset folder with one subfolder per class (HSIL, LSIL, NILM, SCC)")
	asJSON := fs.Bool("json", false, "print the metrics as one JSON object")
	plot := fs.String("plot", "", "write the confusion matrix as a PNG to this file")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "images classified in parallel")
	nOutliers := fs.Int("outliers", 40, "non-LBC images per kind (flat, noise, stripes, text, natural; 640x480) for the out-of-distribution AUROC; 0 skips it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *data == "":
		return fmt.Errorf("%w: -data DIR is required", errUsage)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	case *nOutliers < 0:
		return fmt.Errorf("%w: -outliers must be ≥ 0", errUsage)
	case *workers < 1:
		return fmt.Errorf("%w: -workers must be at least 1", errUsage)
	}
	model, err := loadModel(*weightsPath)
	if err != nil {
		return err
	}
	d, err := dataset.Scan(*data)
	if err != nil {
		return err
	}
	for _, msg := range d.Warnings() {
		fmt.Fprintf(stderr, "papscope eval: warning: %s\n", msg)
	}

	files := make([]string, len(d.Items))
	for i, it := range d.Items {
		files[i] = it.Path
	}
	var classes []int
	var probs [][]float32
	var scores []float64
	failed, i := 0, 0
	for r := range classifyFiles(model, files, *workers) {
		if r.err != nil {
			failed++
			fmt.Fprintf(stderr, "papscope eval: skipping %v\n", r.err)
		} else {
			classes = append(classes, d.Items[i].Class)
			probs = append(probs, append([]float32(nil), r.c.Probs[:]...))
			if r.c.OODScore != nil {
				scores = append(scores, float64(*r.c.OODScore))
			}
		}
		i++
	}
	if len(probs) == 0 {
		return fmt.Errorf("none of the %d images in %s could be classified", len(files), *data)
	}
	rep, err := metrics.Evaluate(classes, probs)
	if err != nil {
		return err
	}
	if *nOutliers > 0 {
		if rep.OOD, err = evaluateOOD(model, scores, *nOutliers, *workers); err != nil {
			return err
		}
	}
	if *plot != "" {
		var buf bytes.Buffer
		if err := metrics.WriteConfusionPNG(&buf, rep); err != nil {
			return err
		}
		if err := safefile.Write(*plot, buf.Bytes()); err != nil {
			return err
		}
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		fmt.Fprintf(stdout, "weights            %s (input %dx%d)\ndata               %s\n", *weightsPath, model.InputDims().Width, model.InputDims().Height, *data)
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "papscope eval: %d of %d images could not be read and were left out of the metrics\n", failed, len(files))
		return errSomeFailed
	}
	return nil
}

// outlierSeed seeds the non-LBC images eval scores; fixed, so runs compare.
const outlierSeed = 20261124

// evaluateOOD scores perKind outliers of every kind with model and measures
// how the out-of-distribution score separates them from the dataset's
// scores; a report marked unavailable when the weights carry no statistics.
func evaluateOOD(model *nn.Model, in []float64, perKind, workers int) (*metrics.OODReport, error) {
	w := model.Weights()
	if !w.HasOOD() {
		return &metrics.OODReport{}, nil
	}
	kinds := outliers.Kinds()
	names := make([]string, len(kinds))
	out := make([][]float64, len(kinds))
	for k, kind := range kinds {
		names[k], out[k] = kind.String(), make([]float64, perKind)
	}
	jobs := make(chan [2]int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for k := range min(workers, perKind*len(kinds)) {
		m := model
		if k > 0 {
			m = model.Clone()
		}
		wg.Go(func() {
			for j := range jobs {
				img, err := outliers.Render(kinds[j[0]], outlierSeed, j[1], 640, 480)
				if err == nil {
					var o nn.Output
					if o, err = m.ClassifyImage(img); err == nil {
						out[j[0]][j[1]] = float64(o.OODScore)
						continue
					}
				}
				select {
				case errs <- fmt.Errorf("outlier %s %d: %w", kinds[j[0]], j[1], err):
				default:
				}
			}
		})
	}
	for k := range kinds {
		for i := range perKind {
			jobs <- [2]int{k, i}
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return metrics.EvaluateOOD(w.Meta.OODThreshold, in, names, out)
}
