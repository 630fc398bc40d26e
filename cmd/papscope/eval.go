package main

import (
	"bytes"
	"fmt"
	"io"
	"runtime"

	"papscope/dataset"
	"papscope/metrics"
	"papscope/safefile"
)

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	weightsPath := fs.String("weights", defaultWeights, "weights file (.safetensors)")
	data := fs.String("data", "", "dataset folder with one subfolder per class (HSIL, LSIL, NILM, SCC)")
	asJSON := fs.Bool("json", false, "print the metrics as one JSON object")
	plot := fs.String("plot", "", "write the confusion matrix as a PNG to this file")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "images classified in parallel")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *data == "":
		return fmt.Errorf("%w: -data DIR is required", errUsage)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
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
	failed, i := 0, 0
	for r := range classifyFiles(model, files, *workers) {
		if r.err != nil {
			failed++
			fmt.Fprintf(stderr, "papscope eval: skipping %v\n", r.err)
		} else {
			classes = append(classes, d.Items[i].Class)
			probs = append(probs, append([]float32(nil), r.c.Probs[:]...))
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
