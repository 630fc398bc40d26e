package nn

import "time"

// LayerTimes is the time one forward pass spent in each kind of layer.
type LayerTimes struct {
	Conv1     time.Duration // the stride-2 3×3 convolution: im2col and its GEMM with BN and ReLU
	Depthwise time.Duration // the 3×3 depthwise convolutions
	Pointwise time.Duration // the 1×1 pointwise convolutions with their fused bias, ReLU, BN and residual adds
	Pool      time.Duration // the max-pool and the global average pool
	Head      time.Duration // the dense layers, the softmax and the out-of-distribution score
}

// Total returns the sum of the layer kinds' times.
func (t LayerTimes) Total() time.Duration {
	return t.Conv1 + t.Depthwise + t.Pointwise + t.Pool + t.Head
}

// ClassifyTimes is the time one classification spent preprocessing the image
// and running the network.
type ClassifyTimes struct {
	Preprocess time.Duration // resizing and scaling the image to the network's input
	Layers     LayerTimes    // the forward pass, by layer kind
}

// layerKind names a field of LayerTimes for a stopwatch.
type layerKind int

const (
	conv1Layer layerKind = iota
	depthwiseLayer
	pointwiseLayer
	poolLayer
	headLayer
)

// stopwatch charges the time since its previous lap to a layer kind. A nil
// stopwatch (the untimed forward pass) does nothing and reads no clock.
type stopwatch struct {
	times *LayerTimes
	last  time.Time
}

// newStopwatch starts a stopwatch that records into t, or returns nil when t is nil.
func newStopwatch(t *LayerTimes) *stopwatch {
	if t == nil {
		return nil
	}
	*t = LayerTimes{}
	return &stopwatch{times: t, last: time.Now()}
}

// lap charges the time since the previous lap to kind.
func (s *stopwatch) lap(kind layerKind) {
	if s == nil {
		return
	}
	now := time.Now()
	d := now.Sub(s.last)
	s.last = now
	switch kind {
	case conv1Layer:
		s.times.Conv1 += d
	case depthwiseLayer:
		s.times.Depthwise += d
	case pointwiseLayer:
		s.times.Pointwise += d
	case poolLayer:
		s.times.Pool += d
	case headLayer:
		s.times.Head += d
	}
}
