package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"papscope/dataset"
	"papscope/internal/safefile"
	"papscope/nn"
	"papscope/train"
)

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	data := fs.String("data", "", "dataset folder with one subfolder per class (HSIL, LSIL, NILM, SCC)")
	out := fs.String("o", "", "output weights file (.safetensors): the best weights by validation")
	rf := addRecipeFlags(fs)
	resume := fs.String("resume", "", "checkpoint to continue from (Adam's moments restart at zero)")
	ckpt := fs.String("checkpoint", "", "checkpoint written after every epoch and on Ctrl-C (default: OUT with .ckpt.safetensors)")
	groups := fs.String("groups", "", "CSV mapping files to slide or patient ids, so one slide never straddles two splits")
	initW := fs.String("init", "", "weights to start from (any input size) instead of a fresh initialisation")
	split := fs.String("split", "0.7,0.15,0.15", "train,validation,test fractions")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *data == "":
		return fmt.Errorf("%w: -data DIR is required", errUsage)
	case *out == "":
		return fmt.Errorf("%w: -o OUT.safetensors is required", errUsage)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	case *resume != "" && *initW != "":
		return fmt.Errorf("%w: give -resume or -init, not both", errUsage)
	}
	fractions, err := parseSplit(*split)
	if err != nil {
		return fmt.Errorf("%w: -split: %v", errUsage, err)
	}
	if *ckpt == "" {
		*ckpt = strings.TrimSuffix(*out, ".safetensors") + ".ckpt.safetensors"
	}

	var resumed *train.Checkpoint
	if *resume != "" {
		if resumed, err = train.ReadCheckpoint(*resume); err != nil {
			return err
		}
		// The run's settings come from the checkpoint unless given again.
		st := resumed.State
		if !set["size"] {
			*rf.size = fmt.Sprintf("%dx%d", st.Input[1], st.Input[0])
		}
		if !set["batch"] {
			*rf.batch = st.Batch
		}
		if !set["seed"] {
			*rf.seed = st.Seed
		}
		if !set["lr"] {
			*rf.lr = st.LearnRate
		}
		if v, ok := st.Notes["split"]; ok && !set["split"] {
			if fractions, err = parseSplit(v); err != nil {
				return fmt.Errorf("%s: %w", *resume, err)
			}
		}
		if v, ok := st.Notes["groups"]; ok && !set["groups"] {
			*groups = v
		}
	}
	cfg, err := rf.config()
	if err != nil {
		return err
	}
	var init *nn.Weights
	if *initW != "" {
		if init, err = loadWeights(*initW); err != nil {
			return err
		}
	}

	d, err := loadData(*data, *groups, cfg.Workers, "train", stderr)
	if err != nil {
		return err
	}
	trainSet, valSet, testSet, err := dataset.Split(d, fractions, cfg.Seed)
	if err != nil {
		return err
	}
	grouping := groupingText(d)
	counts := classCounts(d.Counts())
	fmt.Fprintf(stderr, "data %s: %d images (%s); train %d, validation %d, test %d (%s, seed %d)\n",
		*data, len(d.Items), counts, len(trainSet), len(valSet), len(testSet), grouping, cfg.Seed)

	cfg.Train, cfg.Val, cfg.Init, cfg.Resume, cfg.Checkpoint = examples(trainSet), examples(valSet), init, resumed, *ckpt
	cfg.Notes = map[string]string{"split": *split, "groups": *groups}
	bar := newProgressBar(stderr, "train")
	cfg.Progress = bar.update
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	in := cfg.Input
	fmt.Fprintf(stderr, "training at %dx%d, batch %d, Adam lr %g (%s), up to %d epochs, %s, images %s (checkpoint %s)\n",
		in.Width, in.Height, cfg.Batch, cfg.LearnRate, cfg.Schedule, cfg.Epochs, cfg.Augment, cfg.Treatment, *ckpt)
	res, err := train.Run(ctx, train.Recipe{FitConfig: cfg, Test: examples(testSet),
		Kind: *rf.kind,
		Data: fmt.Sprintf("%s: %d images (%s); split train %d / validation %d / test %d, %s, seed %d",
			rf.dataText(*data), len(d.Items), counts, len(trainSet), len(valSet), len(testSet), grouping, cfg.Seed)})
	bar.finish()
	if errors.Is(err, train.ErrInterrupted) {
		return fmt.Errorf("%w; continue with: papscope train -data %s -o %s -resume %s", err, *data, *out, *ckpt)
	}
	if err != nil {
		return err
	}
	stop()
	fit := res.Fit
	best := fit.History[fit.BestEpoch-1]
	fmt.Fprintf(stderr, "finished (%s) after %d epochs; best epoch %d: validation balanced accuracy %.4f, loss %.4f\n",
		fit.Stopped, len(fit.History), fit.BestEpoch, best.ValBalanced, best.ValLoss)
	c := res.Calibration
	switch {
	case len(valSet) == 0:
		fmt.Fprintf(stderr, "papscope train: warning: no validation split: temperature left at 1; OOD threshold %.4g (%g quantile of the training images' own scores)\n", c.OODThreshold, c.OODQuantile)
	case c.Temperature != c.TemperatureFitted:
		fmt.Fprintf(stderr, "calibration: the validation loss keeps falling to temperature %.3g (the split is separated without error): temperature kept at 1\n", c.TemperatureFitted)
	}
	if res.Test != nil && len(valSet) > 0 {
		fmt.Fprintf(stderr, "calibration: temperature %.4g; test ECE %.4f before, %.4f after; OOD threshold %.4g (%g quantile of validation)\n",
			c.Temperature, c.TestECEBefore, c.TestECEAfter, c.OODThreshold, c.OODQuantile)
	}
	if res.Test != nil {
		fmt.Fprintf(stdout, "held-out test split (%d images), best weights:\n", res.Test.N)
		if err := res.Test.WriteText(stdout); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stderr, "papscope train: warning: the test split is empty: no held-out metrics in the weights")
	}
	var buf bytes.Buffer
	if err := res.Weights.Encode(&buf); err != nil {
		return err
	}
	if err := safefile.Write(*out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (input %dx%d, best epoch %d)\n", *out, in.Width, in.Height, fit.BestEpoch)
	return nil
}

// loadData reads a dataset with its slides (from groupsCSV, or manifest.csv
// beside the class folders), warns about what it ignored and drops the
// images that do not decode.
func loadData(dir, groupsCSV string, workers int, cmd string, stderr io.Writer) (*dataset.Dataset, error) {
	d, unused, err := dataset.Load(dir, groupsCSV)
	if err != nil {
		return nil, err
	}
	for _, w := range d.Warnings() {
		fmt.Fprintf(stderr, "papscope %s: warning: %s\n", cmd, w)
	}
	if len(unused) > 0 {
		fmt.Fprintf(stderr, "papscope %s: warning: %d entries of the groups CSV match no image, e.g. %s\n", cmd, len(unused), unused[0])
	}
	bad, err := d.DropUnreadable(workers)
	for _, b := range bad {
		fmt.Fprintf(stderr, "papscope %s: skipping unreadable image %s\n", cmd, b)
	}
	return d, err
}

// groupingText says how a split of d keeps images together.
func groupingText(d *dataset.Dataset) string {
	if d.Grouping == "" {
		return "stratified by class"
	}
	return "stratified, grouped by " + d.Grouping
}

// examples converts dataset items to training examples.
func examples(items []dataset.Item) []train.Example {
	ex := make([]train.Example, len(items))
	for i, it := range items {
		ex[i] = train.Example{Path: it.Path, Class: it.Class}
	}
	return ex
}

// classCounts formats counts per class: "HSIL 10, LSIL 12, NILM 30, SCC 5".
func classCounts(counts []int) string {
	parts := make([]string, len(counts))
	for c, n := range counts {
		parts[c] = fmt.Sprintf("%s %d", nn.ClassNames()[c], n)
	}
	return strings.Join(parts, ", ")
}

// parseInputSize reads "N" (N×N) or "WxH".
func parseInputSize(s string) (nn.Dims, error) {
	ws, hs, found := strings.Cut(strings.ToLower(s), "x")
	if !found {
		hs = ws
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil {
		return nn.Dims{}, fmt.Errorf("%q is not N or WxH", s)
	}
	d := nn.Dims{Height: h, Width: w}
	return d, nn.CheckInput(d)
}

// parseSplit reads three comma-separated fractions.
func parseSplit(s string) ([3]float64, error) {
	var f [3]float64
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return f, fmt.Errorf("%q: want three fractions train,validation,test", s)
	}
	sum := 0.0
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v < 0 {
			return f, fmt.Errorf("%q: %q is not a fraction ≥ 0", s, p)
		}
		f[i] = v
		sum += v
	}
	if sum < 0.999999 || sum > 1.000001 {
		return f, fmt.Errorf("%q sums to %g, want 1", s, sum)
	}
	if f[0] == 0 {
		return f, fmt.Errorf("%q: the training fraction must be > 0", s)
	}
	return f, nil
}
