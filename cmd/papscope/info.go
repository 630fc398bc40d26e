package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"papscope/internal/modelcard"
	"papscope/nn"
)

// infoJSON is the object `papscope info -json` prints.
type infoJSON struct {
	Total        int          `json:"total"`
	Trainable    int          `json:"trainable"`
	NonTrainable int          `json:"non_trainable"`
	Classes      []string     `json:"classes"`
	InputSize    [2]int       `json:"input_size"` // height, width
	Layers       []layerJSON  `json:"layers"`
	Weights      *weightsInfo `json:"weights,omitempty"`
}

type layerJSON struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	OutputShape []int  `json:"output_shape"`
	Params      int    `json:"params"`
}

type weightsInfo struct {
	Path          string          `json:"path"`
	Source        string          `json:"source,omitempty"`
	TrainingData  string          `json:"training_data,omitempty"`
	Data          string          `json:"data,omitempty"`       // nn.RealData or nn.SyntheticData; absent when not recorded
	Evaluation    string          `json:"evaluation,omitempty"` // how the metrics were measured; absent when not recorded
	Preprocessing string          `json:"preprocessing,omitempty"`
	Metrics       json.RawMessage `json:"metrics,omitempty"`
	Temperature   float64         `json:"temperature,omitempty"`   // softmax temperature; absent means 1
	OODThreshold  float64         `json:"ood_threshold,omitempty"` // absent when the weights carry no OOD statistics
	OOD           bool            `json:"ood"`                     // whether an out-of-distribution score is available
}

func runInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info", stderr)
	weightsPath := weightsFlag(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	in := nn.Dims{Height: nn.DefaultInputSize, Width: nn.DefaultInputSize}
	var wi *weightsInfo
	w, err := loadWeights(*weightsPath)
	switch {
	case errors.Is(err, errNoWeights) && !flagGiven(fs, "weights"):
		// No default weights here: the architecture alone.
	case err != nil:
		return err
	default:
		meta := w.Meta()
		in = meta.Input
		wi = &weightsInfo{Path: *weightsPath, Source: meta.Source, TrainingData: meta.TrainingData, Data: meta.Data, Evaluation: meta.Evaluation,
			Preprocessing: meta.Preprocessing, Temperature: meta.Temperature, OODThreshold: meta.OODThreshold, OOD: w.HasOOD()}
		if meta.Metrics != "" {
			wi.Metrics = json.RawMessage(meta.Metrics)
		}
	}
	if *asJSON {
		return writeInfoJSON(stdout, in, wi)
	}
	if err := nn.WriteSummary(stdout, in); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Classes: %v\nInput: %dx%dx3 (height x width x RGB)\n", nn.ClassNames(), in.Height, in.Width)
	if wi == nil {
		fmt.Fprintf(stdout, "Weights: none (no file at the default %s; -weights FILE shows a file's metadata)\n", defaultWeights)
		return nil
	}
	fmt.Fprintf(stdout, "Weights: %s\n  source: %s\n  training data: %s\n  data: %s\n  preprocessing: %s\n  metrics: %s\n  evaluation: %s\n",
		wi.Path, orUnknown(wi.Source), orUnknown(wi.TrainingData), orUnknown(wi.Data), orUnknown(wi.Preprocessing),
		orUnknown(string(wi.Metrics)), orUnknown(wi.Evaluation))
	if wi.Temperature != 0 {
		fmt.Fprintf(stdout, "  temperature: %g\n", wi.Temperature)
	} else {
		fmt.Fprintln(stdout, "  temperature: 1 (not calibrated)")
	}
	if wi.OOD {
		fmt.Fprintf(stdout, "  out-of-distribution score: available, threshold %g\n", wi.OODThreshold)
	} else {
		fmt.Fprintln(stdout, "  out-of-distribution score: unavailable (the weights carry no statistics)")
	}
	return nil
}

func writeInfoJSON(w io.Writer, in nn.Dims, wi *weightsInfo) error {
	c := nn.CountParams()
	out := infoJSON{Total: c.Total, Trainable: c.Trainable, NonTrainable: c.NonTrainable,
		Classes: nn.ClassNames(), InputSize: [2]int{in.Height, in.Width}, Weights: wi}
	for _, r := range nn.Summary(in) {
		out.Layers = append(out.Layers, layerJSON{Name: r.Layer.Name, Type: r.Layer.Kind.String(), OutputShape: r.OutputShape, Params: r.Params})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// orUnknown shows a metadata field the weights do not record in the page's
// model card's word (modelcard.Unknown).
func orUnknown(s string) string { return modelcard.OrUnknown(s) }

// flagGiven reports whether the flag name was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
