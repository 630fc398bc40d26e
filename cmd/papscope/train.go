package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	"time"

	"papscope/calibrate"
	"papscope/dataset"
	"papscope/metrics"
	"papscope/nn"
	"papscope/safefile"
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
	replicas := fs.Int("replicas", 0, "copies of the training graph run in parallel on shares of each batch (must divide -batch; 0: one per core, at least 4 images each)")
	noAugment := fs.Bool("no-augment", false, "train without flips, rotations and colour jitter")
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
	case *replicas < 0:
		return fmt.Errorf("%w: -replicas must be ≥ 0", errUsage)
	case *epochs < 1, *batch < 1, *workers < 1:
		return fmt.Errorf("%w: -epochs, -batch and -workers must be at least 1", errUsage)
	case !(*lr > 0):
		return fmt.Errorf("%w: -lr must be > 0", errUsage)
	case *recalibrate < 0:
		return fmt.Errorf("%w: -recalibrate must be ≥ 0", errUsage)
	case *patience < 0:
		return fmt.Errorf("%w: -patience must be ≥ 0", errUsage)
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

	d, err := dataset.Scan(*data)
	if err != nil {
		return err
	}
	for _, w := range d.Warnings() {
		fmt.Fprintf(stderr, "papscope train: warning: %s\n", w)
	}
	bad, err := d.DropUnreadable(*workers)
	for _, b := range bad {
		fmt.Fprintf(stderr, "papscope train: skipping unreadable image %s\n", b)
	}
	if err != nil {
		return err
	}
	grouping := "stratified by class"
	if *groups != "" {
		g, err := dataset.LoadGroups(*groups)
		if err != nil {
			return err
		}
		unused, err := d.SetGroups(g)
		if err != nil {
			return err
		}
		if len(unused) > 0 {
			fmt.Fprintf(stderr, "papscope train: warning: %d entries of %s match no image, e.g. %s\n", len(unused), *groups, unused[0])
		}
		grouping = fmt.Sprintf("stratified, grouped by %s from %s", g.Column, *groups)
	}
	trainSet, valSet, testSet, err := dataset.Split(d, fractions, *seed)
	if err != nil {
		return err
	}
	counts := classCounts(d.Counts())
	fmt.Fprintf(stderr, "data %s: %d images (%s); train %d, validation %d, test %d (%s, seed %d)\n",
		*data, len(d.Items), counts, len(trainSet), len(valSet), len(testSet), grouping, *seed)

	cfg := train.FitConfig{
		Train: examples(trainSet), Val: examples(valSet), Input: in, Batch: *batch, Epochs: *epochs,
		LearnRate: *lr, Seed: *seed, Patience: *patience, Augment: train.DefaultAugment,
		Init: init, Resume: resumed, Checkpoint: *ckpt, Workers: *workers, Replicas: *replicas,
		Notes:       map[string]string{"split": *split, "groups": *groups},
		Recalibrate: *recalibrate,
	}
	if *recalibrate == 0 {
		cfg.Recalibrate = -1
	}
	augmentation := "augmented with flips, quarter turns and brightness/contrast/colour jitter"
	if *noAugment {
		cfg.Augment, augmentation = train.Augment{}, "no augmentation"
	}
	bar := newProgressBar(stderr)
	cfg.Progress = bar.update
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *replicas == 0 {
		*replicas = train.DefaultReplicas(*batch, *workers)
	}
	cfg.Replicas = *replicas
	fmt.Fprintf(stderr, "training at %dx%d, batch %d on %d graph %s, Adam lr %g, up to %d epochs (checkpoint %s)\n",
		in.Width, in.Height, *batch, *replicas, map[bool]string{true: "replica", false: "replicas"}[*replicas == 1], *lr, *epochs, *ckpt)
	res, err := train.Fit(ctx, cfg)
	bar.finish()
	if errors.Is(err, train.ErrInterrupted) {
		return fmt.Errorf("%w; continue with: papscope train -data %s -o %s -resume %s", err, *data, *out, *ckpt)
	}
	if err != nil {
		return err
	}
	stop()
	best := res.History[res.BestEpoch-1]
	fmt.Fprintf(stderr, "finished (%s) after %d epochs; best epoch %d: validation balanced accuracy %.4f, loss %.4f\n",
		res.Stopped, len(res.History), res.BestEpoch, best.ValBalanced, best.ValLoss)

	meta := nn.DefaultMetadata(in)
	meta.Source = "papscope train"
	meta.TrainingData = fmt.Sprintf("%s: %d images (%s); split train %d / validation %d / test %d, %s, seed %d; "+
		"trained %d epochs at %dx%d, batch %d, Adam lr %g, %s; best epoch %d by validation balanced accuracy",
		*data, len(d.Items), counts, len(trainSet), len(valSet), len(testSet), grouping, *seed,
		len(res.History), in.Width, in.Height, *batch, *lr, augmentation, res.BestEpoch)
	history, err := json.Marshal(res.History)
	if err != nil {
		return err
	}
	meta.Extra = map[string]string{"training_history": string(history)}

	final, fit, err := calibrated(res.Best, trainSet, valSet, *workers, stderr)
	if err != nil {
		return err
	}
	if len(testSet) > 0 {
		model, err := nn.NewModel(res.Best)
		if err != nil {
			return err
		}
		test, err := forwardItems(model, testSet, *workers, stderr)
		if err != nil {
			return fmt.Errorf("test split: %w", err)
		}
		rep, err := metrics.Evaluate(test.labels, test.probsAt(final.Meta.Temperature))
		if err != nil {
			return fmt.Errorf("test split: %w", err)
		}
		if fit != nil {
			before, err := metrics.Evaluate(test.labels, test.probs)
			if err != nil {
				return fmt.Errorf("test split: %w", err)
			}
			fit["test_ece_before"], fit["test_ece_after"] = before.ECE, rep.ECE
			fmt.Fprintf(stderr, "calibration: temperature %.4g; test ECE %.4f before, %.4f after; OOD threshold %.4g (%g quantile of validation)\n",
				final.Meta.Temperature, before.ECE, rep.ECE, final.Meta.OODThreshold, OODQuantile)
		}
		js, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		meta.Metrics = string(js)
		fmt.Fprintf(stdout, "held-out test split (%d images), best weights:\n", rep.N)
		if err := rep.WriteText(stdout); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stderr, "papscope train: warning: the test split is empty: no held-out metrics in the weights")
	}
	if fit != nil {
		js, err := json.Marshal(fit)
		if err != nil {
			return err
		}
		meta.Extra["calibration"] = string(js)
	}
	meta.Temperature, meta.OODThreshold = final.Meta.Temperature, final.Meta.OODThreshold
	w, err := nn.NewWeights(meta, weightTensors(final))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := w.Encode(&buf); err != nil {
		return err
	}
	if err := safefile.Write(*out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (input %dx%d, best epoch %d)\n", *out, in.Width, in.Height, res.BestEpoch)
	return nil
}

// weightTensors returns every tensor of w by name (shared, not copied): the
// parameters and the out-of-distribution statistics when it carries them.
func weightTensors(w *nn.Weights) map[string][]float32 {
	t := map[string][]float32{}
	for _, p := range nn.Params() {
		t[p.Name] = w.Tensor(p.Name)
	}
	if w.HasOOD() {
		t[nn.OODMeansName], t[nn.OODPrecisionName] = w.Tensor(nn.OODMeansName), w.Tensor(nn.OODPrecisionName)
	}
	return t
}

// OODQuantile is the share of validation images the out-of-distribution
// threshold keeps in distribution.
const OODQuantile = 0.99

// calibrated returns w with a softmax temperature fitted on the validation
// split and out-of-distribution statistics fitted on the training split (the
// threshold at the OODQuantile of the validation scores), and a record of the
// fit. Without a validation split, w is returned as it is, with a warning and
// no record.
func calibrated(w *nn.Weights, trainSet, valSet []dataset.Item, workers int, stderr io.Writer) (*nn.Weights, map[string]any, error) {
	if len(valSet) == 0 {
		fmt.Fprintln(stderr, "papscope train: warning: no validation split: the weights carry no temperature and no out-of-distribution statistics")
		return w, nil, nil
	}
	model, err := nn.NewModel(w)
	if err != nil {
		return nil, nil, err
	}
	val, err := forwardItems(model, valSet, workers, stderr)
	if err != nil {
		return nil, nil, fmt.Errorf("calibration on the validation split: %w", err)
	}
	tr, err := forwardItems(model, trainSet, workers, stderr)
	if err != nil {
		return nil, nil, fmt.Errorf("calibration on the training split: %w", err)
	}
	temperature, fitted, err := calibrate.Temperature(val.logits, val.labels)
	if err != nil {
		return nil, nil, err
	}
	if temperature != fitted {
		fmt.Fprintf(stderr, "calibration: the validation loss keeps falling to temperature %.3g (the split is separated without error): temperature kept at 1\n", fitted)
	}
	means, precision, err := calibrate.FitOOD(tr.pooled, tr.labels)
	if err != nil {
		return nil, nil, err
	}
	scores := make([]float64, len(val.pooled))
	for i, x := range val.pooled {
		scores[i] = calibrate.Score(means, precision, x)
	}
	threshold, err := calibrate.OODThreshold(scores, OODQuantile)
	if err != nil {
		return nil, nil, err
	}
	out, err := calibrate.Attach(w, temperature, means, precision, threshold)
	if err != nil {
		return nil, nil, err
	}
	fit := map[string]any{
		"temperature":        temperature,
		"temperature_fitted": fitted,
		"val_nll_before":     calibrate.NLL(val.logits, val.labels, 1),
		"val_nll_after":      calibrate.NLL(val.logits, val.labels, temperature),
		"ood_threshold":      threshold,
		"ood_quantile":       OODQuantile,
		"ood_fit_images":     len(tr.pooled),
	}
	return out, fit, nil
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

// progressBar prints training progress on stderr: one updating line when it
// is a terminal, else a line per epoch.
type progressBar struct {
	w        io.Writer
	terminal bool
	last     time.Time
	open     bool // a \r line is showing
}

func newProgressBar(w io.Writer) *progressBar {
	term := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			term = true
		}
	}
	return &progressBar{w: w, terminal: term}
}

func (b *progressBar) update(p train.Progress) {
	if p.Done != nil {
		e := p.Done
		mark := ""
		if e.Best {
			mark = "  *best*"
		}
		val := ""
		if e.ValN > 0 {
			val = fmt.Sprintf("  val loss %.4f acc %5.1f%% bal %5.1f%%", e.ValLoss, 100*e.ValAccuracy, 100*e.ValBalanced)
		}
		b.clear()
		fmt.Fprintf(b.w, "epoch %d/%d  loss %.4f acc %5.1f%%%s  %.1f img/s  %s  ETA %s%s\n",
			p.Epoch, p.Epochs, e.Loss, 100*e.Accuracy, val, e.ImagesPerSecond, roundDur(time.Duration(e.Seconds*float64(time.Second))), roundDur(p.ETA), mark)
		return
	}
	if !b.terminal || (time.Since(b.last) < 200*time.Millisecond && p.Batch < p.Batches) {
		return
	}
	b.last = time.Now()
	const width = 20
	fill := width * p.Batch / p.Batches
	fmt.Fprintf(b.w, "\repoch %d/%d [%s%s] %d/%d  loss %.4f acc %5.1f%%  %.1f img/s  ETA %s \x1b[K",
		p.Epoch, p.Epochs, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), p.Batch, p.Batches,
		p.Loss, 100*p.Accuracy, p.ImagesPerSecond, roundDur(p.ETA))
	b.open = true
}

// clear ends the updating line.
func (b *progressBar) clear() {
	if b.open {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.open = false
	}
}

func (b *progressBar) finish() {
	if b.open {
		fmt.Fprintln(b.w)
		b.open = false
	}
}

func roundDur(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}
