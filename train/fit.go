package train

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"papscope/nn"
)

// ErrInterrupted is returned (wrapped) by Fit when its context is cancelled:
// the state at that moment has been saved to the checkpoint, if one was set.
var ErrInterrupted = errors.New("training interrupted")

// MinLossImprovement is how much lower the validation loss must be, at an
// equal validation balanced accuracy, for an epoch to count as better
// (Keras's min_delta): noise-level changes do not reset early stopping.
const MinLossImprovement = 1e-4

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
// Images are decoded, treated (cfg.Treatment) and resized once, on every
// core, and kept in memory when they fit in cfg.CacheBytes; otherwise each
// batch is decoded anew while the previous one trains. Augmentation and batch
// assembly run on other goroutines, a batch ahead of the step; the step's
// ops split their work across the cores.
// Validation runs nn on the exported weights, one model clone per worker.
//
// When ctx is cancelled, Fit finishes the current step, writes the checkpoint
// and returns an error wrapping ErrInterrupted together with the result so far.
func Fit(ctx context.Context, cfg FitConfig) (*FitResult, error) {
	r, err := newFitRun(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if r.patienceSpent() {
		r.res.Stopped = "early stopping"
		return r.finish()
	}
	for epoch := r.st.Epoch + 1; epoch <= cfg.Epochs; epoch++ {
		t0 := time.Now()
		seen, err := r.trainEpoch(ctx, epoch)
		if err != nil {
			return r.fail(err)
		}
		if err := r.endEpoch(ctx, epoch, t0, seen); err != nil {
			return r.fail(err)
		}
		if r.patienceSpent() {
			r.res.Stopped = "early stopping"
			break
		}
	}
	return r.finish()
}

// stopped marks an interruption: when says at what point.
type stopped struct{ when string }

func (s stopped) Error() string { return "interrupted " + s.when }

// fitRun is the state of one call to Fit.
type fitRun struct {
	cfg     FitConfig
	workers int
	st      State
	net     *Net
	tr      *Trainer
	src     *source
	calib   []float32 // recalibration inputs; nil when not recalibrating
	res     *FitResult
	lastVal time.Duration // how long the last validation took, for the ETA
}

// newFitRun checks cfg, builds the network and its trainer and loads the inputs.
func newFitRun(ctx context.Context, cfg FitConfig) (*fitRun, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	r := &fitRun{cfg: cfg, workers: cfg.Workers}
	if r.workers <= 0 {
		r.workers = runtime.GOMAXPROCS(0)
	}
	st, w, best, err := cfg.start()
	if err != nil {
		return nil, err
	}
	r.st = st
	r.res = &FitResult{Best: best, BestEpoch: st.BestEpoch, History: st.History, Stopped: "epochs"}
	if r.net, err = New(w); err != nil {
		return nil, err
	}
	r.net.SetMetadata(cfg.metadata())
	if r.tr, err = NewTrainer(r.net, Config{Batch: cfg.Batch, Input: cfg.stepInput(), LearnRate: st.LearnRate, ClassWeights: st.ClassWeights,
		WarmStartMoving: cfg.Resume == nil && st.Epoch == 0}); err != nil {
		return nil, err
	}
	if r.src = cfg.source; r.src == nil {
		if r.src, err = newSource(ctx, cfg.decoder(), cfg.CacheBytes, r.workers, cfg.Train, cfg.Val); err != nil {
			return nil, err
		}
	}
	if cfg.Recalibrate >= 0 {
		count := cfg.Recalibrate
		if count == 0 {
			count = DefaultRecalibrate
		}
		pick := epochOrder(cfg.Seed, 0, len(cfg.Train))[:min(count, len(cfg.Train))]
		if r.calib, err = r.src.subset(ctx, cfg.Train, pick, r.workers); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w while loading the images (nothing trained; no checkpoint written)", ErrInterrupted)
			}
			return nil, err
		}
	}
	return r, nil
}

// patienceSpent reports whether early stopping applies now.
func (r *fitRun) patienceSpent() bool {
	return !r.cfg.KeepLast && r.cfg.Patience > 0 && len(r.cfg.Val) > 0 && r.st.Stale >= r.cfg.Patience
}

// save writes the checkpoint, when one is set.
func (r *fitRun) save() error {
	if r.cfg.Checkpoint == "" {
		return nil
	}
	cw, err := r.net.Weights()
	if err != nil {
		return err
	}
	return writeCheckpoint(r.cfg.Checkpoint, &Checkpoint{State: r.st, Weights: cw, Best: r.res.Best})
}

// finish completes the result with the last weights.
func (r *fitRun) finish() (*FitResult, error) {
	last, err := r.net.Weights()
	if err != nil {
		return nil, err
	}
	r.res.Last, r.res.History = last, r.st.History
	if r.res.Best == nil {
		r.res.Best, r.res.BestEpoch = last, r.st.Epoch
	}
	return r.res, nil
}

// fail returns err, or, for an interruption, saves the checkpoint and
// returns the result so far with ErrInterrupted.
func (r *fitRun) fail(err error) (*FitResult, error) {
	var s stopped
	if !errors.As(err, &s) {
		return nil, err
	}
	if err := r.save(); err != nil {
		return nil, fmt.Errorf("%w %s (and the checkpoint could not be saved: %v)", ErrInterrupted, s.when, err)
	}
	res, _ := r.finish()
	if r.cfg.Checkpoint == "" {
		return res, fmt.Errorf("%w %s (no checkpoint file set)", ErrInterrupted, s.when)
	}
	return res, fmt.Errorf("%w %s; checkpoint saved to %s", ErrInterrupted, s.when, r.cfg.Checkpoint)
}

// trainEpoch runs the steps of an epoch not yet done and returns how many
// images it trained on.
func (r *fitRun) trainEpoch(ctx context.Context, epoch int) (int, error) {
	cfg, st := r.cfg, &r.st
	t0 := time.Now()
	n, batch := len(cfg.Train), cfg.Batch
	batches := (n + batch - 1) / batch
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	batchCh := produce(pctx, cfg, r.src, epochOrder(cfg.Seed, epoch, n), epoch, st.NextBatch, batches, r.workers)
	labels := make([]int, batch)
	seen := 0
	for b := st.NextBatch; b < batches; b++ {
		var bt *preparedBatch
		select {
		case <-ctx.Done():
		case bt = <-batchCh:
		}
		if ctx.Err() != nil {
			return seen, stopped{fmt.Sprintf("in epoch %d after %d of %d steps", epoch, b, batches)}
		}
		if bt.err != nil {
			return seen, bt.err
		}
		for k, i := range bt.idx {
			labels[k] = cfg.Train[i].Class
		}
		r.tr.SetLearnRate(cfg.Schedule.rate(st.LearnRate, (epoch-1)*batches+b, cfg.Epochs*batches))
		loss, err := r.tr.Step(bt.images, labels)
		right := r.tr.right
		if err != nil {
			return seen, fmt.Errorf("epoch %d step %d: %w", epoch, b+1, err)
		}
		bt.release()
		st.PartCorrect += right
		st.PartLoss += loss
		st.PartSeen += batch
		st.NextBatch = b + 1
		seen += batch
		if cfg.Progress != nil {
			rate := float64(seen) / time.Since(t0).Seconds()
			left := (batches - b - 1) + (cfg.Epochs-epoch)*batches
			eta := time.Duration(float64(left*batch)/rate*float64(time.Second)) + time.Duration(cfg.Epochs-epoch+1)*r.lastVal
			cfg.Progress(Progress{
				Epoch: epoch, Epochs: cfg.Epochs, Batch: b + 1, Batches: batches,
				Loss: st.PartLoss / float64(b+1), Accuracy: float64(st.PartCorrect) / float64(st.PartSeen),
				ImagesPerSecond: rate, ETA: eta,
			})
		}
	}
	return seen, nil
}

// endEpoch recalibrates and validates the network, keeps the best weights,
// records the epoch, saves the checkpoint and reports progress.
func (r *fitRun) endEpoch(ctx context.Context, epoch int, t0 time.Time, seen int) error {
	cfg, st := r.cfg, &r.st
	batches := (len(cfg.Train) + cfg.Batch - 1) / cfg.Batch
	es := EpochStats{
		Epoch: epoch, Loss: st.PartLoss / float64(batches), Accuracy: float64(st.PartCorrect) / float64(st.PartSeen),
		ImagesPerSecond: float64(seen) / time.Since(t0).Seconds(),
	}
	if r.calib != nil {
		if err := r.net.Recalibrate(ctx, r.calib, cfg.Input, cfg.Batch, r.workers); err != nil {
			if ctx.Err() != nil {
				return stopped{fmt.Sprintf("while recalibrating after epoch %d", epoch)}
			}
			return fmt.Errorf("epoch %d: %w", epoch, err)
		}
	}
	cur, err := r.net.Weights()
	if err != nil {
		return err
	}
	v0 := time.Now()
	if len(cfg.Val) > 0 {
		rep, err := validate(ctx, cur, cfg.Val, r.src, r.src.val, r.workers)
		if ctx.Err() != nil {
			return stopped{fmt.Sprintf("while validating epoch %d", epoch)}
		}
		if err != nil {
			return fmt.Errorf("epoch %d: validation: %w", epoch, err)
		}
		es.ValN, es.ValLoss, es.ValAccuracy, es.ValBalanced = rep.N, rep.LogLoss, rep.Accuracy, rep.BalancedAccuracy
		if cfg.KeepLast || st.BestEpoch == 0 || es.ValBalanced > st.BestBalanced || (es.ValBalanced == st.BestBalanced && es.ValLoss < st.BestLoss-MinLossImprovement) {
			st.BestEpoch, st.BestBalanced, st.BestLoss, st.Stale = epoch, es.ValBalanced, es.ValLoss, 0
			r.res.Best, r.res.BestEpoch, es.Best = cur, epoch, true
		} else {
			st.Stale++
		}
	} else {
		st.BestEpoch, r.res.Best, r.res.BestEpoch, es.Best = epoch, cur, epoch, true
	}
	r.lastVal = time.Since(v0)
	es.Seconds = time.Since(t0).Seconds()
	st.History = append(st.History, es)
	st.Epoch, st.NextBatch, st.PartLoss, st.PartCorrect, st.PartSeen = epoch, 0, 0, 0, 0
	if err := r.save(); err != nil {
		return err
	}
	if cfg.Progress != nil {
		cfg.Progress(Progress{
			Epoch: epoch, Epochs: cfg.Epochs, Batch: batches, Batches: batches, Loss: es.Loss, Accuracy: es.Accuracy,
			ImagesPerSecond: es.ImagesPerSecond,
			ETA:             time.Duration(float64(cfg.Epochs-epoch) * es.Seconds * float64(time.Second)),
			Done:            &es,
		})
	}
	return nil
}
