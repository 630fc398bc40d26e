package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"papscope/calibrate"
	"papscope/dataset"
	"papscope/metrics"
	"papscope/nn"
	"papscope/safefile"
	"papscope/shortcut"
	"papscope/train"
)

// foldResult is one fold's out-of-fold predictions, saved so a rerun resumes.
type foldResult struct {
	Key         string             `json:"key"` // the settings and split it was made with
	Fold        int                `json:"fold"`
	HeldOut     []string           `json:"held_out_slides"`
	Files       []string           `json:"files"`
	Units       []string           `json:"units"`
	Labels      []int              `json:"labels"`
	Probs       [][]float32        `json:"probs"` // at the fold model's temperature
	BestEpoch   int                `json:"best_epoch"`
	Seconds     float64            `json:"seconds"`
	Temperature float64            `json:"temperature"`
	History     []train.EpochStats `json:"history"`
}

// cvSummary is the pooled result of one way of splitting.
type cvSummary struct {
	Split    string          `json:"split"` // "slide" or "image"
	Units    string          `json:"counted"`
	Report   *metrics.Report `json:"metrics"`
	Recall95 [][2]float64    `json:"recall_95ci"` // Wilson interval per class
	Folds    []cvFold        `json:"folds"`
	Seconds  float64         `json:"seconds"`
}

type cvFold struct {
	Fold      int      `json:"fold"`
	HeldOut   []string `json:"held_out_slides"`
	N         int      `json:"n_images"`
	BestEpoch int      `json:"best_epoch"`
}

func runCV(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cv", stderr)
	data := fs.String("data", "", "dataset folder with one subfolder per class, and manifest.csv (or -groups)")
	groups := fs.String("groups", "", "CSV mapping files to slides (default: DIR/manifest.csv when present)")
	k := fs.Int("folds", 4, "folds, by slide (LSIL and SCC have 4 slides in the LBC data, so at most 4 keep every class in every fold)")
	work := fs.String("work", "cv.work", "folder for per-fold checkpoints and results: rerunning the same command resumes")
	epochs := fs.Int("epochs", 20, "epochs per fold")
	batch := fs.Int("batch", 16, "images per training step")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate")
	size := fs.String("size", "128", "input size: N for N×N, or WxH")
	seed := fs.Uint64("seed", 1, "seed of the folds, the validation split, the initial weights and the augmentation")
	patience := fs.Int("patience", 5, "stop a fold after this many epochs without a better validation score (0: never)")
	valShare := fs.Float64("val", 0.15, "share of each fold's training slides held out for validation (early stopping, calibration)")
	quality := fs.Int("jpeg-quality", shortcut.Default.JPEGQuality, "re-encode every image at this JPEG quality, every class alike (0: files as they are)")
	crop := fs.Float64("crop", shortcut.Default.Crop, "keep this share of each side, centred, every class alike (0 or 1: whole image)")
	byImage := fs.Bool("by-image", true, "also cross-validate split by image (ignoring slides and originals), to show what such a split would claim")
	asJSON := fs.Bool("json", false, "print one JSON object")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines decoding, augmenting and validating")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *data == "":
		return fmt.Errorf("%w: -data DIR is required", errUsage)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	case *k < 2:
		return fmt.Errorf("%w: -folds must be at least 2", errUsage)
	case *epochs < 1, *batch < 1, *workers < 1:
		return fmt.Errorf("%w: -epochs, -batch and -workers must be at least 1", errUsage)
	case !(*valShare > 0 && *valShare < 1):
		return fmt.Errorf("%w: -val must be in (0, 1)", errUsage)
	case *quality < 0 || *quality > 100:
		return fmt.Errorf("%w: -jpeg-quality must be 0–100", errUsage)
	case nn.CheckCrop(*crop) != nil:
		return fmt.Errorf("%w: -crop: %v", errUsage, nn.CheckCrop(*crop))
	}
	in, err := parseInputSize(*size)
	if err != nil {
		return fmt.Errorf("%w: -size: %v", errUsage, err)
	}
	d, err := loadData(*data, *groups, *workers, "cv", stderr)
	if err != nil {
		return err
	}
	if d.Grouping == "" {
		fmt.Fprintf(stderr, "papscope cv: warning: %s has no manifest.csv and no -groups: folds split by image\n", *data)
	}
	if err := os.MkdirAll(*work, 0o755); err != nil {
		return fmt.Errorf("cv work folder: %w", err)
	}
	base := train.FitConfig{Input: in, Batch: *batch, Epochs: *epochs, LearnRate: *lr, Seed: *seed, Patience: *patience,
		Augment: train.DefaultAugment, Treatment: shortcut.Treatment{JPEGQuality: *quality, Crop: *crop}, Workers: *workers}
	splits := []string{"slide"}
	if *byImage {
		splits = append(splits, "image")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bar := newProgressBar(stderr, "cv")
	defer bar.finish()
	var out []*cvSummary
	for s, split := range splits {
		sd := d
		if split == "image" {
			items := slices.Clone(d.Items)
			for i := range items {
				items[i].Group, items[i].Original = "", ""
			}
			sd = d.Subset(items)
			sd.Grouping = ""
		}
		sum, err := crossValidate(ctx, sd, d, split, *k, *valShare, base, *work, bar, s*(*k), len(splits)*(*k), stderr)
		if errors.Is(err, train.ErrInterrupted) || ctx.Err() != nil {
			return fmt.Errorf("%w; rerun the same command to resume from %s", err, *work)
		}
		if err != nil {
			return err
		}
		out = append(out, sum)
	}
	bar.finish()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"data": *data, "grouping": d.Grouping, "folds": *k, "input": [2]int{in.Width, in.Height}, "epochs": *epochs,
			"treatment": base.Treatment.String(), "by_slide": out[0], "by_image": func() any {
				if len(out) > 1 {
					return out[1]
				}
				return nil
			}(),
		})
	}
	for _, sum := range out {
		writeCV(stdout, sum)
	}
	if len(out) > 1 {
		fmt.Fprintf(stdout, "\nsplit by image would claim balanced accuracy %.3f (accuracy %.3f); by slide, each original once: %.3f (accuracy %.3f)\n",
			out[1].Report.BalancedAccuracy, out[1].Report.Accuracy, out[0].Report.BalancedAccuracy, out[0].Report.Accuracy)
	}
	return nil
}

// crossValidate trains one model per fold of d (split by slide, or by image
// when the items carry no groups) and pools the out-of-fold predictions,
// counting each original once (its copies' probabilities averaged) when
// the items know their originals. orig is the dataset with its slides, for
// naming the held-out slides.
func crossValidate(ctx context.Context, d, orig *dataset.Dataset, split string, k int, valShare float64, base train.FitConfig, work string,
	bar *progressBar, run0, runs int, stderr io.Writer) (*cvSummary, error) {
	t0 := time.Now()
	fold, err := dataset.Folds(d, k, base.Seed)
	if err != nil {
		return nil, err
	}
	sum := &cvSummary{Split: split, Units: "each original once"}
	if split == "image" {
		sum.Units = "each image"
	}
	var files, units []string
	var labels []int
	var probs [][]float32
	for f := range k {
		var test, rest []dataset.Item
		slides := map[string]bool{}
		for i, it := range d.Items {
			if fold[i] == f {
				test = append(test, it)
				slides[orig.Items[i].Group] = true
			} else {
				rest = append(rest, it)
			}
		}
		trainSet, valSet, _, err := dataset.Split(d.Subset(rest), [3]float64{1 - valShare, valShare, 0}, base.Seed)
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f+1, err)
		}
		held := slices.Sorted(func(yield func(string) bool) {
			for s := range slides {
				if !yield(s) {
					return
				}
			}
		})
		name := fmt.Sprintf("%s-%d-of-%d", split, f+1, k)
		key := fmt.Sprintf("%s input %dx%d batch %d epochs %d lr %g seed %d patience %d val %g %s %s; test %d train %d val %d",
			split, base.Input.Width, base.Input.Height, base.Batch, base.Epochs, base.LearnRate, base.Seed, base.Patience, valShare,
			base.Treatment, base.Augment, len(test), len(trainSet), len(valSet))
		resultPath := filepath.Join(work, name+".json")
		var r foldResult
		if data, err := os.ReadFile(resultPath); err == nil && json.Unmarshal(data, &r) == nil && r.Key == key {
			fmt.Fprintf(stderr, "%s: done before (%s), reusing it\n", name, resultPath)
		} else {
			bar.startRun(run0+f, runs, fmt.Sprintf("%s %d/%d", split, f+1, k))
			if r, err = trainFold(ctx, name, key, f, held, trainSet, valSet, test, base, work, bar, stderr); err != nil {
				return nil, err
			}
			js, err := json.Marshal(r)
			if err != nil {
				return nil, err
			}
			if err := safefile.Write(resultPath, js); err != nil {
				return nil, err
			}
		}
		files, units, labels, probs = append(files, r.Files...), append(units, r.Units...), append(labels, r.Labels...), append(probs, r.Probs...)
		sum.Folds = append(sum.Folds, cvFold{Fold: f + 1, HeldOut: r.HeldOut, N: len(r.Files), BestEpoch: r.BestEpoch})
	}
	pl, pp := pool(units, labels, probs)
	if sum.Report, err = metrics.Evaluate(pl, pp); err != nil {
		return nil, err
	}
	for c := range nn.NumClasses {
		lo, hi := metrics.Wilson(sum.Report.Confusion[c][c], sum.Report.PerClass[c].Support)
		sum.Recall95 = append(sum.Recall95, [2]float64{lo, hi})
	}
	sum.Seconds = time.Since(t0).Seconds()
	return sum, nil
}

// trainFold trains fold f with the recipe of papscope train, resuming its
// checkpoint when there is one, and returns its out-of-fold predictions.
func trainFold(ctx context.Context, name, key string, f int, held []string, trainSet, valSet, test []dataset.Item, base train.FitConfig,
	work string, bar *progressBar, stderr io.Writer) (foldResult, error) {
	t0 := time.Now()
	cfg := base
	cfg.Train, cfg.Val = examples(trainSet), examples(valSet)
	cfg.Checkpoint = filepath.Join(work, name+".ckpt.safetensors")
	cfg.Progress = bar.update
	if _, err := os.Stat(cfg.Checkpoint); err == nil {
		if cfg.Resume, err = train.ReadCheckpoint(cfg.Checkpoint); err != nil {
			return foldResult{}, fmt.Errorf("%s: %w (delete it to start the fold again)", name, err)
		}
		fmt.Fprintf(stderr, "%s: resuming from %s\n", name, cfg.Checkpoint)
	}
	fmt.Fprintf(stderr, "%s: held out %s (%d images); train %d, validation %d\n", name, strings.Join(shorten(held, 8), ", "), len(test), len(trainSet), len(valSet))
	res, err := train.Run(ctx, train.Recipe{FitConfig: cfg, Test: examples(test), Data: name})
	if err != nil {
		return foldResult{}, fmt.Errorf("%s: %w", name, err)
	}
	r := foldResult{Key: key, Fold: f + 1, HeldOut: held, BestEpoch: res.Fit.BestEpoch, History: res.Fit.History,
		Temperature: res.Weights.Meta.Temperature, Seconds: time.Since(t0).Seconds()}
	t := r.Temperature
	if t == 0 {
		t = 1
	}
	for i, it := range test {
		p := calibrate.Softmax(res.TestOutputs.Logits[i], t)
		r.Files = append(r.Files, it.Path)
		r.Units = append(r.Units, it.Unit())
		r.Labels = append(r.Labels, it.Class)
		r.Probs = append(r.Probs, p[:])
	}
	return r, nil
}

// pool averages the probabilities of the images of each unit (an original
// and its copies), returning one label and one probability row per unit,
// in order of first appearance.
func pool(units []string, labels []int, probs [][]float32) ([]int, [][]float32) {
	idx := map[string]int{}
	var outL []int
	var outP [][]float32
	var n []int
	for i, u := range units {
		j, ok := idx[u]
		if !ok {
			j = len(outL)
			idx[u] = j
			outL, outP, n = append(outL, labels[i]), append(outP, make([]float32, len(probs[i]))), append(n, 0)
		}
		for c, v := range probs[i] {
			outP[j][c] += v
		}
		n[j]++
	}
	for j := range outP {
		for c := range outP[j] {
			outP[j][c] /= float32(n[j])
		}
	}
	return outL, outP
}

// shorten lists at most k strings, saying how many more there are.
func shorten(s []string, k int) []string {
	if len(s) <= k {
		return s
	}
	return append(slices.Clone(s[:k]), fmt.Sprintf("and %d more", len(s)-k))
}

// writeCV prints one cross-validation's pooled figures.
func writeCV(w io.Writer, s *cvSummary) {
	r := s.Report
	fmt.Fprintf(w, "\ncross-validation split by %s, %d folds, out of fold, %s (n = %d; %.0f s):\n", s.Split, len(s.Folds), s.Units, r.N, s.Seconds)
	fmt.Fprintf(w, "  accuracy %.3f   balanced accuracy %.3f   macro F1 %.3f   macro AUC %.3f   ECE %.3f\n", r.Accuracy, r.BalancedAccuracy, r.MacroF1, r.MacroAUC, r.ECE)
	fmt.Fprintf(w, "  %-5s %9s %8s %15s %6s %6s %7s\n", "class", "precision", "recall", "recall 95% CI", "F1", "AUC", "support")
	for c, name := range r.Classes {
		p := r.PerClass[c]
		fmt.Fprintf(w, "  %-5s %9s %8s %15s %6s %6s %7d\n", name, f3(p.Precision), f3(p.Recall),
			fmt.Sprintf("[%s, %s]", f3(s.Recall95[c][0]), f3(s.Recall95[c][1])), f3(p.F1), f3(p.AUC), p.Support)
	}
	fmt.Fprintf(w, "  confusion (rows true, columns predicted: %s):\n", strings.Join(r.Classes, " "))
	for c, row := range r.Confusion {
		fmt.Fprintf(w, "  %-5s %v\n", r.Classes[c], row)
	}
	for _, f := range s.Folds {
		held := ""
		if s.Split == "slide" {
			held = ", held out " + strings.Join(f.HeldOut, " ")
		}
		fmt.Fprintf(w, "  fold %d: %d images, best epoch %d%s\n", f.Fold, f.N, f.BestEpoch, held)
	}
}

func f3(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.3f", x)
}
