package nn

import (
	"fmt"
	"io"
	"strings"
)

// DefaultInputSize is the side of the square input the network was designed for.
const DefaultInputSize = 299

// BNEpsilon is the variance epsilon of every batch-normalization layer (Keras default).
const BNEpsilon = 1e-3

// numBlocks is the number of residual blocks between the max-pool and the last separable conv.
const numBlocks = 8

// Kind is the type of a layer, named as Keras names its layer classes.
type Kind int

// The layer kinds the network is made of.
const (
	Input Kind = iota
	Conv2D
	BatchNorm
	SeparableConv2D
	MaxPool2D
	Add
	GlobalAvgPool2D
	Dense
)

var kindNames = [...]string{
	Input:           "InputLayer",
	Conv2D:          "Conv2D",
	BatchNorm:       "BatchNormalization",
	SeparableConv2D: "SeparableConv2D",
	MaxPool2D:       "MaxPooling2D",
	Add:             "Add",
	GlobalAvgPool2D: "GlobalAveragePooling2D",
	Dense:           "Dense",
}

// String returns the Keras class name of the kind.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Activation is the activation a layer applies to its output.
type Activation int

// The activations the network uses.
const (
	Linear Activation = iota
	ReLU
	Softmax
)

// String returns the Keras name of the activation.
func (a Activation) String() string {
	switch a {
	case Linear:
		return "linear"
	case ReLU:
		return "relu"
	case Softmax:
		return "softmax"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// Layer is one layer of the architecture, with Keras semantics and naming.
type Layer struct {
	Name       string     // Keras layer name in a fresh session, e.g. "separable_conv2d_3"
	Kind       Kind       // layer type
	Inputs     []string   // names of the layers feeding this one (two for Add)
	InChannels int        // channels of the (first) input
	Filters    int        // output channels (convs) or units (Dense); 0 where the layer keeps its input's
	KernelSize int        // kernel side (convs) or pool side (MaxPool2D); 0 otherwise
	Stride     int        // stride (convs and pooling); 0 otherwise
	SamePad    bool       // "same" padding; false means "valid"
	Activation Activation // activation applied inside the layer
}

// OutChannels returns the number of channels (or units) the layer produces.
func (l Layer) OutChannels() int {
	if l.Filters > 0 {
		return l.Filters
	}
	return l.InChannels
}

// Param describes one weight tensor of the network.
type Param struct {
	Name      string // Keras weight name, "layer/weight", e.g. "batch_normalization/moving_mean"
	Shape     []int  // Keras shape, e.g. [3 3 128 1] for a depthwise kernel
	Trainable bool   // false for batch-normalization moving statistics
}

// Size returns the number of scalars in the tensor.
func (p Param) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Params returns the weight tensors of the layer, in Keras order.
func (l Layer) Params() []Param {
	p := func(w string, trainable bool, shape ...int) Param {
		return Param{Name: l.Name + "/" + w, Shape: shape, Trainable: trainable}
	}
	k, in, out := l.KernelSize, l.InChannels, l.OutChannels()
	switch l.Kind {
	case Conv2D:
		return []Param{p("kernel", true, k, k, in, out), p("bias", true, out)}
	case SeparableConv2D:
		return []Param{
			p("depthwise_kernel", true, k, k, in, 1),
			p("pointwise_kernel", true, 1, 1, in, out),
			p("bias", true, out),
		}
	case BatchNorm:
		return []Param{
			p("gamma", true, in), p("beta", true, in),
			p("moving_mean", false, in), p("moving_variance", false, in),
		}
	case Dense:
		return []Param{p("kernel", true, in, out), p("bias", true, out)}
	}
	return nil
}

// Architecture returns the layers of the network in execution order: the
// table of docs/DESIGN.md (Network) as data. Names are those Keras gives in a fresh session.
func Architecture() []Layer {
	var layers []Layer
	counts := map[string]int{}
	name := func(base string) string {
		n := counts[base]
		counts[base]++
		if n == 0 {
			return base
		}
		return fmt.Sprintf("%s_%d", base, n)
	}
	add := func(l Layer) string {
		if len(l.Inputs) == 0 && len(layers) > 0 {
			prev := layers[len(layers)-1]
			l.Inputs = []string{prev.Name}
			l.InChannels = prev.OutChannels()
		}
		layers = append(layers, l)
		return l.Name
	}
	sepconv := func(filters int) string {
		return add(Layer{Name: name("separable_conv2d"), Kind: SeparableConv2D, Filters: filters,
			KernelSize: 3, Stride: 1, SamePad: true, Activation: ReLU})
	}
	bn := func() string { return add(Layer{Name: name("batch_normalization"), Kind: BatchNorm}) }

	add(Layer{Name: "input_layer", Kind: Input, InChannels: 3})
	add(Layer{Name: name("conv2d"), Kind: Conv2D, Filters: 64, KernelSize: 3, Stride: 2, Activation: ReLU})
	bn()
	sepconv(128)
	blockIn := add(Layer{Name: name("max_pooling2d"), Kind: MaxPool2D, KernelSize: 3, Stride: 2})
	for range numBlocks {
		sepconv(128)
		bn()
		sepconv(128)
		last := bn()
		blockIn = add(Layer{Name: name("add"), Kind: Add, Inputs: []string{last, blockIn}, InChannels: 128})
	}
	sepconv(256)
	add(Layer{Name: name("global_average_pooling2d"), Kind: GlobalAvgPool2D})
	add(Layer{Name: name("dense"), Kind: Dense, Filters: 256, Activation: ReLU})
	add(Layer{Name: name("dense"), Kind: Dense, Filters: NumClasses, Activation: Softmax})
	return layers
}

// Params returns every weight tensor of the network, in layer order.
func Params() []Param {
	var ps []Param
	for _, l := range Architecture() {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// ParamCounts is the number of scalar parameters of the network.
type ParamCounts struct {
	Total, Trainable, NonTrainable int
}

// CountParams counts the network's parameters as Keras's model.summary() does.
func CountParams() ParamCounts {
	var c ParamCounts
	for _, p := range Params() {
		c.Total += p.Size()
		if p.Trainable {
			c.Trainable += p.Size()
		} else {
			c.NonTrainable += p.Size()
		}
	}
	return c
}

// Dims is the spatial size of an input.
type Dims struct{ Height, Width int }

// convOut returns the output length of a valid convolution or pooling.
func convOut(n, k, stride int) int { return (n-k)/stride + 1 }

// featureDims returns the sizes after conv1 and after the max-pool for an input.
func featureDims(in Dims) (conv1, pooled Dims) {
	conv1 = Dims{convOut(in.Height, 3, 2), convOut(in.Width, 3, 2)}
	pooled = Dims{convOut(conv1.Height, 3, 2), convOut(conv1.Width, 3, 2)}
	return conv1, pooled
}

// MinInputSize is the smallest input side the network accepts (one pixel after the max-pool).
const MinInputSize = 7

// CheckInput reports whether the network accepts an input of the given size.
func CheckInput(in Dims) error {
	if in.Height < MinInputSize || in.Width < MinInputSize {
		return fmt.Errorf("input %dx%d is too small: the network needs at least %dx%d", in.Width, in.Height, MinInputSize, MinInputSize)
	}
	const maxSide = 8192
	if in.Height > maxSide || in.Width > maxSide {
		return fmt.Errorf("input %dx%d is too large: the network accepts at most %dx%d", in.Width, in.Height, maxSide, maxSide)
	}
	return nil
}

// SummaryRow is one line of a Keras-style model summary.
type SummaryRow struct {
	Layer       Layer
	OutputShape []int // Keras output shape without the batch dimension
	Params      int
}

// Summary returns the Keras-style summary of the network for an input size.
func Summary(in Dims) []SummaryRow {
	conv1, pooled := featureDims(in)
	var rows []SummaryRow
	for _, l := range Architecture() {
		var shape []int
		switch {
		case l.Kind == Input:
			shape = []int{in.Height, in.Width, 3}
		case l.Kind == Conv2D || l.Name == "batch_normalization" || l.Name == "separable_conv2d":
			shape = []int{conv1.Height, conv1.Width, l.OutChannels()}
		case l.Kind == GlobalAvgPool2D || l.Kind == Dense:
			shape = []int{l.OutChannels()}
		default:
			shape = []int{pooled.Height, pooled.Width, l.OutChannels()}
		}
		n := 0
		for _, p := range l.Params() {
			n += p.Size()
		}
		rows = append(rows, SummaryRow{Layer: l, OutputShape: shape, Params: n})
	}
	return rows
}

// WriteSummary writes the summary as a table like Keras's model.summary().
func WriteSummary(w io.Writer, in Dims) error {
	var b strings.Builder
	line := strings.Repeat("─", 84)
	fmt.Fprintf(&b, "%-50s %-22s %10s\n%s\n", "Layer (type)", "Output Shape", "Param #", line)
	for _, r := range Summary(in) {
		dims := make([]string, len(r.OutputShape))
		for i, d := range r.OutputShape {
			dims[i] = fmt.Sprint(d)
		}
		fmt.Fprintf(&b, "%-50s %-22s %10s\n", fmt.Sprintf("%s (%s)", r.Layer.Name, r.Layer.Kind),
			"(None, "+strings.Join(dims, ", ")+")", groupThousands(r.Params))
	}
	c := CountParams()
	fmt.Fprintf(&b, "%s\nTotal params: %s\nTrainable params: %s\nNon-trainable params: %s\n", line,
		groupThousands(c.Total), groupThousands(c.Trainable), groupThousands(c.NonTrainable))
	_, err := io.WriteString(w, b.String())
	return err
}

// groupThousands formats n with comma separators, as Keras prints counts.
func groupThousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
