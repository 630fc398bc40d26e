package nn

import (
	"errors"
	"fmt"
)

// TensorError reports a tensor of a set of weights that is missing, unknown to
// the architecture, or holds the wrong shape, type or values. The load and
// validation paths (NewWeights, DecodeWeights, WithMeta, WithTrust) return it;
// match it with errors.As, and what is wrong with errors.Is against the
// sentinels below where one applies.
type TensorError struct {
	Name string // the tensor, e.g. "dense/bias"
	Err  error  // what is wrong with it, phrased to follow the name ("is missing", "has shape [2], want [4]")
}

// Error returns the message naming the tensor, e.g. `weights: tensor "dense/bias" is missing`.
func (e *TensorError) Error() string { return fmt.Sprintf("weights: tensor %q %v", e.Name, e.Err) }

// Unwrap returns what is wrong with the tensor.
func (e *TensorError) Unwrap() error { return e.Err }

// What a TensorError's Err wraps, when it is one of these.
var (
	ErrMissingTensor = errors.New("missing")                      // a parameter the architecture needs is absent
	ErrUnknownTensor = errors.New("not part of the architecture") // a tensor the architecture does not have
	ErrTensorShape   = errors.New("shape")                        // wrong shape or number of values
	ErrTensorDType   = errors.New("dtype")                        // not F32
	ErrNonFinite     = errors.New("non-finite value")             // a NaN or an infinity
)

// tensorError returns a *TensorError for the named tensor; format describes
// what is wrong, following the name.
func tensorError(name, format string, args ...any) error {
	return &TensorError{Name: name, Err: fmt.Errorf(format, args...)}
}
