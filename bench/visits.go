package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// benchVisits measures a cold visit of the page at url in a fresh profile,
// then, once its service worker has taken control, a repeat visit, into f.
// It fails when the page runs another build than b.
func benchVisits(ctx context.Context, cnt *counter, url string, b wasmBuild, f *BuildFigures) error {
	var err error
	var files []served
	if f.ReadyCold, files, err = visit(ctx, cnt, url); err != nil {
		return fmt.Errorf("cold visit: %w", err)
	}
	if err := eval(ctx, startStepsJS, &f.ColdSteps); err != nil {
		return err
	}
	if f.ColdSteps.ModelLoaded == 0 {
		return fmt.Errorf("%s marked no start-up steps (performance.mark papscope:…, see web/loader.js and wasm/page.go)", url)
	}
	if err := eval(ctx, `String(self.papscopeBuild)`, &f.Build); err != nil {
		return err
	}
	if f.Build != b.name {
		return fmt.Errorf("%s runs the %q build, want %q (a Chromium without WebAssembly SIMD128 runs the scalar one)", url, f.Build, b.name)
	}
	f.BytesCold = sum(files)
	for _, f2 := range files {
		switch {
		case strings.HasSuffix(f2.path, ".wasm"):
			f.BytesColdWasm += f2.bytes
		case strings.HasSuffix(f2.path, ".safetensors"):
			f.BytesColdWeights += f2.bytes
		case strings.HasPrefix(f2.path, "/samples/"):
			f.BytesColdSamples += f2.bytes
		}
	}
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`navigator.serviceWorker.controller !== null`,
		chromedp.WithPollingTimeout(time.Minute))); err != nil {
		return fmt.Errorf("the service worker never took control: %w", err)
	}
	cnt.quiet(time.Second)
	f.BytesColdAll = cnt.total()
	if f.ReadyRepeat, _, err = visit(ctx, cnt, url); err != nil {
		return fmt.Errorf("repeat visit: %w", err)
	}
	if err := eval(ctx, startStepsJS, &f.RepeatSteps); err != nil {
		return err
	}
	cnt.quiet(500 * time.Millisecond)
	f.BytesRepeat = cnt.total()
	return nil
}

// startSteps are the times of papscope's start-up steps on a visit, in ms
// from the navigation's start.
type startSteps struct {
	WasmRequest       float64 `json:"wasm-request"`       // the loader asks for the model code (and the weights)
	WasmCompiled      float64 `json:"wasm-compiled"`      // the model code is downloaded and compiled
	GoStarted         float64 `json:"go-started"`         // the page's Go runs
	WeightsDownloaded float64 `json:"weights-downloaded"` // the page has the weights
	ModelLoaded       float64 `json:"model-loaded"`       // the worker has decoded them and built the model
}

// startStepsJS reads the page's start-up marks as a startSteps object.
const startStepsJS = `Object.fromEntries(performance.getEntriesByType('mark').filter(m => m.name.startsWith('papscope:')).map(m => [m.name.slice(9), Math.round(m.startTime * 10) / 10]))`

// String lists the steps' times.
func (s startSteps) String() string {
	return fmt.Sprintf("%.0f / %.0f / %.0f / %.0f / %.0f", s.WasmRequest, s.WasmCompiled, s.GoStarted, s.WeightsDownloaded, s.ModelLoaded)
}
