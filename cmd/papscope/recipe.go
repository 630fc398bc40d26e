package main

import (
	"flag"
	"fmt"
	"runtime"
	"strings"

	"papscope/internal/shortcut"
	"papscope/nn"
	"papscope/train"
)

// recipeFlags are the training settings papscope train and papscope cv share,
// so that cross-validation measures exactly the recipe train runs.
type recipeFlags struct {
	epochs, batch, patch, patience, quality, recalibrate, workers *int
	lr, crop                                                      *float64
	size, augment, schedule                                       *string
	seed                                                          *uint64
	keepLast                                                      *bool
	kind, describe                                                *string
}

// addRecipeFlags defines the shared training flags on fs.
func addRecipeFlags(fs *flag.FlagSet) *recipeFlags {
	return &recipeFlags{
		epochs:      fs.Int("epochs", 20, "epochs to train (counting those of a resumed checkpoint)"),
		batch:       fs.Int("batch", 16, "images per training step"),
		lr:          fs.Float64("lr", 1e-3, "Adam learning rate (the first step's, under -schedule cosine)"),
		schedule:    fs.String("schedule", "constant", "learning-rate schedule: constant, or cosine (decays to 1% by the last step)"),
		size:        fs.String("size", "128", "input size: N for N×N, or WxH"),
		patch:       fs.Int("patch", 0, "train on random N×N patches of each input (the weights classify the whole input): cells at -size's scale for the cost of N (0: whole inputs)"),
		seed:        fs.Uint64("seed", 1, "seed of the split, the initial weights, the shuffles and the augmentation"),
		patience:    fs.Int("patience", 5, "stop after this many epochs without a better validation score (0: never)"),
		keepLast:    fs.Bool("keep-last", false, "keep the last epoch's weights, not the best by validation (validation then only reports; no early stopping)"),
		augment:     fs.String("augment", "light", "augmentation of training images, every class alike: "+strings.Join(train.AugmentLevels(), ", ")),
		quality:     fs.Int("jpeg-quality", shortcut.Default.JPEGQuality, "re-encode every image at this JPEG quality before use, every class alike (0: use the files as they are)"),
		crop:        fs.Float64("crop", shortcut.Default.Crop, "keep this share of each side, centred, every class alike; recorded in the weights so inference crops alike (0 or 1: whole image)"),
		recalibrate: fs.Int("recalibrate", train.DefaultRecalibrate, "training images that reset the batch-normalization statistics after every epoch (0: keep the moving averages)"),
		workers:     fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines decoding, augmenting and validating"),
		kind:        fs.String("data-kind", "", "what the images are, recorded in the weights for the page's notice: real or synthetic (default: not recorded)"),
		describe:    fs.String("describe", "", "what the data is (name, citation, licence), recorded in the weights (default: the folder's path)"),
	}
}

// dataText describes the data of folder dir for the weights' metadata.
func (f *recipeFlags) dataText(dir string) string {
	if *f.describe != "" {
		return *f.describe
	}
	return dir
}

// config checks the flags and returns the training configuration they set
// (without examples).
func (f *recipeFlags) config() (train.FitConfig, error) {
	switch {
	case *f.epochs < 1, *f.batch < 1, *f.workers < 1:
		return train.FitConfig{}, fmt.Errorf("%w: -epochs, -batch and -workers must be at least 1", errUsage)
	case !(*f.lr > 0):
		return train.FitConfig{}, fmt.Errorf("%w: -lr must be > 0", errUsage)
	case *f.recalibrate < 0:
		return train.FitConfig{}, fmt.Errorf("%w: -recalibrate must be ≥ 0", errUsage)
	case *f.patience < 0:
		return train.FitConfig{}, fmt.Errorf("%w: -patience must be ≥ 0", errUsage)
	case *f.quality < 0 || *f.quality > 100:
		return train.FitConfig{}, fmt.Errorf("%w: -jpeg-quality must be 0–100", errUsage)
	case nn.CheckCrop(*f.crop) != nil:
		return train.FitConfig{}, fmt.Errorf("%w: -crop: %v", errUsage, nn.CheckCrop(*f.crop))
	case *f.kind != "" && *f.kind != nn.RealData && *f.kind != nn.SyntheticData:
		return train.FitConfig{}, fmt.Errorf("%w: -data-kind %q: want %s or %s", errUsage, *f.kind, nn.RealData, nn.SyntheticData)
	}
	in, err := parseInputSize(*f.size)
	if err != nil {
		return train.FitConfig{}, fmt.Errorf("%w: -size: %v", errUsage, err)
	}
	aug, err := train.AugmentLevel(*f.augment)
	if err != nil {
		return train.FitConfig{}, fmt.Errorf("%w: -augment: %v", errUsage, err)
	}
	sched, err := train.ParseSchedule(*f.schedule)
	if err != nil {
		return train.FitConfig{}, fmt.Errorf("%w: -schedule: %v", errUsage, err)
	}
	cfg := train.FitConfig{
		Input: in, Patch: *f.patch, Batch: *f.batch, Epochs: *f.epochs, LearnRate: *f.lr, Schedule: sched, Seed: *f.seed,
		Patience: *f.patience, KeepLast: *f.keepLast, Augment: aug,
		Treatment: shortcut.Treatment{JPEGQuality: *f.quality, Crop: *f.crop},
		Workers:   *f.workers, Recalibrate: *f.recalibrate,
	}
	if *f.recalibrate == 0 {
		cfg.Recalibrate = -1
	}
	return cfg, nil
}

// String describes the recipe for cv's resume key and reports.
func (f *recipeFlags) String() string {
	return fmt.Sprintf("size %s patch %d batch %d epochs %d lr %g %s seed %d patience %d keep-last %t augment %s jpeg %d crop %g recalibrate %d",
		*f.size, *f.patch, *f.batch, *f.epochs, *f.lr, *f.schedule, *f.seed, *f.patience, *f.keepLast, *f.augment, *f.quality, *f.crop, *f.recalibrate)
}
