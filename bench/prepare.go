package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// prepare fills site with the benchmark pages, TF.js and the 299×299 model,
// and returns the reference probabilities TF.js computed in Node.
func prepare(c config, site string) ([][]float64, error) {
	if err := os.RemoveAll(site); err != nil {
		return nil, err
	}
	for _, d := range []string{"tfjs", "model"} {
		if err := os.MkdirAll(filepath.Join(site, d), 0o755); err != nil {
			return nil, err
		}
	}
	pages, err := filepath.Glob(filepath.Join("bench", "site", "*"))
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		if err := copyFile(filepath.Join(site, filepath.Base(p)), p); err != nil {
			return nil, err
		}
	}
	nm := filepath.Join("bench", "tfjs", "node_modules", "@tensorflow")
	wasmDist := filepath.Join(nm, "tfjs-backend-wasm", "dist")
	for _, p := range []string{
		filepath.Join(nm, "tfjs", "dist", "tf.es2017.min.js"),
		filepath.Join(wasmDist, "tf-backend-wasm.es2017.min.js"),
		filepath.Join(wasmDist, "tfjs-backend-wasm.wasm"),
		filepath.Join(wasmDist, "tfjs-backend-wasm-simd.wasm"),
		filepath.Join(wasmDist, "tfjs-backend-wasm-threaded-simd.wasm"),
	} {
		if err := copyFile(filepath.Join(site, "tfjs", filepath.Base(p)), p); err != nil {
			return nil, fmt.Errorf("%w (run npm ci in bench/tfjs)", err)
		}
	}
	ref := filepath.Join("nn", "testdata", "tfjs", "seed1_299")
	files, err := filepath.Glob(filepath.Join(ref, "*"))
	if err != nil {
		return nil, err
	}
	model := filepath.Join(site, "model")
	for _, p := range files {
		name := filepath.Base(p)
		switch {
		case name == "model.json" || strings.HasSuffix(name, ".bin"):
			if err := copyFile(filepath.Join(model, name), p); err != nil {
				return nil, err
			}
		case strings.HasSuffix(name, ".png"):
			if err := writeRGBA(filepath.Join(model, strings.TrimSuffix(name, ".png")+".rgba"), p); err != nil {
				return nil, err
			}
		}
	}
	cmd := exec.Command(c.cli, "import", "-format", "tfjs", "-o", filepath.Join(model, "papscope299.safetensors"), filepath.Join(model, "model.json"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s import: %v\n%s", c.cli, err, out)
	}
	data, err := os.ReadFile(filepath.Join(ref, "expected.json"))
	if err != nil {
		return nil, err
	}
	var exp struct {
		Inputs []struct {
			File  string    `json:"file"`
			Probs []float64 `json:"probs"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(data, &exp); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(ref, "expected.json"), err)
	}
	probs := make([][]float64, len(exp.Inputs))
	for i, in := range exp.Inputs {
		if in.File != fmt.Sprintf("input_%d.png", i) {
			return nil, fmt.Errorf("expected.json: input %d is %s", i, in.File)
		}
		probs[i] = in.Probs
	}
	return probs, nil
}

// copyFile writes src's content to dst.
func copyFile(dst, src string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// writeRGBA decodes a PNG into raw non-premultiplied RGBA bytes, as a canvas gives them.
func writeRGBA(dst, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	b := img.Bounds()
	pix := make([]byte, 0, b.Dx()*b.Dy()*4)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			pix = append(pix, c.R, c.G, c.B, c.A)
		}
	}
	if b.Dx() != 299 || b.Dy() != 299 {
		return fmt.Errorf("%s is %v, want 299×299", src, b.Size())
	}
	return os.WriteFile(dst, pix, 0o644)
}

// sizes returns a file's size, raw and gzipped at the best compression.
func sizes(path string) (raw, gz int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("%w (run make build)", err)
	}
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := w.Write(data); err != nil {
		return 0, 0, err
	}
	if err := w.Close(); err != nil {
		return 0, 0, err
	}
	return int64(len(data)), int64(buf.Len()), nil
}
