package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"papscope/internal/imagefile"
	"papscope/internal/parallel"
	"papscope/internal/results"
	"papscope/nn"
)

// classification is one line of `papscope classify -json`.
type classification struct {
	File    string                 `json:"file"`
	Top     string                 `json:"top"`
	Classes []string               `json:"classes"`
	Probs   [nn.NumClasses]float32 `json:"probs"`
	Logits  [nn.NumClasses]float32 `json:"logits"`
	// The out-of-distribution score and verdict; null when the weights carry no statistics.
	OODScore       *float32 `json:"ood_score"`
	InDistribution *bool    `json:"in_distribution"`

	pooled []float32 // the pooled feature vector, for fitting calibration
}

// row is c as a row of the CSV that the page's batch table also exports.
func (c classification) row() results.Row {
	r := results.Row{File: c.File, Top: c.Top, Probs: c.Probs}
	if c.OODScore != nil {
		r.OOD = &results.OOD{Score: *c.OODScore, In: *c.InDistribution}
	}
	return r
}

// result is the outcome for one input file.
type result struct {
	c   classification
	err error
}

func runClassify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("classify", stderr)
	weightsPath := weightsFlag(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per line per image")
	asCSV := fs.Bool("csv", false, "print CSV with the columns of the page's batch export (failed files included, with their error)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "images classified in parallel")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: no images given", errUsage)
	}
	if *asJSON && *asCSV {
		return fmt.Errorf("%w: choose -json or -csv, not both", errUsage)
	}
	if *workers < 1 {
		return fmt.Errorf("%w: -workers must be at least 1", errUsage)
	}
	model, err := loadModel(*weightsPath)
	if err != nil {
		return err
	}

	var rows []results.Row
	var tw *tabwriter.Writer // the table, started at the first image classified: no header when every file fails
	failed, outliers := 0, 0
	files := fs.Args()
	i := -1
	for r := range classifyFiles(model, files, *workers) {
		i++
		if r.err != nil {
			failed++
			fmt.Fprintf(stderr, "papscope classify: %v\n", r.err)
			rows = append(rows, results.Row{File: files[i], Error: r.err.Error()})
			continue
		}
		if *asCSV {
			rows = append(rows, r.c.row())
			continue
		}
		if *asJSON {
			if err := json.NewEncoder(stdout).Encode(r.c); err != nil {
				return err
			}
			continue
		}
		if tw == nil {
			tw = newClassifyTable(stdout)
		}
		fmt.Fprintf(tw, "%s\t%s\t", r.c.File, r.c.Top)
		for _, p := range r.c.Probs {
			fmt.Fprintf(tw, "%s\t", results.Percent(p))
		}
		switch {
		case r.c.OODScore == nil:
			fmt.Fprintln(tw, "n/a\t")
		case *r.c.InDistribution:
			fmt.Fprintf(tw, "%.2f in\t\n", *r.c.OODScore)
		default:
			outliers++
			fmt.Fprintf(tw, "%.2f OUT\t\n", *r.c.OODScore)
		}
	}
	if *asCSV {
		in := model.InputDims()
		run := results.Run{Weights: filepath.Base(*weightsPath), Input: fmt.Sprintf("%dx%d", in.Width, in.Height), At: time.Now().UTC().Format(time.RFC3339)}
		if err := results.WriteCSV(stdout, run, rows); err != nil {
			return err
		}
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
		if outliers > 0 {
			fmt.Fprintf(stdout, "OUT: %d of the images are unlike the fields these weights were trained on (OOD score above %.4g): do not trust their classes.\n",
				outliers, model.Weights().Meta().OODThreshold)
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "papscope classify: %d of %d images could not be classified\n", failed, fs.NArg())
		return errSomeFailed
	}
	return nil
}

// newClassifyTable returns the table classify prints, its header written.
func newClassifyTable(w io.Writer) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "file\ttop\t")
	for _, c := range nn.ClassNames() {
		fmt.Fprintf(tw, "%s\t", c)
	}
	fmt.Fprintln(tw, "OOD\t")
	return tw
}

// classifyFiles classifies files on workers goroutines, each with its own
// clone of model, and yields the results in the order of files.
func classifyFiles(model *nn.Model, files []string, workers int) <-chan result {
	return classifyEach(model, len(files), workers, func(m *nn.Model, i int) result {
		img, err := imagefile.Read(files[i])
		if err != nil {
			return result{err: err}
		}
		return classifyImage(m, files[i], img)
	})
}

// classifyEach runs classify(m, i) for i in [0, n) on workers goroutines,
// each with its own clone of model, and yields the results in order of i.
func classifyEach(model *nn.Model, n, workers int, classify func(m *nn.Model, i int) result) <-chan result {
	slots := make([]chan result, n)
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	models := make([]*nn.Model, parallel.Workers(n, workers))
	for k := range models {
		models[k] = model
		if k > 0 {
			models[k] = model.Clone()
		}
	}
	// A file that fails is a result, not an error: the loop goes on past it.
	go parallel.For(context.Background(), n, workers, func(_ context.Context, k, i int) error {
		slots[i] <- classify(models[k], i)
		return nil
	})
	out := make(chan result)
	go func() {
		for _, s := range slots {
			out <- <-s
		}
		close(out)
	}()
	return out
}

// classifyImage classifies img, named name in the result and its errors.
func classifyImage(m *nn.Model, name string, img image.Image) result {
	o, err := m.ClassifyImage(img)
	if err != nil {
		return result{err: fmt.Errorf("%s: %w", name, err)}
	}
	c := classification{
		File: name, Top: o.Top().String(), Classes: nn.ClassNames(), Probs: o.Probs, Logits: o.Logits,
		pooled: slices.Clone(o.Pooled[:]),
	}
	if o.OODAvailable {
		score, in := o.OODScore, o.InDistribution()
		c.OODScore, c.InDistribution = &score, &in
	}
	return result{c: c}
}
