package calibrate

import (
	"fmt"

	"papscope/nn"
)

// DefaultOODQuantile is the share of validation images the
// out-of-distribution threshold keeps in distribution.
const DefaultOODQuantile = 0.99

// Outputs are a network's outputs on labelled images.
type Outputs struct {
	Labels []int                    // true class of each image
	Logits [][nn.NumClasses]float32 // raw logits
	Pooled [][]float32              // the pooled feature vector (nn.Output.Pooled)
}

// Fitted records a calibration, for the weights' metadata.
type Fitted struct {
	Temperature       float64 `json:"temperature"`        // the temperature the weights carry
	TemperatureFitted float64 `json:"temperature_fitted"` // what the fit found (Temperature keeps 1 when it is at an end of the range)
	ValNLLBefore      float64 `json:"val_nll_before"`
	ValNLLAfter       float64 `json:"val_nll_after"`
	OODThreshold      float64 `json:"ood_threshold"`
	OODQuantile       float64 `json:"ood_quantile"`
	OODFitImages      int     `json:"ood_fit_images"`
	OODThresholdFrom  string  `json:"ood_threshold_from"`        // the images the threshold is a quantile of: "validation" or "training"
	TestECEBefore     float64 `json:"test_ece_before,omitempty"` // set by the caller that evaluates a test split
	TestECEAfter      float64 `json:"test_ece_after,omitempty"`
}

// Fit returns w carrying a softmax temperature fitted on the validation
// outputs (see Temperature) and out-of-distribution statistics fitted on the
// training outputs (FitOOD), with the threshold at quantile (0 means
// DefaultOODQuantile) of the validation images' scores; and the record of it.
//
// Without validation outputs the temperature stays 1, for the caller to fit
// on outputs the weights never trained on (for example out-of-fold outputs
// of a cross-validation), and the threshold is the quantile of the training
// images' own scores: in sample, so unseen in-distribution images exceed it
// more often than 1 − quantile of the time.
func Fit(w *nn.Weights, val, train Outputs, quantile float64) (*nn.Weights, *Fitted, error) {
	if quantile == 0 {
		quantile = DefaultOODQuantile
	}
	if len(train.Pooled) == 0 {
		return nil, nil, fmt.Errorf("calibrate: no training images to fit the out-of-distribution statistics on")
	}
	temperature, fitted := 1.0, 1.0
	thresholdFrom := "validation"
	if len(val.Logits) == 0 {
		val, thresholdFrom = train, "training"
	} else {
		var err error
		if temperature, fitted, err = Temperature(val.Logits, val.Labels); err != nil {
			return nil, nil, err
		}
	}
	means, precision, err := FitOOD(train.Pooled, train.Labels)
	if err != nil {
		return nil, nil, err
	}
	scores := make([]float64, len(val.Pooled))
	for i, x := range val.Pooled {
		scores[i] = Score(means, precision, x)
	}
	threshold, err := OODThreshold(scores, quantile)
	if err != nil {
		return nil, nil, err
	}
	out, err := Attach(w, temperature, means, precision, threshold)
	if err != nil {
		return nil, nil, err
	}
	return out, &Fitted{
		Temperature: temperature, TemperatureFitted: fitted,
		ValNLLBefore: NLL(val.Logits, val.Labels, 1), ValNLLAfter: NLL(val.Logits, val.Labels, temperature),
		OODThreshold: threshold, OODQuantile: quantile, OODFitImages: len(train.Pooled), OODThresholdFrom: thresholdFrom,
	}, nil
}
