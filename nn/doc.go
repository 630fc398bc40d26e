// Package nn is papscope's network for inference: a lightweight Xception that
// classifies a liquid-based-cytology field into the Bethesda categories HSIL,
// LSIL, NILM and SCC.
//
// It holds the architecture as data (Architecture, Params, Summary), the
// weights (safetensors, validated against the architecture), preprocessing
// (any image or canvas RGBA bytes to network input) and a forward pass in plain
// Go with tuned kernels. It does no I/O and imports no DOM or autodiff library:
// it is exactly what the browser runs, compiled to WebAssembly.
//
// # Classes
//
// Every per-class value (Output.Logits and Output.Probs, the rows of the
// out-of-distribution means, Metadata.Classes) is in the order of Class:
// HSIL, LSIL, NILM, SCC, alphabetical as Keras's flow_from_directory orders
// the class folders. Class.String and ClassNames give the names; ParseClass
// reads a name in any case and takes "NIML", a common misspelling in folder
// names, for NILM. Argmax picks the class of a row of probabilities or logits,
// the first on ties.
//
// # Input
//
// The network's input is Height×Width×3 float32 values, row-major with R, G
// and B interleaved (NHWC without the batch axis), in [0,1]: each 8-bit
// channel c is c/255 after compositing over white, and the image, centre
// cropped by the weights' Metadata.Crop, is stretched to the input size with
// an antialiased triangle filter (preprocess.go states the rules exactly). The
// input size is the one the weights declare (Metadata.Input). Model's
// Preprocess, PreprocessRGBA, ClassifyImage and ClassifyRGBA apply the
// weights' crop; a bare Preprocessor is for inputs prepared apart from a model.
//
// # Slices
//
// A function or method that writes into a slice takes it as its first
// argument, dst: Probs, Model.Preprocess and PreprocessRGBA, Preprocessor.Image
// and RGBA, Model.GradCAM. The caller sizes dst as the comment says; Probs
// panics on a length mismatch, the others return an error, except GradCAM,
// which makes a new slice when dst is too small and so returns the slice it
// wrote (Probs returns dst too, for use in an expression). Scratch space a
// caller lends (MahalanobisScore's diff) is named for what it is. Slices an Output holds (Pooled, Features) point into the model's
// buffers and stay valid only until its next forward pass; Weights.Tensor
// returns the weights' own values, not to be modified.
//
// # Allocation
//
// NewModel allocates every buffer a forward pass needs, once; after that
// Forward, ForwardTimed, Probs and Argmax allocate nothing, nor does
// preprocessing at a fixed source size once a Preprocessor (or Model) has
// seen it. GradCAM allocates only when dst is too small. Weights.Meta returns
// a fresh copy on each call.
//
// # Concurrency
//
// Weights are immutable once made (NewWeights, DecodeWeights, InitWeights,
// WithMeta, WithTrust each return new weights, validated, and leave their
// receiver unchanged) and safe to share between goroutines and models. A
// Model is reusable but not safe for concurrent use, nor is a Preprocessor:
// give each goroutine its own Model, made cheaply with Model.Clone (clones
// share the weights). The package has no mutable global state; the other
// functions are safe for concurrent use.
//
// # Errors and panics
//
// Anything that comes from outside the program returns an error: weights
// files and metadata, images, input of the wrong length, a Grad-CAM class or
// output that does not fit. A weights tensor at fault is reported as a
// *TensorError naming it (errors.As), wrapping ErrMissingTensor,
// ErrUnknownTensor, ErrTensorShape, ErrTensorDType or ErrNonFinite (errors.Is)
// where one applies. Programmer errors panic: Probs with slices of different
// lengths or a negative temperature, Argmax of no values.
package nn
