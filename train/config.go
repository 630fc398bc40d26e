package train

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path/filepath"
	"strconv"

	"papscope/internal/shortcut"
	"papscope/nn"
)

// Example is one training or validation image: a file and its class index.
type Example struct {
	Path  string
	Class int
}

// DefaultRecalibrate is how many training images recalibrate the
// batch-normalization statistics after every epoch when FitConfig.Recalibrate is 0.
const DefaultRecalibrate = 512

// DefaultCacheBytes is how much memory Fit may use to keep decoded, resized
// inputs between epochs: 4 GiB holds about 20,000 images at 128×128 or 2,800
// at 299×299.
const DefaultCacheBytes = 4 << 30

// FitConfig sets up a training run.
type FitConfig struct {
	Train, Val []Example // Val may be empty: then no validation, no early stopping, and the last weights are the best
	Input      nn.Dims   // size every image is resized to: the weights' input size, what validation and inference see

	// Patch, when above 0, trains on a random Patch×Patch square of each
	// (augmented) input instead of the whole: the network is fully
	// convolutional with a global average pool, so it learns from cells at
	// Input's scale for the cost of a Patch-sized step, and the weights then
	// classify the whole Input-sized field.
	Patch     int
	Batch     int      // images per step; the last batch of an epoch is filled from the epoch's first images
	Epochs    int      // total epochs, counting those of a resumed checkpoint
	LearnRate float64  // Adam's step size; 0 means 1e-3
	Seed      uint64   // seeds the initial weights, the shuffles and the augmentation
	Patience  int      // stop after this many epochs without a better validation score; 0 never stops early
	Augment   Augment  // random changes per image and epoch; the zero value changes nothing
	Schedule  Schedule // how the step size changes over the run; the zero value keeps LearnRate

	// KeepLast makes the last epoch's weights the result, whatever validation
	// says: the recipe is then fixed in advance (epochs, schedule) and
	// validation, when there is any, only reports. It turns Patience off.
	KeepLast bool

	// ClassWeights weight each class's loss; nil weights each class by the
	// inverse of its frequency in Train, normalised to mean 1 (all 1 when the
	// classes are balanced).
	ClassWeights []float64

	Init       *nn.Weights // starting weights (any input size; trained at Input); nil: nn.InitWeights with Seed
	Resume     *Checkpoint // continue this run instead (see ReadCheckpoint); Init is then ignored
	Checkpoint string      // file written after every epoch and on interruption; "" for none

	// Treatment is done to every image, of every class alike, before
	// resizing: re-encoding at one JPEG quality, and a centre crop that the
	// weights record (nn.Metadata.Crop) so inference crops alike.
	Treatment shortcut.Treatment

	Workers int // goroutines decoding, augmenting and validating; 0 means GOMAXPROCS

	CacheBytes int64 // memory for decoded inputs; 0 means DefaultCacheBytes, < 0 decodes every time

	// Recalibrate is how many training images (a fixed, seeded choice, not
	// augmented) set the batch-normalization moving statistics at the end of
	// every epoch, before validation and export (see Net.Recalibrate); 0 means
	// DefaultRecalibrate, < 0 keeps the moving averages of the steps.
	Recalibrate int

	Progress func(Progress) // called after every step and every epoch, on Fit's goroutine; may be nil

	// Notes are kept in the checkpoint for the caller (for example the split
	// that chose Train, to make again on resume); a resumed run keeps the
	// checkpoint's notes.
	Notes map[string]string

	source *source // inputs already decoded by Run; nil: Fit decodes them
}

// stepInput is the size of the images a training step sees: Patch×Patch, or Input.
func (cfg *FitConfig) stepInput() nn.Dims {
	if cfg.Patch > 0 {
		return nn.Dims{Height: cfg.Patch, Width: cfg.Patch}
	}
	return cfg.Input
}

// decoder returns how cfg turns files into inputs.
func (cfg *FitConfig) decoder() decoder {
	return decoder{in: cfg.Input, treat: cfg.Treatment}
}

// metadata returns the metadata of weights trained with cfg: the input
// size, and the crop nn must apply.
func (cfg *FitConfig) metadata() nn.Metadata {
	m := nn.DefaultMetadata(cfg.Input)
	m.Crop = cfg.Treatment.Crop
	m.Preprocessing = nn.PreprocessingWithCrop(m.Crop)
	if q := cfg.Treatment.JPEGQuality; q > 0 {
		m.Extra = map[string]string{shortcut.JPEGQualityKey: strconv.Itoa(q)}
	}
	return m
}

// check validates the parts of cfg that need no I/O.
func (cfg *FitConfig) check() error {
	if len(cfg.Train) == 0 {
		return errors.New("train: no training examples")
	}
	for _, set := range [][]Example{cfg.Train, cfg.Val} {
		for _, ex := range set {
			if ex.Class < 0 || ex.Class >= nn.NumClasses {
				return fmt.Errorf("train: %s: class %d is not a class index", ex.Path, ex.Class)
			}
		}
	}
	if err := nn.CheckInput(cfg.Input); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if cfg.Patch < 0 {
		return fmt.Errorf("train: patch %d, want 0 (whole inputs) or a side in pixels", cfg.Patch)
	}
	if cfg.Patch != 0 {
		if cfg.Patch > min(cfg.Input.Height, cfg.Input.Width) {
			return fmt.Errorf("train: patch %d is larger than the %dx%d input", cfg.Patch, cfg.Input.Width, cfg.Input.Height)
		}
		if err := nn.CheckInput(cfg.stepInput()); err != nil {
			return fmt.Errorf("train: patch: %w", err)
		}
	}
	if cfg.Batch < 1 {
		return fmt.Errorf("train: batch size %d, want at least 1", cfg.Batch)
	}
	if cfg.Epochs < 1 {
		return fmt.Errorf("train: %d epochs, want at least 1", cfg.Epochs)
	}
	if err := nn.CheckCrop(cfg.Treatment.Crop); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if q := cfg.Treatment.JPEGQuality; q < 0 || q > 100 {
		return fmt.Errorf("train: JPEG quality %d, want 1–100, or 0 not to re-encode", q)
	}
	if cfg.Patience < 0 {
		return fmt.Errorf("train: patience %d, want ≥ 0", cfg.Patience)
	}
	if cfg.Schedule != Constant && cfg.Schedule != Cosine {
		return fmt.Errorf("train: unknown learning-rate schedule %d", cfg.Schedule)
	}
	return nil
}

// start returns the initial state and weights: from the checkpoint to resume,
// else fresh.
func (cfg *FitConfig) start() (State, *nn.Weights, *nn.Weights, error) {
	in := cfg.Input
	hash := fingerprint(cfg.Train)
	lr := cfg.LearnRate
	if lr == 0 {
		lr = 1e-3
	}
	if r := cfg.Resume; r != nil {
		st := r.State
		switch {
		case st.Input != [2]int{in.Height, in.Width}:
			return State{}, nil, nil, fmt.Errorf("train: resume: the checkpoint was trained at %dx%d, not %dx%d", st.Input[1], st.Input[0], in.Width, in.Height)
		case st.Batch != cfg.Batch:
			return State{}, nil, nil, fmt.Errorf("train: resume: the checkpoint used batch size %d, not %d", st.Batch, cfg.Batch)
		case st.Seed != cfg.Seed:
			return State{}, nil, nil, fmt.Errorf("train: resume: the checkpoint used seed %d, not %d", st.Seed, cfg.Seed)
		case st.TrainN != len(cfg.Train) || st.TrainHash != hash:
			return State{}, nil, nil, fmt.Errorf("train: resume: the training set differs from the checkpoint's (%d images then, %d now): use the same data, split and seed", st.TrainN, len(cfg.Train))
		case r.Weights == nil:
			return State{}, nil, nil, errors.New("train: resume: the checkpoint has no weights")
		}
		st.LearnRate = lr
		// A checkpoint keeps tensors, not metadata: the weights take this
		// run's again (the crop among them, which validation checks).
		w, err := r.Weights.WithMeta(cfg.metadata())
		if err != nil {
			return State{}, nil, nil, fmt.Errorf("train: resume: %w", err)
		}
		best := r.Best
		if best != nil {
			if best, err = best.WithMeta(cfg.metadata()); err != nil {
				return State{}, nil, nil, fmt.Errorf("train: resume: %w", err)
			}
		}
		return st, w, best, nil
	}
	st := State{
		Input: [2]int{in.Height, in.Width}, Batch: cfg.Batch, Seed: cfg.Seed, LearnRate: lr,
		TrainN: len(cfg.Train), TrainHash: hash, ClassWeights: cfg.ClassWeights, Notes: cfg.Notes,
	}
	if st.ClassWeights == nil {
		st.ClassWeights = classWeights(cfg.Train)
	}
	w := cfg.Init
	if w == nil {
		var err error
		if w, err = nn.InitWeights(cfg.metadata(), cfg.Seed); err != nil {
			return State{}, nil, nil, err
		}
	}
	return st, w, nil, nil
}

// classWeights returns each class's inverse frequency in examples, normalised
// to mean 1 over the classes present; an absent class gets 0. Balanced
// classes all get 1.
func classWeights(examples []Example) []float64 {
	var count [nn.NumClasses]int
	for _, ex := range examples {
		count[ex.Class]++
	}
	w := make([]float64, nn.NumClasses)
	sum, present := 0.0, 0
	for c, k := range count {
		if k > 0 {
			w[c] = 1 / float64(k)
			sum += w[c]
			present++
		}
	}
	for c := range w {
		w[c] *= float64(present) / sum
	}
	return w
}

// fingerprint identifies a training set by its file names and classes, in
// order, so a moved dataset folder still resumes.
func fingerprint(examples []Example) string {
	h := fnv.New64a()
	for _, ex := range examples {
		fmt.Fprintf(h, "%s\x00%d\n", filepath.Base(ex.Path), ex.Class)
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// epochOrder is the seeded shuffle of n training examples in an epoch.
func epochOrder(seed uint64, epoch, n int) []int {
	rng := rand.New(rand.NewPCG(seed, 0xda3e39cb94b95bdb^uint64(epoch)))
	return rng.Perm(n)
}
