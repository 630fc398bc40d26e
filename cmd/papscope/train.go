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
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"papscope/dataset"
	"papscope/nn"
	"papscope/safefile"
	"papscope/shortcut"
	"papscope/train"
)

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	data := fs.String("data", "", "dataset folder with one subfolder per class (HSIL, LSIL, NILM, SCC)")
	out := fs.String("o", "", "output weights file (.safetensors): the best weights by validation")
	epochs := fs.Int("epochs", 20, "epochs to train (counting those of a resumed checkpoint)")
	batch := fs.Int("batch", 16, "images per training step")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate")
	size := fs.String("size", "128", "input size: N for N×N, or WxH")
	seed := fs.Uint64("seed", 1, "seed of the split, the initial weights, the shuffles and the augmentation")
	resume := fs.String("resume", "", "checkpoint to continue from (Adam's moments restart at zero)")
	ckpt := fs.String("checkpoint", "", "checkpoint written after every epoch and on Ctrl-C (default: OUT with .ckpt.safetensors)")
	groups := fs.String("groups", "", "CSV mapping files to slide or patient ids, so one slide never straddles two splits")
	initW := fs.String("init", "", "weights to start from (any input size) instead of a fresh initialisation")
	patience := fs.Int("patience", 5, "stop after this many epochs without a better validation score (0: never)")
	split := fs.String("split", "0.7,0.15,0.15", "train,validation,test fractions")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines decoding, augmenting and validating")
	noAugment := fs.Bool("no-augment", false, "train without flips, rotations and colour jitter")
	quality := fs.Int("jpeg-quality", shortcut.Default.JPEGQuality, "re-encode every image at this JPEG quality before use, every class alike (0: use the files as they are)")
	crop := fs.Float64("crop", shortcut.Default.Crop, "keep this share of each side, centred, every class alike; recorded in the weights so inference crops alike (0 or 1: whole image)")
	recalibrate := fs.Int("recalibrate", train.DefaultRecalibrate, "training images that reset the batch-normalization statistics after every epoch (0: keep the moving averages)")
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
	case *epochs < 1, *batch < 1, *workers < 1:
		return fmt.Errorf("%w: -epochs, -batch and -workers must be at least 1", errUsage)
	case !(*lr > 0):
		return fmt.Errorf("%w: -lr must be > 0", errUsage)
	case *recalibrate < 0:
		return fmt.Errorf("%w: -recalibrate must be ≥ 0", errUsage)
	case *patience < 0:
		return fmt.Errorf("%w: -patience must be ≥ 0", errUsage)
	case *quality < 0 || *quality > 100:
		return fmt.Errorf("%w: -jpeg-quality must be 0–100", errUsage)
	case nn.CheckCrop(*crop) != nil:
		return fmt.Errorf("%w: -crop: %v", errUsage, nn.CheckCrop(*crop))
	case *resume != "" && *initW != "":
		return fmt.Errorf("%w: give -resume or -init, not both", errUsage)
	}
	in, err := parseInputSize(*size)
	if err != nil {
		return fmt.Errorf("%w: -size: %v", errUsage, err)
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
			in = nn.Dims{Height: st.Input[0], Width: st.Input[1]}
		}
		if !set["batch"] {
			*batch = st.Batch
		}
		if !set["seed"] {
			*seed = st.Seed
		}
		if !set["lr"] {
			*lr = st.LearnRate
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
	var init *nn.Weights
	if *initW != "" {
		if init, err = loadWeights(*initW); err != nil {
			return err
		}
	}

	d, err := loadData(*data, *groups, *workers, "train", stderr)
	if err != nil {
		return err
	}
	trainSet, valSet, testSet, err := dataset.Split(d, fractions, *seed)
	if err != nil {
		return err
	}
	grouping := groupingText(d)
	counts := classCounts(d.Counts())
	fmt.Fprintf(stderr, "data %s: %d images (%s); train %d, validation %d, test %d (%s, seed %d)\n",
		*data, len(d.Items), counts, len(trainSet), len(valSet), len(testSet), grouping, *seed)

	cfg := train.FitConfig{
		Train: examples(trainSet), Val: examples(valSet), Input: in, Batch: *batch, Epochs: *epochs,
		LearnRate: *lr, Seed: *seed, Patience: *patience, Augment: train.DefaultAugment,
		Treatment: shortcut.Treatment{JPEGQuality: *quality, Crop: *crop},
		Init:      init, Resume: resumed, Checkpoint: *ckpt, Workers: *workers,
		Notes:       map[string]string{"split": *split, "groups": *groups},
		Recalibrate: *recalibrate,
	}
	if *recalibrate == 0 {
		cfg.Recalibrate = -1
	}
	if *noAugment {
		cfg.Augment = train.Augment{}
	}
	bar := newProgressBar(stderr, "train")
	cfg.Progress = bar.update
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "training at %dx%d, batch %d, Adam lr %g, up to %d epochs, images %s (checkpoint %s)\n",
		in.Width, in.Height, *batch, *lr, *epochs, cfg.Treatment, *ckpt)
	res, err := train.Run(ctx, train.Recipe{FitConfig: cfg, Test: examples(testSet),
		Data: fmt.Sprintf("%s: %d images (%s); split train %d / validation %d / test %d, %s, seed %d",
			*data, len(d.Items), counts, len(trainSet), len(valSet), len(testSet), grouping, *seed)})
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
	if c := res.Calibration; c == nil {
		fmt.Fprintln(stderr, "papscope train: warning: no validation split: the weights carry no temperature and no out-of-distribution statistics")
	} else {
		if c.Temperature != c.TemperatureFitted {
			fmt.Fprintf(stderr, "calibration: the validation loss keeps falling to temperature %.3g (the split is separated without error): temperature kept at 1\n", c.TemperatureFitted)
		}
		if res.Test != nil {
			fmt.Fprintf(stderr, "calibration: temperature %.4g; test ECE %.4f before, %.4f after; OOD threshold %.4g (%g quantile of validation)\n",
				c.Temperature, c.TestECEBefore, c.TestECEAfter, c.OODThreshold, c.OODQuantile)
		}
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
