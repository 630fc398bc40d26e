package main

import (
	"math"
	"slices"
	"sort"
)

// Result is the JSON line. The SIMD build's figures keep the keys they had
// before there were two builds; the scalar build's are under "scalar", with
// the same keys.
type Result struct {
	Machine  string `json:"machine"`
	Chromium string `json:"chromium"`
	Cores    int    `json:"cores"`
	Input    string `json:"input"`
	// The load average when the benchmark started and ended: other work on
	// the machine skews every figure, the pool's above all.
	LoadBefore float64 `json:"load_avg_1m_before"`
	LoadAfter  float64 `json:"load_avg_1m_after"`

	BuildFigures              // papscope.wasm, the SIMD build
	Scalar       BuildFigures `json:"scalar"` // papscope-scalar.wasm

	// The SIMD build's figures over the scalar build's: below 1 the SIMD
	// build takes less time, above 1 it classifies more images per second.
	RatioLatencySIMD float64 `json:"ratio_latency_simd_vs_scalar"`
	RatioForwardSIMD float64 `json:"ratio_forward_simd_vs_scalar"`
	RatioPoolSIMD    float64 `json:"ratio_pool_simd_vs_scalar"`

	// The page's own batch table over 16 images (decoding, thumbnails, the
	// worker pool), with the 299×299 weights loaded as a user's weights, on
	// the build the page chooses (SIMD).
	SiteBatchWorkers    int     `json:"site_batch_workers"`
	SiteBatchRate       float64 `json:"site_batch_images_per_s"`
	SiteBatchSingleRate float64 `json:"site_batch_single_images_per_s"`

	WeightsBytes int64 `json:"weights_bytes"`

	TFJSVersion     string  `json:"tfjs_version"`
	TFJSSIMD        bool    `json:"tfjs_wasm_simd"`
	TFJSThreads     bool    `json:"tfjs_wasm_threads"`
	TFJSCPUMedian   float64 `json:"tfjs_cpu_latency_ms_median"`
	TFJSWasmMedian  float64 `json:"tfjs_wasm_latency_ms_median"`
	TFJSWasmMin     float64 `json:"tfjs_wasm_latency_ms_min"`
	TFJSWasmRate    float64 `json:"tfjs_wasm_images_per_s"`
	TFJSReadyCold   float64 `json:"tfjs_ready_cold_ms"`
	TFJSReadyRepeat float64 `json:"tfjs_ready_repeat_ms"`
	TFJSBytesCold   int64   `json:"tfjs_bytes_cold"`
}

// builds returns the figures of each of wasmBuilds, in its order.
func (r *Result) builds() [2]*BuildFigures { return [2]*BuildFigures{&r.BuildFigures, &r.Scalar} }

// BuildFigures are one wasm build's figures: its page's visits, its worker's
// latency, throughput and memory, its size, and how it compares with TF.js.
type BuildFigures struct {
	Build string `json:"wasm_build"` // simd or scalar, as the page reported it
	File  string `json:"wasm_file"`

	LatencyMedian float64 `json:"latency_ms_median"`
	LatencyMin    float64 `json:"latency_ms_min"`
	LatencyMax    float64 `json:"latency_ms_max"`
	LatencyRuns   int     `json:"latency_runs"`
	LatencyWarm   int     `json:"latency_warmups"`
	// Shares of the mean round trip: the worker's phases, and the rest
	// (posting, JSON and the message back).
	ShareCopy       float64 `json:"share_copy"`
	SharePreprocess float64 `json:"share_preprocess"`
	ShareForward    float64 `json:"share_forward"`
	ShareGradCAM    float64 `json:"share_gradcam"`
	ShareMessaging  float64 `json:"share_messaging"`
	// The forward pass's share split by layer kind (same denominator).
	ShareConv1     float64 `json:"share_conv1"`
	ShareDepthwise float64 `json:"share_depthwise"`
	SharePointwise float64 `json:"share_pointwise"`
	SharePool      float64 `json:"share_pool"`
	ShareHead      float64 `json:"share_head"`
	// The forward pass by layer kind (nn.LayerTimes): the mean milliseconds
	// per image, and the shares of the forward pass's time.
	LayerMs        layerFigures `json:"forward_layer_ms_mean"`
	LayerShares    layerFigures `json:"forward_layer_shares"`
	ForwardMedian  float64      `json:"forward_ms_median"`
	CopyMean       float64      `json:"copy_ms_mean"`
	PreprocessMean float64      `json:"preprocess_ms_mean"`
	GradCAMMean    float64      `json:"gradcam_ms_mean"`

	ReadyCold   float64 `json:"ready_cold_ms"`
	ReadyRepeat float64 `json:"ready_repeat_ms"`
	// The start-up steps the page marks (performance.mark "papscope:…", see
	// web/loader.js and wasm/page.go), in ms from the navigation's start.
	ColdSteps    startSteps `json:"ready_cold_steps_ms"`
	RepeatSteps  startSteps `json:"ready_repeat_steps_ms"`
	BytesCold    int64      `json:"bytes_cold"`
	BytesColdAll int64      `json:"bytes_cold_with_sw_install"`
	// What the cold visit's bytes were: the wasm, the weights, the gallery's sample images.
	BytesColdWasm    int64         `json:"bytes_cold_wasm"`
	BytesColdWeights int64         `json:"bytes_cold_weights"`
	BytesColdSamples int64         `json:"bytes_cold_samples"`
	BytesRepeat      int64         `json:"bytes_repeat"`
	PoolWorkers      int           `json:"pool_workers"`
	PoolRate         float64       `json:"pool_images_per_s"`
	SingleRate       float64       `json:"single_images_per_s"`
	PoolSpeedup      float64       `json:"pool_speedup"`
	MemAfter1        int64         `json:"mem_after_1_bytes"`
	MemAfterN        int64         `json:"mem_after_200_bytes"`
	HeapAfter1       int64         `json:"js_heap_after_1_bytes"`
	HeapAfterN       int64         `json:"js_heap_after_200_bytes"`
	MemRuns          int           `json:"mem_runs"`
	MemCurve         map[int]int64 `json:"mem_curve_bytes"` // wasm linear memory after n images
	WasmBytes        int64         `json:"wasm_bytes"`
	WasmGzipBytes    int64         `json:"wasm_gzip_bytes"`

	TFJSMaxAbsDiff    float64 `json:"tfjs_max_abs_diff"`
	NodeReferenceDiff float64 `json:"node_reference_max_abs_diff"`
	RatioLatencyWasm  float64 `json:"ratio_latency_vs_tfjs_wasm"`
	RatioLatencyCPU   float64 `json:"ratio_latency_vs_tfjs_cpu"`
	RatioThroughput   float64 `json:"ratio_pool_throughput_vs_tfjs_wasm"`
	RatioBytes        float64 `json:"ratio_bytes_cold_vs_tfjs"`
	RatioReadyCold    float64 `json:"ratio_ready_cold_vs_tfjs"`
	RatioReadyRepeat  float64 `json:"ratio_ready_repeat_vs_tfjs"`
}

// layerFigures is one figure per layer kind of the forward pass (nn.LayerTimes).
type layerFigures struct {
	Conv1     float64 `json:"conv1"`
	Depthwise float64 `json:"depthwise"`
	Pointwise float64 `json:"pointwise"`
	Pool      float64 `json:"pool"`
	Head      float64 `json:"head"`
}

// fill computes the JSON line's figures from what the browser measured: pap
// for each of wasmBuilds, t for TF.js, and nodeRef, TF.js's probabilities in
// Node. The visits' figures are in r already.
func fill(r *Result, c config, pap [2]papFigures, t tfjsFigures, nodeRef [][]float64) {
	r.Cores = pap[0].Cores
	r.TFJSVersion, r.TFJSSIMD, r.TFJSThreads = t.Info.Version, t.Info.SIMD, t.Info.Threads
	r.TFJSWasmMedian, r.TFJSWasmMin = median(t.Wasm.Ms), round(slices.Min(t.Wasm.Ms), 2)
	if len(t.CPU.Ms) > 0 {
		r.TFJSCPUMedian = median(t.CPU.Ms)
	}
	r.TFJSWasmRate = round(t.Batch.ImagesPerS, 3)
	r.TFJSReadyCold, r.TFJSReadyRepeat, r.TFJSBytesCold = round(t.ReadyCold, 1), round(t.ReadyRepeat, 1), t.BytesCold
	for i, b := range r.builds() {
		fillBuild(b, r, c, pap[i], t, nodeRef)
	}
	r.SiteBatchRate, r.SiteBatchSingleRate = round(r.SiteBatchRate, 3), round(r.SiteBatchSingleRate, 3)
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return round(a/b, 4)
	}
	r.RatioLatencySIMD = ratio(r.LatencyMedian, r.Scalar.LatencyMedian)
	r.RatioForwardSIMD = ratio(r.ForwardMedian, r.Scalar.ForwardMedian)
	r.RatioPoolSIMD = ratio(r.PoolRate, r.Scalar.PoolRate)
}

// fillBuild computes one build's figures into b from its worker's figures p,
// and compares them with TF.js (t, and r's TF.js figures, filled already).
func fillBuild(b *BuildFigures, r *Result, c config, p papFigures, t tfjsFigures, nodeRef [][]float64) {
	ms := p.Latency.Ms
	b.LatencyRuns, b.LatencyWarm = len(ms), c.warm
	b.LatencyMedian, b.LatencyMin, b.LatencyMax = median(ms), round(slices.Min(ms), 2), round(slices.Max(ms), 2)
	var sum float64
	var total timing
	fw := make([]float64, len(ms))
	for i, v := range ms {
		sum += v
		tm := p.Latency.Timing[i]
		total.add(tm)
		fw[i] = tm.Forward
	}
	share := func(ms float64) float64 { return round(ms/sum, 4) }
	cp, pre, fwd, cam := total.Copy, total.Preprocess, total.Forward, total.CAM
	b.ShareCopy, b.SharePreprocess, b.ShareForward, b.ShareGradCAM = share(cp), share(pre), share(fwd), share(cam)
	b.ShareMessaging = round(1-(cp+pre+fwd+cam)/sum, 4)
	b.ShareConv1, b.ShareDepthwise, b.SharePointwise = share(total.Conv1), share(total.Depthwise), share(total.Pointwise)
	b.SharePool, b.ShareHead = share(total.Pool), share(total.Head)
	b.ForwardMedian = median(fw)
	n := float64(len(ms))
	b.CopyMean, b.PreprocessMean, b.GradCAMMean = round(cp/n, 3), round(pre/n, 3), round(cam/n, 3)
	layers := layerFigures{total.Conv1, total.Depthwise, total.Pointwise, total.Pool, total.Head}
	b.LayerMs = layers.scale(1/n, 3)
	if fwd > 0 {
		b.LayerShares = layers.scale(1/fwd, 4)
	}

	b.PoolWorkers = p.Pool.Workers
	b.PoolRate, b.SingleRate = round(p.Pool.ImagesPerS, 3), round(p.Single.ImagesPerS, 3)
	if b.SingleRate > 0 {
		b.PoolSpeedup = round(b.PoolRate/b.SingleRate, 3)
	}
	b.MemRuns = p.Memory.Count
	b.MemAfter1, b.MemAfterN, b.MemCurve = p.Memory.WasmAfter1, p.Memory.WasmAfterN, p.Memory.Curve
	b.HeapAfter1, b.HeapAfterN = p.Memory.HeapAfter1, p.Memory.HeapAfterN

	if r.TFJSCPUMedian > 0 {
		b.RatioLatencyCPU = round(b.LatencyMedian/r.TFJSCPUMedian, 4)
	}
	b.RatioLatencyWasm = round(b.LatencyMedian/r.TFJSWasmMedian, 4)
	b.RatioThroughput = round(b.PoolRate/r.TFJSWasmRate, 4)
	// The TF.js page has no gallery: compare what each needs to classify.
	b.RatioBytes = round(float64(b.BytesCold-b.BytesColdSamples)/float64(r.TFJSBytesCold), 4)
	b.RatioReadyCold = round(b.ReadyCold/r.TFJSReadyCold, 4)
	b.RatioReadyRepeat = round(b.ReadyRepeat/r.TFJSReadyRepeat, 4)
	b.ReadyCold, b.ReadyRepeat = round(b.ReadyCold, 1), round(b.ReadyRepeat, 1)

	// Same computation: every input on every TF.js backend run against papscope.
	b.TFJSMaxAbsDiff = math.Inf(1)
	if len(p.Probs) > 0 && len(t.Wasm.Probs) == len(p.Probs) {
		b.TFJSMaxAbsDiff = maxDiff(p.Probs, t.Wasm.Probs)
		if len(t.CPU.Probs) > 0 {
			b.TFJSMaxAbsDiff = math.Max(b.TFJSMaxAbsDiff, maxDiff(p.Probs[:len(t.CPU.Probs)], t.CPU.Probs))
		}
	}
	b.NodeReferenceDiff = maxDiff(p.Probs, nodeRef)
}

// scale returns each figure times k, rounded to digits.
func (l layerFigures) scale(k float64, digits int) layerFigures {
	return layerFigures{round(l.Conv1*k, digits), round(l.Depthwise*k, digits), round(l.Pointwise*k, digits),
		round(l.Pool*k, digits), round(l.Head*k, digits)}
}

// maxDiff returns the largest |a-b| over every probability, or +Inf when the shapes differ.
func maxDiff(a, b [][]float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return math.Inf(1)
		}
		for j := range a[i] {
			d = math.Max(d, math.Abs(a[i][j]-b[i][j]))
		}
	}
	return d
}

// median returns the median of v rounded to 2 digits, or 0 when v is empty.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return round(s[n/2], 2)
	}
	return round((s[n/2-1]+s[n/2])/2, 2)
}

// round rounds v to digits decimal places.
func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
