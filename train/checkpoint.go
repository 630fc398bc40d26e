package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"papscope/internal/safefile"
	"papscope/nn"
	"papscope/safetensors"
)

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

// Checkpoint file layout: a safetensors file holding the current weights under
// their Keras names and the best weights under "best/" + name, with the State
// as JSON in the metadata.
const (
	checkpointFormat = "papscope-checkpoint-v1"
	bestPrefix       = "best/"
)

// encodeCheckpoint writes c as a safetensors file.
func encodeCheckpoint(out io.Writer, c *Checkpoint) error {
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

// decodeCheckpoint parses a checkpoint written by encodeCheckpoint.
func decodeCheckpoint(data []byte) (*Checkpoint, error) {
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
	c, err := decodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// writeCheckpoint writes c to path atomically: to a temporary file beside it,
// then renamed over it, so an interruption never leaves half a checkpoint.
func writeCheckpoint(path string, c *Checkpoint) error {
	var buf bytes.Buffer
	if err := encodeCheckpoint(&buf, c); err != nil {
		return err
	}
	if err := safefile.Write(path, buf.Bytes()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
