// Package tfjs imports a TensorFlow.js layers model (a model.json and its
// binary weight shards) as papscope weights.
//
// Keras users train elsewhere and export with tensorflowjs_converter, or save
// from TF.js with model.save; either way the file describes a layer graph and
// a manifest of named tensors. Layer names are numbered per Keras session
// (conv2d_1, separable_conv2d_21, conv2d_Conv2D1 in TF.js), so Import does not
// trust names: it walks the graph from the input, matches it layer by layer
// against [nn.Architecture] — class, configuration and connections, including
// every residual Add — and only then takes each matched layer's tensors from
// the manifest, checking shape, dtype and byte layout, and returns them under
// papscope's canonical names. Anything it cannot map with certainty is
// refused with an error that names the layer or tensor at fault: a
// [*LayerError] or [*TensorError], or a [FormatError] for the file as a whole.
//
// Accepted beyond the bare architecture: layers that are the identity at
// inference (Dropout, SpatialDropout2D, GaussianNoise, GaussianDropout,
// AlphaDropout) anywhere; an Activation, ReLU or Softmax layer directly after a
// conv or dense layer whose own activation is linear (folded into it); and a
// Rescaling(scale=1/255, offset=0) layer as the first layer, because papscope
// already feeds the network pixel/255 and so replaces that layer exactly. Any
// other Rescaling is refused, since papscope's preprocessing is fixed.
// Weights quantized by tensorflowjs_converter (--quantize_uint8,
// --quantize_uint16, --quantize_float16) are dequantized as TF.js does.
// Optimizer state that model.save wrote with includeOptimizer (tensors of
// group "optimizer") is skipped; every other tensor must be used exactly once.
//
// The package does no file I/O: the caller supplies a [ShardOpener].
package tfjs

import (
	"encoding/json"
	"fmt"
	"strings"

	"papscope/nn"
)

// ShardOpener returns the bytes of a weight shard named in the manifest (a path relative to model.json).
//
// Import checks the path first and passes it cleaned: relative, slash-separated,
// without "./", "..", backslashes or colons.
type ShardOpener func(path string) ([]byte, error)

// modelFile is the top level of a model.json.
type modelFile struct {
	Format              string                     `json:"format"`
	GeneratedBy         *string                    `json:"generatedBy"`
	ConvertedBy         *string                    `json:"convertedBy"`
	ModelTopology       json.RawMessage            `json:"modelTopology"`
	WeightsManifest     []manifestGroup            `json:"weightsManifest"`
	UserDefinedMetadata map[string]json.RawMessage `json:"userDefinedMetadata"`
}

// Import converts a TF.js layers model into papscope weights, checking every layer and tensor.
func Import(modelJSON []byte, open ShardOpener) (*nn.Weights, error) {
	if open == nil {
		return nil, FormatError("no shard opener")
	}
	var mf modelFile
	if err := json.Unmarshal(modelJSON, &mf); err != nil {
		return nil, fmt.Errorf("tfjs: model.json is not a TF.js model: %w", err)
	}
	switch mf.Format {
	case "layers-model", "":
	case "graph-model":
		return nil, FormatError(`model.json is a TF.js graph model (format "graph-model"), which has no layers to check; export a layers model (tensorflowjs_converter --input_format keras, or model.save in TF.js)`)
	default:
		return nil, FormatError(fmt.Sprintf("model.json has format %q, want \"layers-model\"", mf.Format))
	}
	if len(mf.ModelTopology) == 0 || string(mf.ModelTopology) == "null" {
		return nil, FormatError("model.json has no modelTopology")
	}
	g, err := parseTopology(mf.ModelTopology)
	if err != nil {
		return nil, err
	}
	m, err := g.match()
	if err != nil {
		return nil, err
	}
	tensors, err := readWeights(mf.WeightsManifest, m, open)
	if err != nil {
		return nil, err
	}
	meta := nn.DefaultMetadata(m.input)
	meta.Source = source(mf.GeneratedBy, mf.ConvertedBy)
	meta.TrainingData = "unknown (imported)"
	if err := userMetadata(&meta, mf.UserDefinedMetadata); err != nil {
		return nil, err
	}
	w, err := nn.NewWeights(meta, tensors)
	if err != nil {
		return nil, fmt.Errorf("tfjs: %w", err)
	}
	return w, nil
}

// source describes where imported weights came from.
func source(generatedBy, convertedBy *string) string {
	var parts []string
	for _, s := range []*string{generatedBy, convertedBy} {
		if s != nil && strings.TrimSpace(*s) != "" {
			parts = append(parts, strings.TrimSpace(*s))
		}
	}
	if len(parts) == 0 {
		return "imported from TF.js layers model"
	}
	return "imported from TF.js layers model (" + strings.Join(parts, "/") + ")"
}

// userMetadata applies an optional userDefinedMetadata.papscope entry:
// {"training_data": "...", "metrics": {...}}.
func userMetadata(meta *nn.Metadata, udm map[string]json.RawMessage) error {
	raw, ok := udm["papscope"]
	if !ok {
		return nil
	}
	var p struct {
		TrainingData *string        `json:"training_data"`
		Metrics      map[string]any `json:"metrics"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("tfjs: userDefinedMetadata.papscope: want {\"training_data\": string, \"metrics\": object}: %w", err)
	}
	if p.TrainingData != nil && *p.TrainingData != "" {
		meta.TrainingData = *p.TrainingData
	}
	if p.Metrics != nil {
		b, err := json.Marshal(p.Metrics)
		if err != nil {
			return fmt.Errorf("tfjs: userDefinedMetadata.papscope.metrics: %w", err)
		}
		meta.Metrics = string(b)
	}
	return nil
}
