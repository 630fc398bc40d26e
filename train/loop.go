package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"papscope/imagefile"
	"papscope/metrics"
	"papscope/nn"
	"papscope/safefile"
	"papscope/safetensors"
)

// Example is one training or validation image: a file and its class index.
type Example struct {
	Path  string
	Class int
}

// ErrInterrupted is returned (wrapped) by Fit when its context is cancelled:
// the state at that moment has been saved to the checkpoint, if one was set.
var ErrInterrupted = errors.New("training interrupted")

// MinLossImprovement is how much lower the validation loss must be, at an
// equal validation balanced accuracy, for an epoch to count as better
// (Keras's min_delta): noise-level changes do not reset early stopping.
const MinLossImprovement = 1e-4

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
	Input      nn.Dims   // size every image is resized to
	Batch      int       // images per step; the last batch of an epoch is filled from the epoch's first images
	Epochs     int       // total epochs, counting those of a resumed checkpoint
	LearnRate  float64   // Adam's step size; 0 means 1e-3
	Seed       uint64    // seeds the initial weights, the shuffles and the augmentation
	Patience   int       // stop after this many epochs without a better validation score; 0 never stops early
	Augment    Augment   // random changes per image and epoch; the zero value changes nothing

	// ClassWeights weight each class's loss; nil weights each class by the
	// inverse of its frequency in Train, normalised to mean 1 (all 1 when the
	// classes are balanced).
	ClassWeights []float64

	Init       *nn.Weights // starting weights (any input size; trained at Input); nil: nn.InitWeights with Seed
	Resume     *Checkpoint // continue this run instead (see ReadCheckpoint); Init is then ignored
	Checkpoint string      // file written after every epoch and on interruption; "" for none

	Workers int // goroutines decoding, augmenting and validating; 0 means GOMAXPROCS

	// Replicas is how many copies of the training graph run in parallel, each
	// on an equal share of every batch (it must divide Batch); their gradients
	// are summed into one Adam step. Batch normalization then normalises each
	// share with its own statistics. 0 picks the most, up to Workers, that
	// leave each share at least 4 images; 1 runs the whole batch on one graph.
	Replicas   int
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
}

// Progress reports how a run is going.
type Progress struct {
	Epoch, Epochs   int           // current epoch (1-based) and the total
	Batch, Batches  int           // steps done in this epoch and per epoch
	Loss, Accuracy  float64       // running means over this epoch's steps so far
	ImagesPerSecond float64       // training throughput in this epoch so far
	ETA             time.Duration // estimated time to the end of the last epoch
	Done            *EpochStats   // set once per epoch, after validation
}

// EpochStats summarise one epoch.
type EpochStats struct {
	Epoch           int     `json:"epoch"`
	Loss            float64 `json:"loss"`     // mean weighted training loss over the epoch's steps
	Accuracy        float64 `json:"accuracy"` // training accuracy (augmented images, before each step's update)
	ValN            int     `json:"val_n"`
	ValLoss         float64 `json:"val_loss"` // mean unweighted cross-entropy on the validation set
	ValAccuracy     float64 `json:"val_accuracy"`
	ValBalanced     float64 `json:"val_balanced_accuracy"`
	ImagesPerSecond float64 `json:"images_per_second"` // training steps only
	Seconds         float64 `json:"seconds"`           // the whole epoch, validation included
	Best            bool    `json:"best"`              // the best so far
}

// State is the training state a checkpoint carries besides weights. Adam's
// moment estimates are not part of it (gorgonia keeps them unexported): a
// resumed run restarts them at zero, like a fresh Adam with warm weights.
type State struct {
	Input        [2]int            `json:"input"` // height, width
	Batch        int               `json:"batch"`
	Seed         uint64            `json:"seed"`
	LearnRate    float64           `json:"learn_rate"`
	TrainN       int               `json:"train_n"`
	TrainHash    string            `json:"train_hash"` // fingerprint of the training examples (file names and classes, in order)
	ClassWeights []float64         `json:"class_weights"`
	Epoch        int               `json:"epoch"`      // epochs completed
	NextBatch    int               `json:"next_batch"` // steps already done in epoch Epoch+1 (after an interruption)
	PartLoss     float64           `json:"partial_loss"`
	PartCorrect  int               `json:"partial_correct"`
	PartSeen     int               `json:"partial_seen"`
	BestEpoch    int               `json:"best_epoch"` // 0: none yet
	BestBalanced float64           `json:"best_val_balanced_accuracy"`
	BestLoss     float64           `json:"best_val_loss"`
	Stale        int               `json:"stale"` // epochs since the best
	History      []EpochStats      `json:"history"`
	Notes        map[string]string `json:"notes,omitempty"` // FitConfig.Notes
}

// Checkpoint is a run's state with its current and best weights.
type Checkpoint struct {
	State   State
	Weights *nn.Weights // after the last step
	Best    *nn.Weights // the best by validation; nil before the first epoch ends
}

// FitResult is what a run produced.
type FitResult struct {
	Best      *nn.Weights  // best weights by validation balanced accuracy (ties: validation loss lower by MinLossImprovement); the last weights without validation
	Last      *nn.Weights  // weights after the last step
	BestEpoch int          // epoch of Best
	History   []EpochStats // every epoch, resumed ones included
	Stopped   string       // why training ended: "epochs" or "early stopping"
}

// Fit trains a network on cfg.Train, validating on cfg.Val after every epoch.
//
// Images are decoded and resized once, on every core, and kept in memory
// when they fit in cfg.CacheBytes; otherwise each batch is decoded anew while
// the previous one trains. Augmentation and batch assembly run on other
// goroutines, a batch ahead of the step. A gorgonia graph executes one op at a
// time on one core, so to use more cores Fit runs cfg.Replicas copies of the
// graph at once, each on a share of the batch, and sums their gradients into
// one Adam step (see FitConfig.Replicas). Validation runs nn on the exported
// weights, one model clone per worker.
//
// When ctx is cancelled, Fit finishes the current step, writes the checkpoint
// and returns an error wrapping ErrInterrupted together with the result so far.
func Fit(ctx context.Context, cfg FitConfig) (*FitResult, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	in := cfg.Input
	st, w, best, err := cfg.start()
	if err != nil {
		return nil, err
	}
	net, err := New(w)
	if err != nil {
		return nil, err
	}
	net.SetMetadata(nn.DefaultMetadata(in))
	replicas := cfg.Replicas
	if replicas == 0 {
		replicas = DefaultReplicas(cfg.Batch, workers)
	}
	tr, err := newReplicated(net, Config{Batch: cfg.Batch, Input: in, LearnRate: st.LearnRate, ClassWeights: st.ClassWeights,
		WarmStartMoving: cfg.Resume == nil && st.Epoch == 0}, replicas)
	if err != nil {
		return nil, err
	}

	size := in.Height * in.Width * 3
	src := &source{in: in}
	if need := int64(len(cfg.Train)+len(cfg.Val)) * int64(size) * 4; cfg.CacheBytes >= 0 && need <= cacheLimit(cfg.CacheBytes) {
		if src.train, err = decodeAll(ctx, cfg.Train, in, workers); err == nil {
			src.val, err = decodeAll(ctx, cfg.Val, in, workers)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w while loading the images (nothing trained; no checkpoint written)", ErrInterrupted)
		}
		if err != nil {
			return nil, err
		}
	}

	var calib []float32
	if cfg.Recalibrate >= 0 {
		count := cfg.Recalibrate
		if count == 0 {
			count = DefaultRecalibrate
		}
		pick := epochOrder(cfg.Seed, 0, len(cfg.Train))[:min(count, len(cfg.Train))]
		subset := make([]Example, len(pick))
		for k, i := range pick {
			subset[k] = cfg.Train[i]
		}
		if calib, err = decodeAll(ctx, subset, in, workers); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w while loading the images (nothing trained; no checkpoint written)", ErrInterrupted)
			}
			return nil, err
		}
	}

	res := &FitResult{Best: best, BestEpoch: st.BestEpoch, History: st.History, Stopped: "epochs"}
	save := func() error {
		if cfg.Checkpoint == "" {
			return nil
		}
		cw, err := net.Weights()
		if err != nil {
			return err
		}
		return WriteCheckpoint(cfg.Checkpoint, &Checkpoint{State: st, Weights: cw, Best: res.Best})
	}
	finish := func() (*FitResult, error) {
		last, err := net.Weights()
		if err != nil {
			return nil, err
		}
		res.Last = last
		res.History = st.History
		if res.Best == nil {
			res.Best, res.BestEpoch = last, st.Epoch
		}
		return res, nil
	}
	// interrupted saves the checkpoint and returns the result so far with ErrInterrupted.
	interrupted := func(when string) (*FitResult, error) {
		if err := save(); err != nil {
			return nil, fmt.Errorf("%w %s (and the checkpoint could not be saved: %v)", ErrInterrupted, when, err)
		}
		r, _ := finish()
		if cfg.Checkpoint == "" {
			return r, fmt.Errorf("%w %s (no checkpoint file set)", ErrInterrupted, when)
		}
		return r, fmt.Errorf("%w %s; checkpoint saved to %s", ErrInterrupted, when, cfg.Checkpoint)
	}
	if cfg.Patience > 0 && st.Stale >= cfg.Patience && len(cfg.Val) > 0 {
		res.Stopped = "early stopping"
		return finish()
	}

	n, batch := len(cfg.Train), cfg.Batch
	batches := (n + batch - 1) / batch
	labels := make([]int, batch)
	var lastVal time.Duration
	for epoch := st.Epoch + 1; epoch <= cfg.Epochs; epoch++ {
		t0 := time.Now()
		perm := epochOrder(cfg.Seed, epoch, n)
		first := st.NextBatch
		pctx, stop := context.WithCancel(ctx)
		batchCh := produce(pctx, cfg, src, perm, epoch, first, batches, workers)
		seen := 0 // images trained on in this session of the epoch, for the rate
		var stepErr error
		for b := first; b < batches; b++ {
			var bt *preparedBatch
			select {
			case <-ctx.Done():
			case bt = <-batchCh:
			}
			if ctx.Err() != nil {
				stop()
				return interrupted(fmt.Sprintf("in epoch %d after %d of %d steps", epoch, b, batches))
			}
			if bt.err != nil {
				stepErr = bt.err
				break
			}
			for k, i := range bt.idx {
				labels[k] = cfg.Train[i].Class
			}
			loss, right, err := tr.step(bt.images, labels)
			if err != nil {
				stepErr = fmt.Errorf("epoch %d step %d: %w", epoch, b+1, err)
				break
			}
			st.PartCorrect += right
			bt.release()
			st.PartLoss += loss
			st.PartSeen += batch
			st.NextBatch = b + 1
			seen += batch
			if cfg.Progress != nil {
				rate := float64(seen) / time.Since(t0).Seconds()
				left := (batches - b - 1) + (cfg.Epochs-epoch)*batches
				eta := time.Duration(float64(left*batch)/rate*float64(time.Second)) + time.Duration(cfg.Epochs-epoch+1)*lastVal
				cfg.Progress(Progress{
					Epoch: epoch, Epochs: cfg.Epochs, Batch: b + 1, Batches: batches,
					Loss: st.PartLoss / float64(b+1), Accuracy: float64(st.PartCorrect) / float64(st.PartSeen),
					ImagesPerSecond: rate, ETA: eta,
				})
			}
		}
		stop()
		if stepErr != nil {
			return nil, stepErr
		}
		trainTime := time.Since(t0)
		es := EpochStats{
			Epoch: epoch, Loss: st.PartLoss / float64(batches), Accuracy: float64(st.PartCorrect) / float64(st.PartSeen),
			ImagesPerSecond: float64(seen) / trainTime.Seconds(),
		}
		if calib != nil {
			if err := net.Recalibrate(ctx, calib, in, batch, workers); err != nil {
				if ctx.Err() != nil {
					return interrupted(fmt.Sprintf("while recalibrating after epoch %d", epoch))
				}
				return nil, fmt.Errorf("epoch %d: %w", epoch, err)
			}
		}
		cur, err := net.Weights()
		if err != nil {
			return nil, err
		}
		v0 := time.Now()
		if len(cfg.Val) > 0 {
			rep, err := validate(ctx, cur, cfg.Val, src.val, workers)
			if ctx.Err() != nil {
				return interrupted(fmt.Sprintf("while validating epoch %d", epoch))
			}
			if err != nil {
				return nil, fmt.Errorf("epoch %d: validation: %w", epoch, err)
			}
			es.ValN, es.ValLoss, es.ValAccuracy, es.ValBalanced = rep.N, rep.LogLoss, rep.Accuracy, rep.BalancedAccuracy
			better := st.BestEpoch == 0 || es.ValBalanced > st.BestBalanced || (es.ValBalanced == st.BestBalanced && es.ValLoss < st.BestLoss-MinLossImprovement)
			if better {
				st.BestEpoch, st.BestBalanced, st.BestLoss, st.Stale = epoch, es.ValBalanced, es.ValLoss, 0
				res.Best, res.BestEpoch = cur, epoch
				es.Best = true
			} else {
				st.Stale++
			}
		} else {
			st.BestEpoch, res.Best, res.BestEpoch, es.Best = epoch, cur, epoch, true
		}
		lastVal = time.Since(v0)
		es.Seconds = time.Since(t0).Seconds()
		st.History = append(st.History, es)
		st.Epoch, st.NextBatch, st.PartLoss, st.PartCorrect, st.PartSeen = epoch, 0, 0, 0, 0
		if err := save(); err != nil {
			return nil, err
		}
		if cfg.Progress != nil {
			cfg.Progress(Progress{
				Epoch: epoch, Epochs: cfg.Epochs, Batch: batches, Batches: batches, Loss: es.Loss, Accuracy: es.Accuracy,
				ImagesPerSecond: es.ImagesPerSecond,
				ETA:             time.Duration(float64(cfg.Epochs-epoch) * es.Seconds * float64(time.Second)),
				Done:            &es,
			})
		}
		if cfg.Patience > 0 && len(cfg.Val) > 0 && st.Stale >= cfg.Patience {
			res.Stopped = "early stopping"
			break
		}
	}
	return finish()
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
	if cfg.Batch < 1 {
		return fmt.Errorf("train: batch size %d, want at least 1", cfg.Batch)
	}
	if cfg.Epochs < 1 {
		return fmt.Errorf("train: %d epochs, want at least 1", cfg.Epochs)
	}
	if cfg.Replicas < 0 || (cfg.Replicas > 0 && cfg.Batch%cfg.Replicas != 0) {
		return fmt.Errorf("train: %d replicas, want a divisor of the batch size %d", cfg.Replicas, cfg.Batch)
	}
	if cfg.Patience < 0 {
		return fmt.Errorf("train: patience %d, want ≥ 0", cfg.Patience)
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
		return st, r.Weights, r.Best, nil
	}
	st := State{
		Input: [2]int{in.Height, in.Width}, Batch: cfg.Batch, Seed: cfg.Seed, LearnRate: lr,
		TrainN: len(cfg.Train), TrainHash: hash, ClassWeights: cfg.ClassWeights, Notes: cfg.Notes,
	}
	if st.ClassWeights == nil {
		st.ClassWeights = ClassWeights(cfg.Train)
	}
	w := cfg.Init
	if w == nil {
		var err error
		if w, err = nn.InitWeights(nn.DefaultMetadata(in), cfg.Seed); err != nil {
			return State{}, nil, nil, err
		}
	}
	return st, w, nil, nil
}

// ClassWeights returns each class's inverse frequency in examples, normalised
// to mean 1 over the classes present; an absent class gets 0. Balanced
// classes all get 1.
func ClassWeights(examples []Example) []float64 {
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

// cacheLimit resolves FitConfig.CacheBytes.
func cacheLimit(b int64) int64 {
	if b == 0 {
		return DefaultCacheBytes
	}
	return b
}

// source gives the network input of an example: from the cache when there is
// one, else decoded from its file.
type source struct {
	in         nn.Dims
	train, val []float32 // cached inputs, concatenated; nil when not cached
}

// input returns example i's input from cache, or decodes it into buf with prep.
func (s *source) input(cache []float32, i int, ex Example, buf []float32, prep *nn.Preprocessor) ([]float32, error) {
	size := s.in.Height * s.in.Width * 3
	if cache != nil {
		return cache[i*size : (i+1)*size], nil
	}
	return buf, load(buf, ex, s.in, prep)
}

// load decodes an example's file and resizes it into dst.
func load(dst []float32, ex Example, in nn.Dims, prep *nn.Preprocessor) error {
	img, err := imagefile.Read(ex.Path)
	if err != nil {
		return err
	}
	if err := prep.Image(dst, in, img); err != nil {
		return fmt.Errorf("%s: %w", ex.Path, err)
	}
	return nil
}

// decodeAll decodes and resizes every example on workers goroutines.
func decodeAll(ctx context.Context, examples []Example, in nn.Dims, workers int) ([]float32, error) {
	size := in.Height * in.Width * 3
	out := make([]float32, len(examples)*size)
	err := parallel(ctx, len(examples), workers, func(i int, prep *nn.Preprocessor, _ []float32) error {
		return load(out[i*size:(i+1)*size], examples[i], in, prep)
	}, 0)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parallel calls f(i) for i in [0, n) on up to workers goroutines, each with
// its own preprocessor and a scratch buffer of scratch floats, and returns the
// error of the lowest failing index.
func parallel(ctx context.Context, n, workers int, f func(i int, prep *nn.Preprocessor, scratch []float32) error, scratch int) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(workers, n)) {
		wg.Go(func() {
			var prep nn.Preprocessor
			buf := make([]float32, scratch)
			for i := range next {
				errs[i] = f(i, &prep, buf)
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// preparedBatch is one augmented batch, ready for a step.
type preparedBatch struct {
	images []float32
	idx    []int // training example indices
	err    error
	pool   *sync.Pool
}

func (b *preparedBatch) release() { b.pool.Put(b) }

// produce assembles batches first … batches-1 of an epoch in order on other
// goroutines, a batch ahead of the trainer.
func produce(ctx context.Context, cfg FitConfig, src *source, perm []int, epoch, first, batches, workers int) <-chan *preparedBatch {
	out := make(chan *preparedBatch, 1)
	in, batch, n := cfg.Input, cfg.Batch, len(perm)
	size := in.Height * in.Width * 3
	pool := &sync.Pool{New: func() any {
		return &preparedBatch{images: make([]float32, batch*size), idx: make([]int, batch)}
	}}
	go func() {
		defer close(out)
		for b := first; b < batches; b++ {
			bt := pool.Get().(*preparedBatch)
			bt.pool = pool
			for k := range batch {
				bt.idx[k] = perm[(b*batch+k)%n]
			}
			bt.err = parallel(ctx, batch, workers, func(k int, prep *nn.Preprocessor, scratch []float32) error {
				i := bt.idx[k]
				x, err := src.input(src.train, i, cfg.Train[i], scratch, prep)
				if err != nil {
					return err
				}
				t := cfg.Augment.Draw(AugmentRNG(cfg.Seed, epoch, i), in)
				return t.Apply(bt.images[k*size:(k+1)*size], x, in)
			}, size)
			if ctx.Err() != nil {
				return
			}
			select {
			case out <- bt:
			case <-ctx.Done():
				return
			}
			if bt.err != nil {
				return
			}
		}
	}()
	return out
}

// validate runs nn with w over the examples (cached inputs in cache, or
// decoded) and returns the metrics.
func validate(ctx context.Context, w *nn.Weights, examples []Example, cache []float32, workers int) (*metrics.Report, error) {
	model, err := nn.NewModel(w)
	if err != nil {
		return nil, err
	}
	in := w.Meta.Input
	size := in.Height * in.Width * 3
	workers = max(1, min(workers, len(examples)))
	models := make(chan *nn.Model, workers)
	models <- model
	for range workers - 1 {
		models <- model.Clone()
	}
	src := &source{in: in}
	probs := make([][]float32, len(examples))
	classes := make([]int, len(examples))
	err = parallel(ctx, len(examples), workers, func(i int, prep *nn.Preprocessor, scratch []float32) error {
		x, err := src.input(cache, i, examples[i], scratch, prep)
		if err != nil {
			return err
		}
		m := <-models
		defer func() { models <- m }()
		o, err := m.Forward(x)
		if err != nil {
			return err
		}
		probs[i] = slices.Clone(o.Probs[:])
		classes[i] = examples[i].Class
		return nil
	}, size)
	if err != nil {
		return nil, err
	}
	return metrics.Evaluate(classes, probs)
}

// Checkpoint file layout: a safetensors file holding the current weights under
// their Keras names and the best weights under "best/" + name, with the State
// as JSON in the metadata.
const (
	checkpointFormat = "papscope-checkpoint-v1"
	bestPrefix       = "best/"
)

// EncodeCheckpoint writes c as a safetensors file.
func EncodeCheckpoint(out io.Writer, c *Checkpoint) error {
	state, err := json.Marshal(c.State)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	f := &safetensors.File{Metadata: map[string]string{"format": checkpointFormat, "state": string(state)}}
	for _, set := range []struct {
		prefix string
		w      *nn.Weights
	}{{"", c.Weights}, {bestPrefix, c.Best}} {
		if set.w == nil {
			continue
		}
		for _, p := range nn.Params() {
			t, err := safetensors.F32(set.prefix+p.Name, p.Shape, set.w.Tensor(p.Name))
			if err != nil {
				return fmt.Errorf("encode checkpoint: %w", err)
			}
			f.Tensors = append(f.Tensors, t)
		}
	}
	return safetensors.Encode(out, f)
}

// DecodeCheckpoint parses a checkpoint written by EncodeCheckpoint.
func DecodeCheckpoint(data []byte) (*Checkpoint, error) {
	f, err := safetensors.Decode(data, safetensors.Limits{})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if f.Metadata["format"] != checkpointFormat {
		return nil, fmt.Errorf("checkpoint: format is %q, want %q (is this a weights file? pass it as -init instead)", f.Metadata["format"], checkpointFormat)
	}
	c := &Checkpoint{}
	if err := json.Unmarshal([]byte(f.Metadata["state"]), &c.State); err != nil {
		return nil, fmt.Errorf("checkpoint: state: %w", err)
	}
	in := nn.Dims{Height: c.State.Input[0], Width: c.State.Input[1]}
	cur, best := map[string][]float32{}, map[string][]float32{}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		v, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		if name, ok := strings.CutPrefix(t.Name, bestPrefix); ok {
			best[name] = v
		} else {
			cur[name] = v
		}
	}
	if c.Weights, err = nn.NewWeights(nn.DefaultMetadata(in), cur); err != nil {
		return nil, fmt.Errorf("checkpoint: current %w", err)
	}
	if len(best) > 0 {
		if c.Best, err = nn.NewWeights(nn.DefaultMetadata(in), best); err != nil {
			return nil, fmt.Errorf("checkpoint: best %w", err)
		}
	}
	return c, nil
}

// maxCheckpointBytes bounds a checkpoint file read (two weight sets and the state: about 3.3 MB).
const maxCheckpointBytes = 64 << 20

// ReadCheckpoint reads a checkpoint file.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	data, err := safefile.Read(path, maxCheckpointBytes)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	c, err := DecodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// WriteCheckpoint writes c to path atomically: to a temporary file beside it,
// then renamed over it, so an interruption never leaves half a checkpoint.
func WriteCheckpoint(path string, c *Checkpoint) error {
	var buf bytes.Buffer
	if err := EncodeCheckpoint(&buf, c); err != nil {
		return err
	}
	if err := safefile.Write(path, buf.Bytes()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
