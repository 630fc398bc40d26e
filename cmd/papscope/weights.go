package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"papscope/internal/safefile"
	"papscope/nn"
)

// defaultWeights is where the shipped weights live, relative to the repository root.
const defaultWeights = "weights/papscope.safetensors"

// weightsFlag defines on fs the -weights flag of the commands that use
// weights (classify, eval, info): the default weights unless given.
func weightsFlag(fs *flag.FlagSet) *string {
	return fs.String("weights", defaultWeights, "weights file (.safetensors)")
}

// errNoWeights marks a weights file that does not exist.
var errNoWeights = errors.New("no weights")

// maxWeightsBytes bounds the size of a weights file read (the network's are about 1.6 MB).
const maxWeightsBytes = 64 << 20

// loadWeights reads and validates a weights file, explaining how to get one when it is missing.
func loadWeights(path string) (*nn.Weights, error) {
	data, err := safefile.Read(path, maxWeightsBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s: pass -weights FILE, or make papscope weights from a Keras model "+
			"converted with tensorflowjs_converter: papscope import -format tfjs -o %s model.json", errNoWeights, path, defaultWeights)
	}
	if err != nil {
		return nil, fmt.Errorf("load weights: %w", err)
	}
	w, err := nn.DecodeWeights(data)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return w, nil
}

// loadModel loads weights and prepares them for inference.
func loadModel(path string) (*nn.Model, error) {
	w, err := loadWeights(path)
	if err != nil {
		return nil, err
	}
	return nn.NewModel(w)
}
