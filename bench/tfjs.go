package main

import (
	"context"
	"fmt"
)

// tfjsLatency is one TF.js backend's latency run: each image's ms and probabilities.
type tfjsLatency struct {
	Backend string      `json:"backend"`
	Ms      []float64   `json:"ms"`
	Probs   [][]float64 `json:"probs"`
}

// tfjsFigures is what the TF.js page measured: its visits, backends and batch.
type tfjsFigures struct {
	Info struct {
		Version   string   `json:"version"`
		Backend   string   `json:"backend"`
		SIMD      bool     `json:"simd"`
		Threads   bool     `json:"threads"`
		Isolated  bool     `json:"cross_origin_isolated"`
		WasmFiles []string `json:"wasm_files"`
	}
	ReadyCold, ReadyRepeat float64
	BytesCold              int64
	Wasm, CPU              tfjsLatency
	Batch                  rate
}

// benchTFJS measures the TF.js page's cold and repeat visits, then its wasm
// backend's latency and batch and, unless skipped, its cpu backend's latency.
func benchTFJS(ctx context.Context, c config, cnt *counter, base string, f *tfjsFigures) error {
	url := base + "/bench/tfjs.html"
	var err error
	var files []served
	if f.ReadyCold, files, err = visit(ctx, cnt, url); err != nil {
		return fmt.Errorf("cold visit: %w", err)
	}
	f.BytesCold = sum(files)
	if f.ReadyRepeat, _, err = visit(ctx, cnt, url); err != nil {
		return fmt.Errorf("repeat visit: %w", err)
	}
	if err := eval(ctx, `tfBench.info()`, &f.Info); err != nil {
		return err
	}
	if err := eval(ctx, fmt.Sprintf(`tfBench.latency('wasm', %d, %d)`, c.warm, c.runs), &f.Wasm); err != nil {
		return err
	}
	if err := eval(ctx, fmt.Sprintf(`tfBench.batch('wasm', %d)`, c.tfjsBatch), &f.Batch); err != nil {
		return err
	}
	if !c.skipTFJSCPU {
		if err := eval(ctx, fmt.Sprintf(`tfBench.latency('cpu', 1, %d)`, c.cpuRuns), &f.CPU); err != nil {
			return err
		}
	}
	return nil
}
