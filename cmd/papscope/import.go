package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"

	"papscope/safefile"
	"papscope/tfjs"
)

// maxModelFileBytes bounds each file of a TF.js model read by import.
const maxModelFileBytes = 256 << 20

func runImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", stderr)
	format := fs.String("format", "tfjs", "input format: tfjs (a TensorFlow.js layers model.json with its weight shards)")
	out := fs.String("o", "", "output weights file (.safetensors)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *format != "tfjs":
		return fmt.Errorf("%w: unknown -format %q (supported: tfjs; convert Keras models with tensorflowjs_converter --input_format keras)", errUsage, *format)
	case *out == "":
		return fmt.Errorf("%w: -o OUT.safetensors is required", errUsage)
	case fs.NArg() != 1:
		return fmt.Errorf("%w: give exactly one model.json", errUsage)
	}
	modelPath := fs.Arg(0)
	modelJSON, err := safefile.Read(modelPath, maxModelFileBytes)
	if err != nil {
		return fmt.Errorf("read model: %w", err)
	}
	dir := filepath.Dir(modelPath)
	w, err := tfjs.Import(modelJSON, func(name string) ([]byte, error) {
		return safefile.Read(filepath.Join(dir, filepath.FromSlash(name)), maxModelFileBytes)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", modelPath, err)
	}
	var buf bytes.Buffer
	if err := w.Encode(&buf); err != nil {
		return err
	}
	if err := safefile.Write(*out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %s → %s (input %dx%d, %d bytes)\n", modelPath, *out, w.Meta.Input.Width, w.Meta.Input.Height, buf.Len())
	return nil
}
