package tfjs

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"papscope/nn"
)

// node is one layer of the file's graph.
type node struct {
	pos    int            // 1-based position in the file's layer list (topological order)
	name   string         // layer name in the file
	class  string         // Keras class name
	config map[string]any // layer config as found
	inputs []string       // names of the layers feeding this one, in call order

	pass     bool   // identity at inference (dropout, accepted rescaling, folded activation)
	foldAct  string // activation of a folded Activation/ReLU/Softmax layer following this one
	foldName string // name of that layer

	real      []*node // inputs, looking through pass layers
	consumers []*node // non-pass layers whose real inputs include this one
}

// String describes the node for error messages: "conv2d_1" (Conv2D, 2nd in the graph).
func (n *node) String() string {
	return fmt.Sprintf("%q (%s, %s in the graph)", n.name, n.class, ordinal(n.pos))
}

// graph is the parsed layer graph of a model.json.
type graph struct {
	nodes   []*node
	byName  map[string]*node
	outputs []string // output layer names, when the file lists them
}

// identityClasses are layers that compute the identity at inference.
var identityClasses = map[string]bool{
	"Dropout":          true,
	"SpatialDropout2D": true,
	"GaussianNoise":    true,
	"GaussianDropout":  true,
	"AlphaDropout":     true,
}

// activationClasses are standalone activation layers that may be folded into the conv or dense before them.
var activationClasses = map[string]bool{"Activation": true, "ReLU": true, "Softmax": true}

// maxLayers bounds the layers of a model.json; papscope's network has 46.
const maxLayers = 10000

// parseTopology reads modelTopology in either the TF.js save shape
// ({"class_name", "config"}) or the converter's wrapped Keras shape
// ({"keras_version", "backend", "model_config": {...}}).
func parseTopology(raw json.RawMessage) (*graph, error) {
	var top struct {
		ClassName   string          `json:"class_name"`
		Config      json.RawMessage `json:"config"`
		ModelConfig *struct {
			ClassName string          `json:"class_name"`
			Config    json.RawMessage `json:"config"`
		} `json:"model_config"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("tfjs: modelTopology: %w", err)
	}
	class, cfg := top.ClassName, top.Config
	if top.ModelConfig != nil {
		class, cfg = top.ModelConfig.ClassName, top.ModelConfig.Config
	}
	switch class {
	case "Functional", "Model":
	case "Sequential":
		return nil, FormatError("the model is a Sequential model, which cannot express the network's residual adds; build it with the functional API (keras.Model(inputs, outputs) / tf.model)")
	case "":
		return nil, FormatError("modelTopology has no model class_name")
	default:
		return nil, FormatError(fmt.Sprintf("modelTopology is a %q, want a functional model (\"Functional\" or \"Model\")", class))
	}
	var mc struct {
		Layers       []json.RawMessage `json:"layers"`
		OutputLayers json.RawMessage   `json:"output_layers"`
	}
	if err := json.Unmarshal(cfg, &mc); err != nil {
		return nil, fmt.Errorf("tfjs: model config: %w", err)
	}
	if len(mc.Layers) == 0 {
		return nil, FormatError("model config has no layers")
	}
	if len(mc.Layers) > maxLayers {
		return nil, FormatError(fmt.Sprintf("model has %d layers, papscope's network has %d", len(mc.Layers), len(nn.Architecture())))
	}
	g := &graph{byName: map[string]*node{}}
	for i, rl := range mc.Layers {
		n, err := parseLayer(rl, i+1)
		if err != nil {
			return nil, err
		}
		if _, dup := g.byName[n.name]; dup {
			return nil, FormatError(fmt.Sprintf("two layers are named %q", n.name))
		}
		g.byName[n.name] = n
		g.nodes = append(g.nodes, n)
	}
	outs, err := parseOutputs(mc.OutputLayers)
	if err != nil {
		return nil, err
	}
	g.outputs = outs
	return g, nil
}

// parseLayer reads one entry of config.layers.
func parseLayer(raw json.RawMessage, pos int) (*node, error) {
	var l struct {
		ClassName    string          `json:"class_name"`
		Name         *string         `json:"name"`
		Config       map[string]any  `json:"config"`
		InboundNodes json.RawMessage `json:"inbound_nodes"`
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("tfjs: %s layer: %w", ordinal(pos), err)
	}
	n := &node{pos: pos, class: l.ClassName, config: l.Config}
	if n.config == nil {
		n.config = map[string]any{}
	}
	if l.Name != nil {
		n.name = *l.Name
	} else if s, ok := n.config["name"].(string); ok {
		n.name = s
	}
	if n.name == "" {
		return nil, FormatError(fmt.Sprintf("%s layer (%s) has no name", ordinal(pos), n.class))
	}
	if n.class == "" {
		return nil, &LayerError{Name: n.name, Pos: pos, Err: errors.New("has no class_name")}
	}
	in, err := parseInbound(l.InboundNodes)
	if err != nil {
		return nil, n.errorf("cannot be read: %w", err)
	}
	n.inputs = in
	return n, nil
}

// parseInbound reads a layer's inbound_nodes: Keras 2 / TF.js
// [[["name", 0, 0, {}], ...]] or Keras 3 [{"args": [...], "kwargs": {...}}].
func parseInbound(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var calls []json.RawMessage
	if err := json.Unmarshal(raw, &calls); err != nil {
		return nil, fmt.Errorf("inbound_nodes: %w", err)
	}
	switch len(calls) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("it is called %d times (a shared layer); papscope's network calls each layer once", len(calls))
	}
	var call any
	if err := json.Unmarshal(calls[0], &call); err != nil {
		return nil, fmt.Errorf("inbound_nodes: %w", err)
	}
	var refs [][]any
	switch c := call.(type) {
	case []any: // Keras 2 / TF.js: a list of [layer, node index, tensor index, kwargs]
		for _, e := range c {
			ref, ok := e.([]any)
			if !ok {
				return nil, fmt.Errorf("inbound node entry %v is not [layer, node, tensor, kwargs]", e)
			}
			refs = append(refs, ref)
		}
	case map[string]any: // Keras 3: {"args": [...], "kwargs": {...}} holding __keras_tensor__ objects
		collectKerasTensors(c["args"], &refs, 0)
		collectKerasTensors(c["kwargs"], &refs, 0)
	default:
		return nil, fmt.Errorf("inbound node %v is neither a list nor {args, kwargs}", call)
	}
	var names []string
	for _, ref := range refs {
		if len(ref) < 3 {
			return nil, fmt.Errorf("inbound reference %v is not [layer, node index, tensor index]", ref)
		}
		name, ok := ref[0].(string)
		if !ok || name == "" {
			return nil, fmt.Errorf("inbound reference %v does not start with a layer name", ref)
		}
		nodeIdx, ok1 := ref[1].(float64)
		tensorIdx, ok2 := ref[2].(float64)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("inbound reference %v has no node and tensor index", ref)
		}
		if nodeIdx != 0 || tensorIdx != 0 {
			return nil, fmt.Errorf("it takes output %v of call %v of %q; papscope's network uses the single output of each layer's single call", tensorIdx, nodeIdx, name)
		}
		names = append(names, name)
	}
	return names, nil
}

// collectKerasTensors appends the keras_history of every __keras_tensor__ in v, in order.
func collectKerasTensors(v any, refs *[][]any, depth int) {
	if depth > 32 {
		return
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			collectKerasTensors(e, refs, depth+1)
		}
	case map[string]any:
		if x["class_name"] == "__keras_tensor__" {
			cfg, _ := x["config"].(map[string]any)
			h, _ := cfg["keras_history"].([]any)
			*refs = append(*refs, h)
			return
		}
		for _, k := range sortedKeys(x) {
			collectKerasTensors(x[k], refs, depth+1)
		}
	}
}

// parseOutputs reads config.output_layers: [["name", 0, 0], ...] or, from Keras 3, ["name", 0, 0].
func parseOutputs(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var v []any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("tfjs: output_layers: %w", err)
	}
	if len(v) > 0 {
		if s, ok := v[0].(string); ok {
			return []string{s}, nil
		}
	}
	var names []string
	for _, e := range v {
		ref, ok := e.([]any)
		if !ok || len(ref) == 0 {
			return nil, FormatError(fmt.Sprintf("output_layers entry %v is not [layer, node, tensor]", e))
		}
		s, ok := ref[0].(string)
		if !ok {
			return nil, FormatError(fmt.Sprintf("output_layers entry %v does not name a layer", e))
		}
		names = append(names, s)
	}
	return names, nil
}

// matched is the result of matching the file's graph to the architecture.
type matched struct {
	input    nn.Dims
	layers   map[string]*node // architecture layer name -> file layer
	varsName map[*node]string // file layer -> the name a Keras 3 weights file gives it
}

// kerasBases are the snake-case class names Keras 3 uses to name layers in a weights file.
var kerasBases = map[string]string{"Conv2D": "conv2d", "SeparableConv2D": "separable_conv2d",
	"BatchNormalization": "batch_normalization", "Dense": "dense"}

// varsNames names the layers as a Keras 3 weights file does: by class and rank
// among the model's layers of that class (conv2d, conv2d_1, ...), whatever their own names.
func (g *graph) varsNames() map[*node]string {
	names := map[*node]string{}
	count := map[string]int{}
	for _, n := range g.nodes {
		base, ok := kerasBases[n.class]
		if !ok {
			continue
		}
		k := count[base]
		count[base]++
		names[n] = base
		if k > 0 {
			names[n] = base + "_" + strconv.Itoa(k)
		}
	}
	return names
}

// resolve follows pass layers back from the named layer to the layer computing its value.
func (g *graph) resolve(name string, from *node) (*node, error) {
	n, ok := g.byName[name]
	if !ok {
		return nil, from.errorf("takes input from %q, which is not a layer of the model", name)
	}
	for steps := 0; n.pass; steps++ {
		if steps > len(g.nodes) {
			return nil, n.errorf("is part of a cycle")
		}
		next, ok := g.byName[n.inputs[0]]
		if !ok {
			return nil, n.errorf("takes input from %q, which is not a layer of the model", n.inputs[0])
		}
		n = next
	}
	return n, nil
}

// link computes every non-pass layer's real inputs and consumers.
func (g *graph) link() error {
	for _, n := range g.nodes {
		n.real, n.consumers = nil, nil
	}
	for _, n := range g.nodes {
		if n.pass {
			continue
		}
		for _, in := range n.inputs {
			p, err := g.resolve(in, n)
			if err != nil {
				return err
			}
			n.real = append(n.real, p)
			p.consumers = append(p.consumers, n)
		}
	}
	return nil
}

// simplify marks the layers that vanish at inference: identity layers, an
// accepted Rescaling, and activation layers folded into the layer before them.
func (g *graph) simplify() error {
	for _, n := range g.nodes {
		if !identityClasses[n.class] && n.class != "Rescaling" && !activationClasses[n.class] {
			continue
		}
		if len(n.inputs) != 1 {
			return n.errorf("has %d inputs, want 1", len(n.inputs))
		}
		if identityClasses[n.class] {
			n.pass = true
		}
	}
	if err := g.link(); err != nil {
		return err
	}
	// Rescaling: only 1/255 directly on the input, which papscope's preprocessing replaces.
	for _, n := range g.nodes {
		if n.class != "Rescaling" {
			continue
		}
		p, err := g.resolve(n.inputs[0], n)
		if err != nil {
			return err
		}
		scale, okScale := n.config["scale"].(float64)
		offset, okOffset := 0.0, true // Keras's default offset is 0
		if v := n.config["offset"]; v != nil {
			offset, okOffset = v.(float64)
		}
		if p.class != "InputLayer" || !okScale || math.Abs(scale*255-1) > 1e-6 || !okOffset || offset != 0 {
			shown := any(offset)
			if !okOffset {
				shown = n.config["offset"]
			}
			return n.errorf("rescales by scale %s, offset %s; papscope feeds the network pixel/255 itself, so the only Rescaling it accepts is scale 1/255, offset 0, directly on the input", jsonString(n.config["scale"]), jsonString(shown))
		}
		n.pass = true
	}
	// Activation layers fold into a linear conv or dense that feeds only them.
	for _, n := range g.nodes {
		if !activationClasses[n.class] {
			continue
		}
		act, err := standaloneActivation(n)
		if err != nil {
			return err
		}
		p, err := g.resolve(n.inputs[0], n)
		if err != nil {
			return err
		}
		switch p.class {
		case "Conv2D", "SeparableConv2D", "Dense":
		default:
			return n.errorf("follows %s; papscope folds an activation layer only into a Conv2D, SeparableConv2D or Dense layer", p)
		}
		if own := activationOf(p.config); own != "linear" || p.foldAct != "" {
			return n.errorf("follows %s, which already applies activation %q", p, own)
		}
		if len(p.consumers) != 1 || p.consumers[0] != n {
			return p.errorf("feeds %d layers; its activation %s must be its only consumer, as papscope's network has no branch before the activation", len(p.consumers), n)
		}
		p.foldAct, p.foldName = act, n.name
		n.pass = true
	}
	return g.link()
}

// standaloneActivation returns the activation an Activation, ReLU or Softmax layer applies.
func standaloneActivation(n *node) (string, error) {
	switch n.class {
	case "Activation":
		return activationOf(n.config), nil
	case "ReLU":
		for _, k := range []string{"max_value", "negative_slope", "threshold"} {
			v, present := n.config[k]
			if !present || v == nil {
				continue
			}
			if f, ok := v.(float64); !ok || f != 0 || k == "max_value" {
				return "", n.errorf("has %s %v; papscope's network uses a plain ReLU", k, v)
			}
		}
		return "relu", nil
	case "Softmax":
		if v, present := n.config["axis"]; present && v != nil {
			if !isLastAxis(v) {
				return "", n.errorf("has axis %v, want -1", v)
			}
		}
		return "softmax", nil
	}
	return "", n.errorf("is not an activation layer")
}

// isLastAxis reports whether v is -1 or [-1].
func isLastAxis(v any) bool {
	if l, ok := v.([]any); ok && len(l) == 1 {
		v = l[0]
	}
	f, ok := v.(float64)
	return ok && f == -1
}

// activationOf returns a layer config's activation name: a string, or Keras 3's
// {"class_name": "function", "config": "relu"}; "linear" when absent.
func activationOf(cfg map[string]any) string {
	switch a := cfg["activation"].(type) {
	case nil:
		return "linear"
	case string:
		if a == "" {
			return "linear"
		}
		return a
	case map[string]any:
		if s, ok := a["config"].(string); ok {
			return s
		}
		if c, ok := a["config"].(map[string]any); ok {
			if s, ok := c["name"].(string); ok {
				return s
			}
		}
		if s, ok := a["class_name"].(string); ok {
			return strings.ToLower(s)
		}
	}
	return fmt.Sprintf("%v", cfg["activation"])
}

// match walks the file's graph from its input and pairs each layer with
// the architecture's, in the architecture's order, checking classes, configs
// and connections; every layer of the file must be paired.
func (g *graph) match() (*matched, error) {
	if err := g.simplify(); err != nil {
		return nil, err
	}
	arch := nn.Architecture()
	m := &matched{layers: map[string]*node{}, varsName: g.varsNames()}
	owner := map[*node]nn.Layer{}

	var inputs []*node
	for _, n := range g.nodes {
		if n.pass {
			continue
		}
		if n.class == "InputLayer" {
			inputs = append(inputs, n)
		} else if len(n.inputs) == 0 {
			return nil, n.errorf("has no inputs")
		}
	}
	switch len(inputs) {
	case 0:
		return nil, FormatError("the model has no InputLayer")
	case 1:
	default:
		return nil, FormatError(fmt.Sprintf("the model has %d inputs (%s and %s); papscope's network has one", len(inputs), inputs[0], inputs[1]))
	}
	in := inputs[0]
	if len(in.inputs) != 0 {
		return nil, in.errorf("has inputs")
	}
	dims, err := inputDims(in)
	if err != nil {
		return nil, err
	}
	m.input = dims
	m.layers[arch[0].Name] = in
	owner[in] = arch[0]

	for _, l := range arch[1:] {
		src := m.layers[l.Inputs[0]]
		want := l.Kind.String()
		second := (*node)(nil)
		if l.Kind == nn.Add {
			second = m.layers[l.Inputs[1]]
		}
		var pick, other *node
		for _, c := range src.consumers {
			if _, taken := owner[c]; taken {
				continue
			}
			switch {
			case c.class == want:
				if pick == nil || (second != nil && !slicesContain(pick.real, second) && slicesContain(c.real, second)) {
					pick = c
				}
			case other == nil:
				other = c
			}
		}
		if pick == nil || (second != nil && !slicesContain(pick.real, second) && other != nil) {
			pick = other // no Add of this block's two tensors: report what follows instead
		}
		if pick == nil {
			return nil, FormatError(fmt.Sprintf("nothing in the graph takes the output of %s, where the architecture has %s (%s) after %s", src, l.Name, want, l.Inputs[0]))
		}
		if pick.class != want {
			return nil, pick.errorf("follows %s where the architecture has %s (%s)", src, want, l.Name)
		}
		if err := checkInputs(pick, l, m); err != nil {
			return nil, err
		}
		if err := checkConfig(pick, l); err != nil {
			return nil, err
		}
		m.layers[l.Name] = pick
		owner[pick] = l
	}

	for _, n := range g.nodes {
		if n.pass {
			continue
		}
		if _, ok := owner[n]; ok {
			continue
		}
		for _, p := range n.real {
			if l, ok := owner[p]; ok {
				return nil, n.errorf("takes the output of %s (architecture layer %s), a branch papscope's network does not have", p, l.Name)
			}
		}
		return nil, n.errorf("is not connected to the network's input")
	}
	last := arch[len(arch)-1]
	if len(g.outputs) > 1 {
		return nil, FormatError(fmt.Sprintf("the model has %d outputs (%q); papscope's network has one, %s", len(g.outputs), g.outputs, last.Name))
	}
	if len(g.outputs) == 1 {
		out, err := g.resolve(g.outputs[0], in)
		if err != nil {
			return nil, err
		}
		if out != m.layers[last.Name] {
			return nil, FormatError(fmt.Sprintf("the model's output is %s, want %s (architecture layer %s)", out, m.layers[last.Name], last.Name))
		}
	}
	return m, nil
}

func slicesContain(s []*node, n *node) bool {
	for _, x := range s {
		if x == n {
			return true
		}
	}
	return false
}

// checkInputs checks that a file layer takes exactly the inputs its architecture layer takes.
func checkInputs(n *node, l nn.Layer, m *matched) error {
	want := make([]*node, len(l.Inputs))
	for i, name := range l.Inputs {
		want[i] = m.layers[name]
	}
	ok := len(n.real) == len(want)
	if ok && len(want) == 2 {
		ok = (n.real[0] == want[0] && n.real[1] == want[1]) || (n.real[0] == want[1] && n.real[1] == want[0])
	} else if ok {
		for i := range want {
			ok = ok && n.real[i] == want[i]
		}
	}
	if ok {
		return nil
	}
	got := make([]string, len(n.real))
	for i, p := range n.real {
		got[i] = strconv.Quote(p.name)
	}
	exp := make([]string, len(want))
	for i, p := range want {
		exp[i] = strconv.Quote(p.name)
	}
	if l.Kind == nn.Add {
		return n.errorf("adds %s, want %s: the block's last batch normalization and the block's input (architecture layer %s)", orNothing(got), strings.Join(exp, " and "), l.Name)
	}
	return n.errorf("takes %s, want %s (architecture layer %s)", orNothing(got), strings.Join(exp, " and "), l.Name)
}

func orNothing(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, " and ")
}

// sortedKeys returns a map's keys in order, so that walks over decoded JSON are deterministic.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
