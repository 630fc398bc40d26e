package tfjs

import "fmt"

// FormatError reports that a model.json or its weight shards are not a
// TF.js layers model papscope can import, for a reason not tied to one layer
// or tensor; the string says what is wrong.
type FormatError string

// Error returns the description with the package prefix.
func (e FormatError) Error() string { return "tfjs: " + string(e) }

// LayerError reports a layer of the model.json that does not match papscope's
// network or cannot be read.
type LayerError struct {
	Name  string // the layer's name in the model.json
	Class string // its class_name; "" when it has none
	Pos   int    // its position in the model's layer list, 1 for the first
	Err   error  // what is wrong; its message completes "layer NAME (...) ..."
}

// Error names the layer, its class and position, and says what is wrong.
func (e *LayerError) Error() string {
	if e.Class == "" {
		return fmt.Sprintf("tfjs: layer %q (%s in the graph) %v", e.Name, ordinal(e.Pos), e.Err)
	}
	return fmt.Sprintf("tfjs: layer %q (%s, %s in the graph) %v", e.Name, e.Class, ordinal(e.Pos), e.Err)
}

// Unwrap returns Err.
func (e *LayerError) Unwrap() error { return e.Err }

// TensorError reports a tensor of the weights manifest that is missing,
// unused, of the wrong shape or dtype, or outside its shard.
type TensorError struct {
	Name string // the tensor's name in the weights manifest
	Err  error  // what is wrong; its message completes "tensor NAME ..."
}

// Error names the tensor and says what is wrong.
func (e *TensorError) Error() string { return fmt.Sprintf("tfjs: tensor %q %v", e.Name, e.Err) }

// Unwrap returns Err.
func (e *TensorError) Unwrap() error { return e.Err }

// errorf returns a *LayerError for n.
func (n *node) errorf(format string, args ...any) error {
	return &LayerError{Name: n.name, Class: n.class, Pos: n.pos, Err: fmt.Errorf(format, args...)}
}

// tensorErrorf returns a *TensorError for the manifest tensor name.
func tensorErrorf(name, format string, args ...any) error {
	return &TensorError{Name: name, Err: fmt.Errorf(format, args...)}
}
