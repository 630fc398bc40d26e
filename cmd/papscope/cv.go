package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"papscope/calibrate"
	"papscope/dataset"
	"papscope/internal/safefile"
	"papscope/internal/shortcut"
	"papscope/metrics"
	"papscope/nn"
	"papscope/train"
)

// foldResult is one fold's out-of-fold outputs, saved so a rerun resumes.
type foldResult struct {
	Key       string              `json:"key"` // the settings and split it was made with
	Fold      int                 `json:"fold"`
	HeldOut   []string            `json:"held_out_slides"`
	Files     []string            `json:"files"`
	Units     []string            `json:"units"`
	Labels    []int               `json:"labels"`
	Logits    [][]float32         `json:"logits"`         // the fold model's outputs on the held-out files
	OOD       *metrics.OODReport  `json:"ood"`            // the fold model's out-of-distribution score on them and on outliers
	NILM      *shortcut.NILMProbe `json:"nilm_augmented"` // the shortcut probe on the held-out NILM fields
	BestEpoch int                 `json:"best_epoch"`
	Seconds   float64             `json:"seconds"`
	History   []train.EpochStats  `json:"history"`
}

// cvSummary is the pooled result of one way of splitting.
type cvSummary struct {
	Split     string          `json:"split"` // "slide" or "image"
	Units     string          `json:"counted"`
	Report    *metrics.Report `json:"metrics"`     // at each fold's cross-fitted temperature
	Recall95  [][2]float64    `json:"recall_95ci"` // Wilson interval per class
	ECEBefore float64         `json:"ece_before"`  // ECE at temperature 1, before calibration

	// Calibration field by field, as the page shows one (every image
	// counted, a copy as a field): ECE at temperature 1 and at the
	// cross-fitted temperatures. Averaging the copies of an original
	// already softens its probabilities, so the per-original ECE above
	// and this one can move apart.
	FieldECEBefore float64             `json:"field_ece_before"`
	FieldECEAfter  float64             `json:"field_ece_after"`
	NILM           *shortcut.NILMProbe `json:"nilm_augmented"` // the folds' shortcut probes pooled: held-out NILM fields, augmented as the abnormal classes were
	Folds          []cvFold            `json:"folds"`
	Seconds        float64             `json:"seconds"`

	// The out-of-fold outputs, image by image, for the final weights' temperature.
	labels []int
	logits [][nn.NumClasses]float32
}

type cvFold struct {
	Fold        int                `json:"fold"`
	HeldOut     []string           `json:"held_out_slides"`
	N           int                `json:"n_images"`
	BestEpoch   int                `json:"best_epoch"`
	Temperature float64            `json:"temperature"` // fitted on the other folds' out-of-fold outputs
	OOD         *metrics.OODReport `json:"ood"`
}

func runCV(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cv", stderr)
	data := fs.String("data", "", "dataset folder with one subfolder per class, and manifest.csv (or -groups)")
	groups := fs.String("groups", "", "CSV mapping files to slides (default: DIR/manifest.csv when present)")
	k := fs.Int("folds", 4, "folds, by slide (LSIL and SCC have 4 slides in the LBC data, so at most 4 keep every class in every fold)")
	work := fs.String("work", "cv.work", "folder for per-fold checkpoints and results: rerunning the same command resumes")
	rf := addRecipeFlags(fs)
	valShare := fs.Float64("val", 0.15, "share of each fold's training slides held out for validation (early stopping, the fold's temperature); 0 with -keep-last: none")
	byImage := fs.Bool("by-image", true, "also cross-validate split by image (ignoring slides and originals), to show what such a split would claim")
	asJSON := fs.Bool("json", false, "print one JSON object")
	plot := fs.String("plot", "", "write the confusion matrix of the cross-validation by slide as a PNG to this file")
	outPath := fs.String("o", "", "then train weights on every slide with the same recipe (for the folds' median best epoch, or -epochs with -keep-last), calibrated on the out-of-fold outputs, and write them here (.safetensors)")
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
	case !(*valShare >= 0 && *valShare < 1):
		return fmt.Errorf("%w: -val must be in [0, 1)", errUsage)
	case *valShare == 0 && !*rf.keepLast:
		return fmt.Errorf("%w: -val 0 leaves nothing to choose the best epoch by: add -keep-last", errUsage)
	}
	base, err := rf.config()
	if err != nil {
		return err
	}
	in := base.Input
	d, err := loadData(*data, *groups, base.Workers, "cv", stderr)
	if err != nil {
		return err
	}
	if d.Grouping == "" {
		fmt.Fprintf(stderr, "papscope cv: warning: %s has no manifest.csv and no -groups: folds split by image\n", *data)
	}
	if err := os.MkdirAll(*work, 0o755); err != nil {
		return fmt.Errorf("cv work folder: %w", err)
	}
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
		sum, err := crossValidate(ctx, sd, d, split, *k, *valShare, base, rf.String(), *work, bar, s*(*k), len(splits)*(*k), stderr)
		if errors.Is(err, train.ErrInterrupted) || ctx.Err() != nil {
			return fmt.Errorf("%w; rerun the same command to resume from %s", err, *work)
		}
		if err != nil {
			return err
		}
		out = append(out, sum)
	}
	if *plot != "" {
		if err := writeConfusion(*plot, out[0].Report); err != nil {
			return err
		}
	}
	if *outPath != "" {
		w, err := trainFinal(ctx, d, out, base, rf.dataText(*data), *rf.kind, *work, bar, stderr)
		if errors.Is(err, train.ErrInterrupted) || ctx.Err() != nil {
			return fmt.Errorf("%w; rerun the same command to resume from %s", err, *work)
		}
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := w.Encode(&buf); err != nil {
			return err
		}
		if err := safefile.Write(*outPath, buf.Bytes()); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s: trained on all %d images, temperature %.4g from the out-of-fold outputs\n", *outPath, len(d.Items), w.Meta().Temperature)
	}
	bar.finish()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"data": *data, "grouping": d.Grouping, "folds": *k, "input": [2]int{in.Width, in.Height}, "epochs": base.Epochs, "recipe": rf.String(),
			"treatment": base.Treatment.String(), "weights": *outPath, "by_slide": out[0], "by_image": func() any {
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

// trainFinal trains weights on every item of d with the recipe base, and
// gives them the figures of the cross-validations in sums (by slide first):
// the temperature fitted on the out-of-fold outputs, the pooled report as
// their metrics, and every summary in the metadata.
func trainFinal(ctx context.Context, d *dataset.Dataset, sums []*cvSummary, base train.FitConfig, data, kind, work string,
	bar *progressBar, stderr io.Writer) (*nn.Weights, error) {
	bySlide := sums[0]
	temperature, fitted, err := calibrate.Temperature(bySlide.logits, bySlide.labels)
	if err != nil {
		return nil, fmt.Errorf("temperature from the out-of-fold outputs: %w", err)
	}
	if temperature != fitted {
		fmt.Fprintf(stderr, "papscope cv: warning: the out-of-fold loss keeps falling to temperature %.3g: temperature kept at 1\n", fitted)
	}
	cfg := base
	cfg.Train, cfg.Val = examples(d.Items), nil
	if !cfg.KeepLast {
		// No validation is left to choose an epoch by: train for the
		// epoch the folds' validation chose, the median over the folds.
		var best []int
		for _, f := range bySlide.Folds {
			best = append(best, f.BestEpoch)
		}
		slices.Sort(best)
		n := len(best)
		cfg.Epochs, cfg.KeepLast = (best[(n-1)/2]+best[n/2]+1)/2, true // the median, a half rounded up
		fmt.Fprintf(stderr, "final weights: %d epochs, the median of the folds' best epochs %v\n", cfg.Epochs, best)
	}
	cfg.Checkpoint = filepath.Join(work, "final.ckpt.safetensors")
	cfg.Progress = bar.update
	if _, err := os.Stat(cfg.Checkpoint); err == nil {
		if cfg.Resume, err = train.ReadCheckpoint(cfg.Checkpoint); err != nil {
			return nil, fmt.Errorf("final weights: %w (delete it to start again)", err)
		}
		fmt.Fprintf(stderr, "final weights: resuming from %s\n", cfg.Checkpoint)
	}
	bar.startRun(0, 1, "all slides")
	fmt.Fprintf(stderr, "final weights: training on all %d images (%s)\n", len(d.Items), classCounts(d.Counts()))
	res, err := train.Run(ctx, train.Recipe{FitConfig: cfg, Kind: kind,
		Data: fmt.Sprintf("%s: all %d images (%s), %s", data, len(d.Items), classCounts(d.Counts()), groupingText(d))})
	if err != nil {
		return nil, fmt.Errorf("final weights: %w", err)
	}
	meta := res.Weights.Meta()
	meta.Temperature = temperature
	report, err := json.Marshal(bySlide.Report)
	if err != nil {
		return nil, err
	}
	meta.Metrics = string(report)
	meta.Evaluation = fmt.Sprintf("%d-fold cross-validation by slide, out of fold, %s (n = %d), with this recipe; these weights then learnt from every slide",
		len(bySlide.Folds), bySlide.Units, bySlide.Report.N)
	all, err := json.Marshal(sums)
	if err != nil {
		return nil, err
	}
	meta.Extra = maps.Clone(meta.Extra)
	meta.Extra["cross_validation"] = string(all)
	return res.Weights.WithMeta(meta)
}

// crossValidate trains one model per fold of d (split by slide, or by image
// when the items carry no groups) and pools the out-of-fold predictions,
// counting each original once (its copies' probabilities averaged) when
// the items know their originals. orig is the dataset with its slides, for
// naming the held-out slides.
func crossValidate(ctx context.Context, d, orig *dataset.Dataset, split string, k int, valShare float64, base train.FitConfig, recipe, work string,
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
	var results []foldResult
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
		key := fmt.Sprintf("v3 %s %s val %g; test %d train %d val %d", split, recipe, valShare, len(test), len(trainSet), len(valSet))
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
		results = append(results, r)
	}
	return summarise(sum, results, time.Since(t0))
}

// summarise pools the folds' out-of-fold outputs into sum: each fold's
// logits at a temperature fitted on the other folds' (so no fold calibrates
// on itself), then each unit (an original and its copies) once, its
// probabilities averaged.
func summarise(sum *cvSummary, results []foldResult, took time.Duration) (*cvSummary, error) {
	var units []string
	var labels []int
	var probs, raw [][]float32
	for f, r := range results {
		var others []int
		var otherLogits [][nn.NumClasses]float32
		for g, o := range results {
			if g != f {
				others = append(others, o.Labels...)
				otherLogits = append(otherLogits, logitRows(o.Logits)...)
			}
		}
		t, _, err := calibrate.Temperature(otherLogits, others)
		if err != nil {
			return nil, fmt.Errorf("fold %d: temperature from the other folds: %w", r.Fold, err)
		}
		for i, l := range logitRows(r.Logits) {
			probs, raw = append(probs, nn.Probs(make([]float32, nn.NumClasses), l[:], t)), append(raw, nn.Probs(make([]float32, nn.NumClasses), l[:], 1))
			sum.logits = append(sum.logits, l)
			sum.labels = append(sum.labels, r.Labels[i])
		}
		units, labels = append(units, r.Units...), append(labels, r.Labels...)
		sum.Folds = append(sum.Folds, cvFold{Fold: r.Fold, HeldOut: r.HeldOut, N: len(r.Files), BestEpoch: r.BestEpoch, Temperature: t, OOD: r.OOD})
	}
	sum.NILM = poolNILM(results)
	pl, pp := pool(units, labels, probs)
	var err error
	if sum.Report, err = metrics.Evaluate(pl, pp); err != nil {
		return nil, err
	}
	_, pr := pool(units, labels, raw)
	before, err := metrics.Evaluate(pl, pr)
	if err != nil {
		return nil, err
	}
	sum.ECEBefore = before.ECE
	if before, err = metrics.Evaluate(sum.labels, raw); err != nil {
		return nil, err
	}
	after, err := metrics.Evaluate(sum.labels, probs)
	if err != nil {
		return nil, err
	}
	sum.FieldECEBefore, sum.FieldECEAfter = before.ECE, after.ECE
	for c := range nn.NumClasses {
		lo, hi := metrics.Wilson(sum.Report.Confusion[c][c], sum.Report.PerClass[c].Support)
		sum.Recall95 = append(sum.Recall95, [2]float64{lo, hi})
	}
	sum.Seconds = took.Seconds()
	return sum, nil
}

// poolNILM adds up the folds' augmented-NILM probes; nil when no fold held out NILM fields.
func poolNILM(results []foldResult) *shortcut.NILMProbe {
	var plain, aug float64 // fields predicted NILM, as they are and augmented (one copy each)
	out := &shortcut.NILMProbe{Copies: 1}
	for _, r := range results {
		if p := r.NILM; p != nil {
			out.N += p.N
			plain += p.NILMRate * float64(p.N)
			aug += p.AugmentedRate * float64(p.N)
		}
	}
	if out.N == 0 {
		return nil
	}
	out.NILMRate, out.AugmentedRate = plain/float64(out.N), aug/float64(out.N)
	if out.NILMRate > 0 {
		out.Kept = out.AugmentedRate / out.NILMRate
	}
	return out
}

// logitRows converts stored logit rows to the network's fixed-size rows.
func logitRows(rows [][]float32) [][nn.NumClasses]float32 {
	out := make([][nn.NumClasses]float32, len(rows))
	for i, r := range rows {
		copy(out[i][:], r)
	}
	return out
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
	res, err := train.Run(ctx, train.Recipe{FitConfig: cfg, Data: name})
	if err != nil {
		return foldResult{}, fmt.Errorf("%s: %w", name, err)
	}
	// The held-out fields go through inference as users run it (nn, with
	// the weights' crop and JPEG treatment), and so do the outliers.
	model, err := nn.NewModel(res.Weights)
	if err != nil {
		return foldResult{}, err
	}
	out, err := forwardItems(model, test, cfg.Workers, stderr)
	if err != nil {
		return foldResult{}, fmt.Errorf("%s: the held-out fields: %w", name, err)
	}
	if out.skipped > 0 {
		return foldResult{}, fmt.Errorf("%s: %d held-out fields could not be classified", name, out.skipped)
	}
	r := foldResult{Key: key, Fold: f + 1, HeldOut: held, BestEpoch: res.Fit.BestEpoch, History: res.Fit.History}
	if r.OOD, err = evaluateOOD(model, out.scores, cvOutliersPerKind, cfg.Workers); err != nil {
		return foldResult{}, fmt.Errorf("%s: out-of-distribution check: %w", name, err)
	}
	var nilm []string
	for _, it := range test {
		if nn.ClassNames()[it.Class] == "NILM" {
			nilm = append(nilm, it.Path)
		}
	}
	if len(nilm) > 0 {
		if r.NILM, err = shortcut.ProbeNILM(ctx, model, nilm, cfg.Treatment.JPEGQuality, 1, cfg.Seed, cfg.Workers); err != nil {
			return foldResult{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	for i, it := range test {
		r.Files = append(r.Files, it.Path)
		r.Units = append(r.Units, it.Unit())
		r.Labels = append(r.Labels, it.Class)
		r.Logits = append(r.Logits, slices.Clone(out.logits[i][:]))
	}
	r.Seconds = time.Since(t0).Seconds()
	return r, nil
}

// cvOutliersPerKind is how many images of each kind of outlier every fold's
// out-of-distribution check scores.
const cvOutliersPerKind = 25

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
	fmt.Fprintf(w, "  accuracy %.3f   balanced accuracy %.3f   macro F1 %.3f   macro AUC %.3f   ECE %.3f (%.3f before calibration)\n",
		r.Accuracy, r.BalancedAccuracy, r.MacroF1, r.MacroAUC, r.ECE, s.ECEBefore)
	fmt.Fprintf(w, "  field by field (every image): ECE %.3f before calibration, %.3f after\n", s.FieldECEBefore, s.FieldECEAfter)
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
	if n := s.NILM; n != nil {
		fmt.Fprintf(w, "  shortcut probe: held-out NILM fields augmented as the abnormal classes were (n = %d): NILM rate %.3f as they are, %.3f augmented, kept %.3f (want ≥ 0.9)\n",
			n.N, n.NILMRate, n.AugmentedRate, n.Kept)
	}
	for _, f := range s.Folds {
		held := ""
		if s.Split == "slide" {
			held = ", held out " + strings.Join(f.HeldOut, " ")
		}
		ood := ""
		if f.OOD != nil && f.OOD.Available {
			ood = fmt.Sprintf(", OOD: %.1f%% of held-out fields flagged, outlier AUROC %.3f", 100*f.OOD.InFlagged, f.OOD.AUROC)
		}
		fmt.Fprintf(w, "  fold %d: %d images, epoch %d kept, temperature %.3g%s%s\n", f.Fold, f.N, f.BestEpoch, f.Temperature, ood, held)
	}
}

func f3(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.3f", x)
}
