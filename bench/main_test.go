package main

import (
	"encoding/json"
	"math"
	"testing"
)

// TestFillFigures checks the arithmetic of the JSON line on made-up figures
// whose answers are known.
func TestFillFigures(t *testing.T) {
	var p papFigures
	p.Cores = 2
	p.Latency.Ms = []float64{110, 100, 130, 90}
	for range p.Latency.Ms {
		// 100 ms of the mean 107.5 ms round trip are the worker's phases.
		p.Latency.Timing = append(p.Latency.Timing, timing{
			Copy: 1, Preprocess: 2, Forward: 95, CAM: 2,
			Conv1: 5, Depthwise: 10, Pointwise: 75, Pool: 4, Head: 1,
		})
	}
	p.Probs = [][]float64{{0.1, 0.2, 0.3, 0.4}}
	p.Single = rate{Workers: 1, ImagesPerS: 2}
	p.Pool = rate{Workers: 2, ImagesPerS: 3.8}
	p.Memory.Count = 200
	var tf tfjsFigures
	tf.Wasm = tfjsLatency{Ms: []float64{50, 40, 60}, Probs: [][]float64{{0.1, 0.2, 0.3 + 2e-7, 0.4}}}
	tf.CPU = tfjsLatency{Ms: []float64{1000}, Probs: [][]float64{{0.1, 0.2 - 3e-7, 0.3, 0.4}}}
	tf.Batch = rate{ImagesPerS: 7.6}
	tf.ReadyCold, tf.ReadyRepeat, tf.BytesCold = 200, 50, 1000
	r := Result{ReadyCold: 800, ReadyRepeat: 100, BytesCold: 3000, BytesColdSamples: 1000}
	fill(&r, config{warm: 3}, p, tf, [][]float64{{0.1, 0.2, 0.3, 0.4 + 1e-7}})

	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"latency median", r.LatencyMedian, 105},
		{"latency min", r.LatencyMin, 90},
		{"latency max", r.LatencyMax, 130},
		{"share copy", r.ShareCopy, round(4.0/430, 4)},
		{"share forward", r.ShareForward, round(380.0/430, 4)},
		{"share messaging", r.ShareMessaging, round(30.0/430, 4)},
		{"share conv1", r.ShareConv1, round(20.0/430, 4)},
		{"share depthwise", r.ShareDepthwise, round(40.0/430, 4)},
		{"share pointwise", r.SharePointwise, round(300.0/430, 4)},
		{"share pool", r.SharePool, round(16.0/430, 4)},
		{"share head", r.ShareHead, round(4.0/430, 4)},
		{"forward median", r.ForwardMedian, 95},
		{"pool speedup", r.PoolSpeedup, 1.9},
		{"TF.js wasm median", r.TFJSWasmMedian, 50},
		{"ratio latency wasm", r.RatioLatencyWasm, 2.1},
		{"ratio latency cpu", r.RatioLatencyCPU, 0.105},
		{"ratio throughput", r.RatioThroughput, 0.5},
		{"ratio bytes (without the gallery)", r.RatioBytes, 2},
		{"ratio ready cold", r.RatioReadyCold, 4},
		{"ratio ready repeat", r.RatioReadyRepeat, 2},
		{"max |Δp| vs TF.js, both backends", r.TFJSMaxAbsDiff, 3e-7},
		{"max |Δp| vs Node", r.NodeReferenceDiff, 1e-7},
	} {
		if math.Abs(tc.got-tc.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// TestResultKeys checks that the JSON line carries every key the speed issue asks for.
func TestResultKeys(t *testing.T) {
	b, err := json.Marshal(Result{})
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(b, &line); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{
		"latency_ms_median", "latency_ms_min", "latency_ms_max", "ready_cold_ms", "ready_repeat_ms", "bytes_cold",
		"pool_images_per_s", "single_images_per_s", "mem_after_1_bytes", "mem_after_200_bytes",
		"wasm_bytes", "wasm_gzip_bytes", "weights_bytes",
		"tfjs_cpu_latency_ms_median", "tfjs_wasm_latency_ms_median", "tfjs_wasm_images_per_s", "tfjs_max_abs_diff",
		"share_copy", "share_preprocess", "share_conv1", "share_depthwise", "share_pointwise", "share_pool", "share_head", "share_gradcam",
		"ratio_latency_vs_tfjs_wasm", "ratio_bytes_cold_vs_tfjs", "ratio_ready_cold_vs_tfjs",
		"site_batch_images_per_s", "site_batch_single_images_per_s", "site_batch_workers",
	} {
		if _, ok := line[k]; !ok {
			t.Errorf("the JSON line has no %q", k)
		}
	}
}
