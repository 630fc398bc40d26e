package train

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"

	"papscope/calibrate"
	"papscope/metrics"
	"papscope/nn"
)

// Recipe is a whole training run: Fit on FitConfig's Train and Val, then
// calibration (temperature on Val, out-of-distribution statistics on Train),
// the evaluation of Test, and the weights' provenance metadata.
type Recipe struct {
	FitConfig
	Test []Example // held-out images evaluated with the final weights; may be empty
	Data string    // what the data and split were, for the weights' TrainingData (Run adds how it trained)
	Kind string    // what kind of images they are, for the weights' metadata: nn.RealData, nn.SyntheticData or "" (not recorded)
}

// RunResult is what a recipe produced.
type RunResult struct {
	Weights     *nn.Weights       // the best weights, calibrated, with their provenance metadata
	Fit         *FitResult        // the training run
	Calibration *calibrate.Fitted // the temperature (1 without a validation split) and the OOD statistics (see calibrate.Fit)
	Test        *metrics.Report   // Test at the fitted temperature; nil without a test split
	TestOutputs calibrate.Outputs // the network's outputs on Test, in order
}

// Run carries out the recipe. Every image (training, validation and test)
// is decoded once, when the inputs fit in the cache (FitConfig.CacheBytes),
// and reused by training, recalibration, validation, calibration and the test.
// An interruption returns an error wrapping ErrInterrupted, after Fit has
// saved its checkpoint.
func Run(ctx context.Context, r Recipe) (*RunResult, error) {
	workers := r.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	src, err := newSource(ctx, r.decoder(), r.CacheBytes, workers, r.Train, r.Val, r.Test)
	if err != nil {
		return nil, err
	}
	cfg := r.FitConfig
	cfg.source = src
	fit, err := Fit(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res := &RunResult{Fit: fit}
	final := fit.Best
	var val calibrate.Outputs
	if len(r.Val) > 0 {
		if val, _, err = forward(ctx, fit.Best, r.Val, src, src.val, workers); err != nil {
			return nil, fmt.Errorf("calibration on the validation split: %w", err)
		}
	}
	tr, _, err := forward(ctx, fit.Best, r.Train, src, src.train, workers)
	if err != nil {
		return nil, fmt.Errorf("calibration on the training split: %w", err)
	}
	if final, res.Calibration, err = calibrate.Fit(fit.Best, val, tr, 0); err != nil {
		return nil, err
	}
	meta := r.metadata()
	if meta.Extra == nil {
		meta.Extra = map[string]string{}
	}
	meta.Source, meta.Data = "papscope train", r.Kind
	if len(r.Test) > 0 {
		meta.Evaluation = "the held-out test split, each image once"
	}
	kept := fmt.Sprintf("best epoch %d by validation balanced accuracy", fit.BestEpoch)
	if r.KeepLast {
		kept = "weights of the last epoch"
	}
	at := fmt.Sprintf("%dx%d", r.Input.Width, r.Input.Height)
	if r.Patch > 0 {
		at = fmt.Sprintf("%dx%d in random %dx%d patches", r.Input.Width, r.Input.Height, r.Patch, r.Patch)
	}
	meta.TrainingData = fmt.Sprintf("%s; trained %d epochs at %s, batch %d, Adam lr %g (%s schedule), %s, images %s; %s",
		r.Data, len(fit.History), at, r.Batch, r.learnRate(), r.Schedule, r.Augment, r.Treatment, kept)
	history, err := json.Marshal(fit.History)
	if err != nil {
		return nil, err
	}
	meta.Extra["training_history"] = string(history)
	fm := final.Meta()
	meta.Temperature, meta.OODThreshold = fm.Temperature, fm.OODThreshold
	if len(r.Test) > 0 {
		out, _, err := forward(ctx, fit.Best, r.Test, src, src.test, workers)
		if err != nil {
			return nil, fmt.Errorf("test split: %w", err)
		}
		res.TestOutputs = out
		if res.Test, err = metrics.Evaluate(out.Labels, calibrate.ProbsAt(out.Logits, meta.Temperature)); err != nil {
			return nil, fmt.Errorf("test split: %w", err)
		}
		if len(r.Val) > 0 {
			before, err := metrics.Evaluate(out.Labels, calibrate.ProbsAt(out.Logits, 1))
			if err != nil {
				return nil, fmt.Errorf("test split: %w", err)
			}
			res.Calibration.TestECEBefore, res.Calibration.TestECEAfter = before.ECE, res.Test.ECE
		}
		js, err := json.Marshal(res.Test)
		if err != nil {
			return nil, err
		}
		meta.Metrics = string(js)
	}
	{
		js, err := json.Marshal(res.Calibration)
		if err != nil {
			return nil, err
		}
		meta.Extra["calibration"] = string(js)
	}
	if res.Weights, err = final.WithMeta(meta); err != nil {
		return nil, err
	}
	return res, nil
}

// learnRate is the Adam step size the run uses.
func (cfg *FitConfig) learnRate() float64 {
	if cfg.LearnRate == 0 {
		return 1e-3
	}
	return cfg.LearnRate
}
