package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"papscope/dataset"
	"papscope/internal/shortcut"
	"papscope/nn"
)

// probeReport is what papscope probe prints with -json.
type probeReport struct {
	Data      string                  `json:"data"`
	Grouping  string                  `json:"grouping"`
	Treatment string                  `json:"treatment"`
	Before    *shortcut.ProbeResult   `json:"statistics_before"`
	After     *shortcut.ProbeResult   `json:"statistics_after"`
	NILM      *shortcut.NILMProbe     `json:"nilm_augmented,omitempty"`
	Weights   string                  `json:"weights,omitempty"`
	Means     map[string][2][]float64 `json:"class_means"` // before, after: [quality, fill] per class
}

func runProbe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("probe", stderr)
	data := fs.String("data", "", "dataset folder with one subfolder per class, and manifest.csv (or -groups)")
	groups := fs.String("groups", "", "CSV mapping files to slides (default: DIR/manifest.csv when present)")
	folds := fs.Int("folds", 4, "slide-grouped cross-validation folds of the statistics-only classifier")
	quality := fs.Int("jpeg-quality", shortcut.Default.JPEGQuality, "treatment: re-encode every image at this JPEG quality (0: no re-encoding)")
	crop := fs.Float64("crop", shortcut.Default.Crop, "treatment: share of each side kept, centred (0 or 1: whole image)")
	weightsPath := fs.String("weights", "", "also run the augmented-NILM probe with these weights")
	copies := fs.Int("copies", 1, "augmented copies of each NILM field for the augmented-NILM probe")
	seed := fs.Uint64("seed", 1, "seed of the folds and the augmentation")
	asJSON := fs.Bool("json", false, "print one JSON object")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "images measured in parallel")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *data == "":
		return fmt.Errorf("%w: -data DIR is required", errUsage)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	case *folds < 2, *workers < 1, *copies < 1:
		return fmt.Errorf("%w: -folds must be at least 2, -workers and -copies at least 1", errUsage)
	case *quality < 0 || *quality > 100:
		return fmt.Errorf("%w: -jpeg-quality must be 0–100", errUsage)
	}
	if err := nn.CheckCrop(*crop); err != nil {
		return fmt.Errorf("%w: -crop: %v", errUsage, err)
	}
	t := shortcut.Treatment{JPEGQuality: *quality, Crop: *crop}
	d, unused, err := dataset.Load(*data, *groups)
	if err != nil {
		return err
	}
	for _, u := range unused {
		fmt.Fprintf(stderr, "papscope probe: warning: %s\n", u)
	}
	if d.Grouping == "" {
		fmt.Fprintf(stderr, "papscope probe: warning: %s has no manifest.csv and no -groups: the folds split by image, not by slide\n", *data)
	}
	fold, err := dataset.Folds(d, *folds, *seed)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	paths := make([]string, len(d.Items))
	labels := make([]int, len(d.Items))
	for i, it := range d.Items {
		paths[i], labels[i] = it.Path, it.Class
	}
	rep := probeReport{Data: *data, Grouping: d.Grouping, Treatment: t.String(), Means: map[string][2][]float64{}}
	for k, tr := range []shortcut.Treatment{shortcut.None, t} {
		fmt.Fprintf(stderr, "measuring %d images (treatment: %s)…\n", len(paths), tr)
		stats, err := shortcut.MeasureAll(ctx, paths, tr, *workers)
		if err != nil {
			return err
		}
		res, err := shortcut.Probe(stats, labels, fold)
		if err != nil {
			return err
		}
		if k == 0 {
			rep.Before = res
		} else {
			rep.After = res
		}
		for c, name := range nn.ClassNames() {
			var q, f float64
			n := 0
			for i, s := range stats {
				if labels[i] == c {
					q, f, n = q+float64(s.Quality), f+s.Fill, n+1
				}
			}
			m := rep.Means[name]
			m[k] = []float64{q / float64(max(n, 1)), f / float64(max(n, 1))}
			rep.Means[name] = m
		}
	}
	if *weightsPath != "" {
		model, err := loadModel(*weightsPath)
		if err != nil {
			return err
		}
		var nilm []string
		for _, it := range d.Items {
			if nn.ClassNames()[it.Class] == "NILM" {
				nilm = append(nilm, it.Path)
			}
		}
		q := 0
		if v, ok := model.Weights().Meta().Extra[shortcut.JPEGQualityKey]; ok {
			fmt.Sscan(v, &q)
		}
		rep.Weights = *weightsPath
		if rep.NILM, err = shortcut.ProbeNILM(ctx, model, nilm, q, *copies, *seed, *workers); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "data       %s (%s)\n", *data, orUnknown(d.Grouping))
	fmt.Fprintf(stdout, "statistics-only classifier (JPEG quality, border-fill fraction), %d-fold cross-validation by slide:\n", rep.Before.Folds)
	fmt.Fprintf(stdout, "  %-18s %9s %9s %9s %16s\n", "", "accuracy", "balanced", "chance", "NILM-vs-abn AUC")
	for _, row := range []struct {
		name string
		r    *shortcut.ProbeResult
	}{{"files as they are", rep.Before}, {"after treatment", rep.After}} {
		fmt.Fprintf(stdout, "  %-18s %9.3f %9.3f %9.3f %16.3f\n", row.name, row.r.Accuracy, row.r.BalancedAccuracy, row.r.Chance, row.r.NILMvsAbnormal)
	}
	fmt.Fprintf(stdout, "treatment: %s\n", t)
	fmt.Fprintln(stdout, "class means (JPEG quality, fill fraction), before → after:")
	for _, name := range nn.ClassNames() {
		m := rep.Means[name]
		fmt.Fprintf(stdout, "  %-5s %5.1f %.4f → %5.1f %.4f\n", name, m[0][0], m[0][1], m[1][0], m[1][1])
	}
	if n := rep.NILM; n != nil {
		verdict := "PASS"
		if n.Kept < 0.9 {
			verdict = "FAIL"
		}
		fmt.Fprintf(stdout, "augmented NILM (%s, %d fields × %d copies): NILM rate %.3f as they are, %.3f augmented, kept %.3f (want ≥ 0.9): %s\n",
			*weightsPath, n.N, n.Copies, n.NILMRate, n.AugmentedRate, n.Kept, verdict)
	}
	return nil
}
