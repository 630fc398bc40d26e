package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// madeUpFigures returns a build's figures on two cores: the latencies ms, each
// with the same phases (the pointwise layers taking pointwise ms, the rest
// fixed), the probabilities {0.1, 0.2, 0.3, lastProb} and 200 images of memory.
func madeUpFigures(ms []float64, pointwise, lastProb float64, single, pool rate) papFigures {
	var p papFigures
	p.Cores = 2
	p.Latency.Ms = ms
	for range ms {
		p.Latency.Timing = append(p.Latency.Timing, timing{
			Copy: 1, Preprocess: 2, Forward: pointwise + 20, CAM: 2,
			Conv1: 5, Depthwise: 10, Pointwise: pointwise, Pool: 4, Head: 1,
		})
	}
	p.Probs = [][]float64{{0.1, 0.2, 0.3, lastProb}}
	p.Single, p.Pool = single, pool
	p.Memory.Count = 200
	return p
}

// TestFillFigures checks the arithmetic of the JSON line on made-up figures
// whose answers are known.
func TestFillFigures(t *testing.T) {
	// 100 ms of the mean 107.5 ms round trip are the worker's phases.
	p := madeUpFigures([]float64{110, 100, 130, 90}, 75, 0.4, rate{Workers: 1, ImagesPerS: 2}, rate{Workers: 2, ImagesPerS: 3.8})
	var tf tfjsFigures
	tf.Wasm = tfjsLatency{Ms: []float64{50, 40, 60}, Probs: [][]float64{{0.1, 0.2, 0.3 + 2e-7, 0.4}}}
	tf.CPU = tfjsLatency{Ms: []float64{1000}, Probs: [][]float64{{0.1, 0.2 - 3e-7, 0.3, 0.4}}}
	tf.Batch = rate{ImagesPerS: 7.6}
	tf.ReadyCold, tf.ReadyRepeat, tf.BytesCold = 200, 50, 1000
	// The scalar build: twice as slow in the pointwise layers, which is all
	// of the difference; the same probabilities but for 5e-7.
	sc := madeUpFigures([]float64{185, 175, 205, 165}, 150, 0.4+5e-7, rate{Workers: 1, ImagesPerS: 1}, rate{Workers: 2, ImagesPerS: 1.9})
	r := Result{
		BuildFigures: BuildFigures{ReadyCold: 800, ReadyRepeat: 100, BytesCold: 3000, BytesColdSamples: 1000},
		Scalar:       BuildFigures{ReadyCold: 1000, ReadyRepeat: 150, BytesCold: 2800, BytesColdSamples: 1000},
	}
	fill(&r, config{warm: 3}, [2]papFigures{p, sc}, tf, [][]float64{{0.1, 0.2, 0.3, 0.4 + 1e-7}})

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
		{"conv1 mean ms", r.LayerMs.Conv1, 5},
		{"pointwise mean ms", r.LayerMs.Pointwise, 75},
		{"pointwise share of forward", r.LayerShares.Pointwise, round(75.0/95, 4)},
		{"head share of forward", r.LayerShares.Head, round(1.0/95, 4)},

		{"scalar latency median", r.Scalar.LatencyMedian, 180},
		{"scalar forward median", r.Scalar.ForwardMedian, 170},
		{"scalar share forward", r.Scalar.ShareForward, round(680.0/730, 4)},
		{"scalar share pointwise", r.Scalar.SharePointwise, round(600.0/730, 4)},
		{"scalar pointwise share of forward", r.Scalar.LayerShares.Pointwise, round(150.0/170, 4)},
		{"scalar depthwise mean ms", r.Scalar.LayerMs.Depthwise, 10},
		{"scalar pool speedup", r.Scalar.PoolSpeedup, 1.9},
		{"scalar ratio latency wasm", r.Scalar.RatioLatencyWasm, 3.6},
		{"scalar ratio latency cpu", r.Scalar.RatioLatencyCPU, 0.18},
		{"scalar ratio throughput", r.Scalar.RatioThroughput, 0.25},
		{"scalar ratio bytes", r.Scalar.RatioBytes, 1.8},
		{"scalar ratio ready cold", r.Scalar.RatioReadyCold, 5},
		{"scalar ratio ready repeat", r.Scalar.RatioReadyRepeat, 3},
		{"scalar max |Δp| vs TF.js", r.Scalar.TFJSMaxAbsDiff, 5e-7},
		{"scalar max |Δp| vs Node", r.Scalar.NodeReferenceDiff, 4e-7},
		{"SIMD / scalar latency", r.RatioLatencySIMD, round(105.0/180, 4)},
		{"SIMD / scalar forward", r.RatioForwardSIMD, round(95.0/170, 4)},
		{"SIMD / scalar pool", r.RatioPoolSIMD, 2},
	} {
		if math.Abs(tc.got-tc.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// TestResultKeys checks that the JSON line carries every key the speed issue
// asks for, for the SIMD build at the top level (the keys it had before there
// were two builds) and for the scalar build under "scalar".
func TestResultKeys(t *testing.T) {
	b, err := json.Marshal(Result{})
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(b, &line); err != nil {
		t.Fatal(err)
	}
	perBuild := []string{
		"wasm_build", "wasm_file", "latency_ms_median", "latency_ms_min", "latency_ms_max", "ready_cold_ms", "ready_repeat_ms", "bytes_cold",
		"ready_cold_steps_ms", "ready_repeat_steps_ms", "bytes_repeat", "pool_images_per_s", "single_images_per_s", "mem_after_1_bytes", "mem_after_200_bytes", "wasm_bytes", "wasm_gzip_bytes",
		"share_conv1", "share_depthwise", "share_pointwise", "share_pool", "share_head", "forward_ms_median",
		"forward_layer_ms_mean", "forward_layer_shares", "tfjs_max_abs_diff", "ratio_latency_vs_tfjs_wasm", "ratio_ready_cold_vs_tfjs",
	}
	scalar, ok := line["scalar"].(map[string]any)
	if !ok {
		t.Fatalf("the JSON line has no \"scalar\" object: %s", b)
	}
	for _, k := range perBuild {
		if _, ok := scalar[k]; !ok {
			t.Errorf("the JSON line's \"scalar\" has no %q", k)
		}
	}
	for _, group := range []string{"forward_layer_ms_mean", "forward_layer_shares"} {
		for _, where := range []map[string]any{line, scalar} {
			layers, _ := where[group].(map[string]any)
			for _, k := range []string{"conv1", "depthwise", "pointwise", "pool", "head"} {
				if _, ok := layers[k]; !ok {
					t.Errorf("the JSON line's %q has no %q", group, k)
				}
			}
		}
	}
	for _, k := range append(perBuild, "ratio_latency_simd_vs_scalar", "ratio_forward_simd_vs_scalar", "ratio_pool_simd_vs_scalar",
		"latency_ms_median", "latency_ms_min", "latency_ms_max", "ready_cold_ms", "ready_repeat_ms", "bytes_cold",
		"pool_images_per_s", "single_images_per_s", "mem_after_1_bytes", "mem_after_200_bytes",
		"wasm_bytes", "wasm_gzip_bytes", "weights_bytes",
		"tfjs_cpu_latency_ms_median", "tfjs_wasm_latency_ms_median", "tfjs_wasm_images_per_s", "tfjs_max_abs_diff",
		"share_copy", "share_preprocess", "share_conv1", "share_depthwise", "share_pointwise", "share_pool", "share_head", "share_gradcam",
		"ratio_latency_vs_tfjs_wasm", "ratio_bytes_cold_vs_tfjs", "ratio_ready_cold_vs_tfjs",
		"site_batch_images_per_s", "site_batch_single_images_per_s", "site_batch_workers",
	) {
		if _, ok := line[k]; !ok {
			t.Errorf("the JSON line has no %q", k)
		}
	}
}

// TestTable checks that the table puts the two builds side by side: each
// build's own latency, layer shares and gzipped size in its column.
func TestTable(t *testing.T) {
	var p [2]papFigures
	for i, fwd := range []float64{40, 80} {
		p[i].Cores = 2
		p[i].Latency.Ms = []float64{fwd + 10}
		p[i].Latency.Timing = []timing{{Forward: fwd, Conv1: 1, Depthwise: 4, Pointwise: fwd - 6, Pool: 1}}
		p[i].Probs = [][]float64{{1, 0, 0, 0}}
		p[i].Pool = rate{Workers: 2, ImagesPerS: 2}
	}
	var tf tfjsFigures
	tf.Info.Version = "4.22.0"
	tf.Wasm = tfjsLatency{Ms: []float64{20}, Probs: [][]float64{{1, 0, 0, 0}}}
	tf.Batch = rate{Images: 16, ImagesPerS: 40}
	tf.ReadyCold, tf.ReadyRepeat, tf.BytesCold = 100, 50, 1000
	r := Result{
		BuildFigures: BuildFigures{File: "papscope.wasm", WasmBytes: 4_290_000, WasmGzipBytes: 1_210_000},
		Scalar:       BuildFigures{File: "papscope-scalar.wasm", WasmBytes: 4_260_000, WasmGzipBytes: 1_180_000},
	}
	fill(&r, config{warm: 3}, p, tf, [][]float64{{1, 0, 0, 0}})
	var out strings.Builder
	printTable(&out, r, p, tf)
	lines := strings.Split(out.String(), "\n")
	find := func(prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Errorf("no line %q in\n%s", prefix, out.String())
		return ""
	}
	for _, tc := range []struct {
		line string
		want []string // in this order on the line
	}{
		{"\x20", []string{"papscope.wasm (SIMD)", "papscope-scalar.wasm", "TF.js 4.22.0 wasm"}},
		{"warm latency", []string{"median 50.0 ms", "median 90.0 ms", "median 20.0 ms"}},
		{"forward pass (median)", []string{"40.0 ms", "80.0 ms"}},
		{"  pointwise (mean ms, share of forward)", []string{"34.00 ms, 85.0 %", "74.00 ms, 92.5 %"}},
		{"wasm raw / gzip -9", []string{"4.29 MB / 1.21 MB", "4.26 MB / 1.18 MB"}},
		{"SIMD / scalar: latency, forward, pool images/s", []string{"0.556, 0.500, 1.000"}},
	} {
		l := find(tc.line)
		rest := l
		for _, w := range tc.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("line %q: want %q (in this order: %q)", l, w, tc.want)
				break
			}
			rest = rest[i+len(w):]
		}
	}
}
