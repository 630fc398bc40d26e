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
	TestECEBefore     float64 `json:"test_ece_before,omitempty"` // set by the caller that evaluates a test split
	TestECEAfter      float64 `json:"test_ece_after,omitempty"`
}

// Fit returns w carrying a softmax temperature fitted on the validation
// outputs (see Temperature) and out-of-distribution statistics fitted on the
// training outputs (FitOOD), with the threshold at quantile (0 means
// DefaultOODQuantile) of the validation images' scores; and the record of it.
func Fit(w *nn.Weights, val, train Outputs, quantile float64) (*nn.Weights, *Fitted, error) {
	if quantile == 0 {
		quantile = DefaultOODQuantile
	}
	if len(val.Logits) == 0 || len(train.Pooled) == 0 {
		return nil, nil, fmt.Errorf("calibrate: %d validation and %d training images: need some of each", len(val.Logits), len(train.Pooled))
	}
	temperature, fitted, err := Temperature(val.Logits, val.Labels)
	if err != nil {
		return nil, nil, err
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
		OODThreshold: threshold, OODQuantile: quantile, OODFitImages: len(train.Pooled),
	}, nil
}
