package main

import (
	"bytes"
	"fmt"
	"image"
	"io"
	"runtime"

	"papscope/dataset"
	"papscope/internal/outliers"
	"papscope/internal/safefile"
	"papscope/metrics"
	"papscope/metrics/plots"
	"papscope/nn"
)

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	weightsPath := weightsFlag(fs)
	data := fs.String("data", "", "dataset folder with one subfolder per class (HSIL, LSIL, NILM, SCC)")
	asJSON := fs.Bool("json", false, "print the metrics as one JSON object")
	plot := fs.String("plot", "", "write the confusion matrix as a PNG to this file")
	reliability := fs.String("reliability", "", "write the reliability diagram (confidence bins against accuracy, with the ECE) as a PNG to this file")
	roc := fs.String("roc", "", "write the one-vs-rest ROC curve of each class (AUC in the legend) as a PNG to this file")
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

	f, err := forwardItems(model, d.Items, *workers, stderr)
	if err != nil {
		return fmt.Errorf("%s: %w", *data, err)
	}
	rep, err := metrics.Evaluate(f.labels, f.probs)
	if err != nil {
		return err
	}
	if *nOutliers > 0 {
		if rep.OOD, err = evaluateOOD(model, f.scores, *nOutliers, *workers); err != nil {
			return err
		}
	}
	if *plot != "" {
		if err := writeConfusion(*plot, rep); err != nil {
			return err
		}
	}
	if *reliability != "" {
		if err := writeFigure(*reliability, func() (image.Image, error) { return plots.Reliability(metrics.Reliability(f.labels, f.probs)) }); err != nil {
			return err
		}
	}
	if *roc != "" {
		if err := writeFigure(*roc, func() (image.Image, error) { return plots.ROC(rep, metrics.ClassROC(f.labels, f.probs)) }); err != nil {
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
	if f.skipped > 0 {
		fmt.Fprintf(stderr, "papscope eval: %d of %d images could not be read and were left out of the metrics\n", f.skipped, len(d.Items))
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
		names[k] = kind.String()
	}
	var err error
	i := 0
	for r := range classifyEach(model, perKind*len(kinds), workers, func(m *nn.Model, j int) result {
		kind, n := kinds[j/perKind], j%perKind
		img, err := outliers.Render(kind, outlierSeed, n, 640, 480)
		if err != nil {
			return result{err: err}
		}
		return classifyImage(m, fmt.Sprintf("outlier %s %d", kind, n), img)
	}) {
		if r.err != nil && err == nil {
			err = r.err // keep draining, so every worker finishes
		} else if r.err == nil {
			out[i/perKind] = append(out[i/perKind], float64(*r.c.OODScore))
		}
		i++
	}
	if err != nil {
		return nil, err
	}
	return metrics.EvaluateOOD(w.Meta().OODThreshold, in, names, out)
}

// writeConfusion writes r's confusion matrix as a PNG to path.
func writeConfusion(path string, r *metrics.Report) error {
	return writeFigure(path, func() (image.Image, error) { return plots.Confusion(r) })
}

// writeFigure writes the figure draw makes as a PNG to path.
func writeFigure(path string, draw func() (image.Image, error)) error {
	img, err := draw()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := plots.WritePNG(&buf, img); err != nil {
		return err
	}
	return safefile.Write(path, buf.Bytes())
}
