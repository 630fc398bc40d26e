package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"

	"papscope/internal/safefile"
	"papscope/nn"
	"papscope/tfjs"
	"papscope/torchimport"
)

// maxModelFileBytes bounds each file of a model read by import.
const maxModelFileBytes = 256 << 20

func runImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", stderr)
	format := fs.String("format", "tfjs", "input format: tfjs (a TensorFlow.js layers model.json with its weight shards) or torch (a state_dict of papscope's PyTorch twin, torch/, saved with safetensors)")
	out := fs.String("o", "", "output weights file (.safetensors)")
	size := fs.String("size", "", "torch: input size the weights were trained at, N or WxH (default: the file's input_shape metadata, else 299)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var in nn.Dims
	switch {
	case *format != "tfjs" && *format != "torch":
		return fmt.Errorf("%w: unknown -format %q (supported: tfjs, torch; convert Keras models with tensorflowjs_converter --input_format keras)", errUsage, *format)
	case *out == "":
		return fmt.Errorf("%w: -o OUT.safetensors is required", errUsage)
	case *format == "tfjs" && fs.NArg() != 1:
		return fmt.Errorf("%w: give exactly one model.json", errUsage)
	case *format == "torch" && fs.NArg() != 1:
		return fmt.Errorf("%w: give exactly one state_dict .safetensors file", errUsage)
	case *format == "tfjs" && *size != "":
		return fmt.Errorf("%w: -size is for -format torch (a TF.js model declares its input size)", errUsage)
	case *size != "":
		var err error
		if in, err = parseInputSize(*size); err != nil {
			return fmt.Errorf("%w: -size: %v", errUsage, err)
		}
	}
	modelPath := fs.Arg(0)
	var w *nn.Weights
	if *format == "torch" {
		data, err := safefile.Read(modelPath, maxModelFileBytes)
		if err != nil {
			return fmt.Errorf("read state_dict: %w", err)
		}
		if w, err = torchimport.Import(data, torchimport.Options{Input: in}); err != nil {
			return fmt.Errorf("%s: %w", modelPath, err)
		}
	} else {
		modelJSON, err := safefile.Read(modelPath, maxModelFileBytes)
		if err != nil {
			return fmt.Errorf("read model: %w", err)
		}
		dir := filepath.Dir(modelPath)
		w, err = tfjs.Import(modelJSON, func(name string) ([]byte, error) {
			return safefile.Read(filepath.Join(dir, filepath.FromSlash(name)), maxModelFileBytes)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", modelPath, err)
		}
	}
	var buf bytes.Buffer
	if err := w.Encode(&buf); err != nil {
		return err
	}
	if err := safefile.Write(*out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %s → %s (input %dx%d, %d bytes)\n", modelPath, *out, w.Meta().Input.Width, w.Meta().Input.Height, buf.Len())
	return nil
}
