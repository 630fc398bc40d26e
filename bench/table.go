package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// printTable prints the figures for people: a column per wasm build, beside
// TF.js where it has the same figure, then the figures that are one of a kind.
func printTable(w io.Writer, r Result, pap [2]papFigures, t tfjsFigures) {
	fmt.Fprintf(w, "\npapscope browser benchmark — %s, %s, %s input (load average %.2f before, %.2f after)\n\n",
		r.Machine, r.Chromium, r.Input, r.LoadBefore, r.LoadAfter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	bs := r.builds()
	mb := func(b int64) string { return fmt.Sprintf("%.2f MB", float64(b)/1e6) }
	pct := func(f float64) string { return fmt.Sprintf("%.1f %%", 100*f) }
	// row prints a figure for each build (f) and TF.js's (tf, "" where it has none).
	row := func(k string, f func(b *BuildFigures) string, tf string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k, f(bs[0]), f(bs[1]), tf)
	}
	fmt.Fprintf(tw, "\t%s\t%s\t%s\n", wasmBuilds[0].title, wasmBuilds[1].title, "TF.js "+r.TFJSVersion+" wasm")
	row("warm latency (worker round trip, with Grad-CAM)", func(b *BuildFigures) string {
		return fmt.Sprintf("median %.1f ms (%.1f–%.1f)", b.LatencyMedian, b.LatencyMin, b.LatencyMax)
	}, fmt.Sprintf("median %.1f ms (min %.1f)", r.TFJSWasmMedian, r.TFJSWasmMin))
	row("  runs after warm-ups", func(b *BuildFigures) string { return fmt.Sprintf("%d after %d", b.LatencyRuns, b.LatencyWarm) },
		fmt.Sprintf("%d after %d", len(t.Wasm.Ms), r.LatencyWarm))
	row("  copy / preprocess / forward / Grad-CAM / messaging", func(b *BuildFigures) string {
		return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f / %.1f %%", 100*b.ShareCopy, 100*b.SharePreprocess, 100*b.ShareForward, 100*b.ShareGradCAM, 100*b.ShareMessaging)
	}, "")
	row("  copy, preprocess, Grad-CAM (mean ms)", func(b *BuildFigures) string {
		return fmt.Sprintf("%.2f, %.2f, %.2f", b.CopyMean, b.PreprocessMean, b.GradCAMMean)
	}, "")
	row("forward pass (median)", func(b *BuildFigures) string { return fmt.Sprintf("%.1f ms", b.ForwardMedian) }, "")
	layer := func(name string, get func(l layerFigures) float64) {
		row("  "+name+" (mean ms, share of forward)", func(b *BuildFigures) string {
			return fmt.Sprintf("%.2f ms, %s", get(b.LayerMs), pct(get(b.LayerShares)))
		}, "")
	}
	layer("conv1", func(l layerFigures) float64 { return l.Conv1 })
	layer("depthwise", func(l layerFigures) float64 { return l.Depthwise })
	layer("pointwise", func(l layerFigures) float64 { return l.Pointwise })
	layer("pool", func(l layerFigures) float64 { return l.Pool })
	layer("head", func(l layerFigures) float64 { return l.Head })
	row("throughput, 1 worker", func(b *BuildFigures) string { return fmt.Sprintf("%.2f images/s", b.SingleRate) }, "")
	row(fmt.Sprintf("throughput, pool of %d workers (TF.js: batch of %d)", r.PoolWorkers, t.Batch.Images), func(b *BuildFigures) string {
		return fmt.Sprintf("%.2f images/s (%.2f×)", b.PoolRate, b.PoolSpeedup)
	}, fmt.Sprintf("%.2f images/s", r.TFJSWasmRate))
	row("ready, cold visit", func(b *BuildFigures) string { return fmt.Sprintf("%.0f ms, %s", b.ReadyCold, mb(b.BytesCold)) },
		fmt.Sprintf("%.0f ms, %s", r.TFJSReadyCold, mb(r.TFJSBytesCold)))
	row("  of which wasm, weights, gallery samples", func(b *BuildFigures) string {
		return fmt.Sprintf("%s, %s, %s", mb(b.BytesColdWasm), mb(b.BytesColdWeights), mb(b.BytesColdSamples))
	}, "")
	row("  with the service worker's install", func(b *BuildFigures) string { return mb(b.BytesColdAll) }, "")
	row("  code asked / compiled / Go / weights / model (ms)", func(b *BuildFigures) string { return b.ColdSteps.String() }, "")
	row("ready, repeat visit (service worker)", func(b *BuildFigures) string { return fmt.Sprintf("%.0f ms, %d bytes", b.ReadyRepeat, b.BytesRepeat) },
		fmt.Sprintf("%.0f ms", r.TFJSReadyRepeat))
	row("  code asked / compiled / Go / weights / model (ms)", func(b *BuildFigures) string { return b.RepeatSteps.String() }, "")
	row(fmt.Sprintf("wasm memory after 1 / %d images", r.MemRuns), func(b *BuildFigures) string {
		return fmt.Sprintf("%s / %s", mb(b.MemAfter1), mb(b.MemAfterN))
	}, "")
	row(fmt.Sprintf("JS heap (page and workers) after 1 / %d images", r.MemRuns), func(b *BuildFigures) string {
		return fmt.Sprintf("%s / %s", mb(b.HeapAfter1), mb(b.HeapAfterN))
	}, "")
	row("wasm raw / gzip -9", func(b *BuildFigures) string { return fmt.Sprintf("%s / %s", mb(b.WasmBytes), mb(b.WasmGzipBytes)) }, "")
	row("max |Δp| vs TF.js (browser); vs TF.js cpu in Node", func(b *BuildFigures) string {
		return fmt.Sprintf("%.2g; %.2g", b.TFJSMaxAbsDiff, b.NodeReferenceDiff)
	}, fmt.Sprintf("(limit %g)", maxProbDiff))
	row("papscope / TF.js wasm: latency", func(b *BuildFigures) string { return fmt.Sprintf("%.2f", b.RatioLatencyWasm) }, "")
	if r.TFJSCPUMedian > 0 {
		row("papscope / TF.js cpu: latency", func(b *BuildFigures) string { return fmt.Sprintf("%.3f", b.RatioLatencyCPU) }, "")
	}
	row("papscope pool / TF.js wasm batch: images/s", func(b *BuildFigures) string { return fmt.Sprintf("%.2f", b.RatioThroughput) }, "")
	row("papscope (without gallery samples) / TF.js: cold bytes", func(b *BuildFigures) string { return fmt.Sprintf("%.2f", b.RatioBytes) }, "")
	row("papscope / TF.js: cold ready, repeat ready", func(b *BuildFigures) string {
		return fmt.Sprintf("%.2f, %.2f", b.RatioReadyCold, b.RatioReadyRepeat)
	}, "")
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	one := func(k string, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	one("SIMD / scalar: latency, forward, pool images/s", fmt.Sprintf("%.3f, %.3f, %.3f", r.RatioLatencySIMD, r.RatioForwardSIMD, r.RatioPoolSIMD))
	for _, b := range bs {
		var curve []string
		for _, n := range slices.Sorted(maps.Keys(b.MemCurve)) {
			curve = append(curve, fmt.Sprintf("%d: %.1f", n, float64(b.MemCurve[n])/1e6))
		}
		one("wasm memory (MB) after n images, "+b.File, strings.Join(curve, ", "))
	}
	one(fmt.Sprintf("the page's batch table (SIMD build), %d images", pap[0].Pool.Images), fmt.Sprintf("%.2f images/s on %d workers, %.2f on 1 (decoding and thumbnails included)",
		r.SiteBatchRate, r.SiteBatchWorkers, r.SiteBatchSingleRate))
	one("weights (safetensors)", mb(r.WeightsBytes))
	one(fmt.Sprintf("TF.js %s wasm backend", r.TFJSVersion), fmt.Sprintf("SIMD %v, threads %v, cross-origin isolated %v", r.TFJSSIMD, r.TFJSThreads, t.Info.Isolated))
	if len(t.CPU.Ms) > 0 {
		one("TF.js cpu backend", fmt.Sprintf("median %.0f ms (%d runs after 1 warm-up)", r.TFJSCPUMedian, len(t.CPU.Ms)))
	}
	tw.Flush()
}
