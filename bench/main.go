// Command bench is papscope's browser benchmark (make bench). It serves the
// built site (web/) with a benchmark folder beside it (/bench/: the pages in
// bench/site, TensorFlow.js from bench/tfjs/node_modules, and the 299×299
// TF.js reference model of nn/testdata/tfjs/seed1_299 with its papscope
// import), drives headless Chromium over it and prints one JSON line of
// figures, then a table for people.
//
// papscope is timed through its Web Worker with the page's message protocol;
// TensorFlow.js runs the same network with the same weights on its wasm and
// cpu backends in the same browser. Both classify the same pixels, and bench
// fails when their probabilities differ by more than 1e-4.
//
// Run it from the repository root after make build and npm ci in bench/tfjs
// (make bench does both).
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"papscope/internal/headless"
	"papscope/internal/serve"
)

// maxProbDiff is the largest difference between papscope's and TF.js's
// probabilities that still counts as the same computation.
const maxProbDiff = 1e-4

// readyMarker runs before any page script: it keeps the page's uncaught
// errors in window.__errors, and it records performance.now() (the
// milliseconds since navigation started) when the body's data-state becomes
// "ready", as both papscope's page and the benchmark pages set it.
const readyMarker = `window.__errors = [];
addEventListener('error', (e) => window.__errors.push(e.message + ' (' + e.filename + ':' + e.lineno + ')'));
addEventListener('unhandledrejection', (e) => window.__errors.push(String(e.reason)));
new MutationObserver(() => {
  const s = document.body && document.body.dataset.state;
  if (s === 'ready' && !window.__readyAt) window.__readyAt = performance.now();
  if (s === 'error') window.__readyAt = -1;
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-state']});`

type config struct {
	web, cli, work, chrome  string
	warm, runs, batch, mem  int
	cpuRuns, tfjsBatch      int
	skipTFJSCPU, skipMemory bool
}

func main() {
	var c config
	flag.StringVar(&c.web, "web", "web", "the built site (make build)")
	flag.StringVar(&c.cli, "cli", "bin/papscope", "the papscope CLI, to import the TF.js model")
	flag.StringVar(&c.work, "work", "build/bench", "scratch folder for the benchmark pages and model")
	flag.StringVar(&c.chrome, "chrome", "", "Chromium binary (default $CHROME, else chromium on PATH)")
	flag.IntVar(&c.warm, "warm", 3, "untimed warm-up classifications before the latency runs")
	flag.IntVar(&c.runs, "runs", 15, "timed single-image classifications")
	flag.IntVar(&c.batch, "batch", 16, "images in the throughput runs")
	flag.IntVar(&c.mem, "mem", 200, "classifications in the memory run")
	flag.IntVar(&c.cpuRuns, "tfjs-cpu-runs", 2, "timed TF.js cpu-backend images (about 6.5 s each), after one warm-up")
	flag.IntVar(&c.tfjsBatch, "tfjs-batch", 16, "images in the TF.js wasm batch")
	flag.BoolVar(&c.skipTFJSCPU, "no-tfjs-cpu", false, "skip the TF.js cpu backend")
	flag.BoolVar(&c.skipMemory, "no-mem", false, "skip the memory run")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// wasmBuild is one of the site's two builds of the model code (web/loader.js chooses).
type wasmBuild struct {
	name  string // self.papscopeBuild on the page, papBench.build on the benchmark page
	file  string // in web/
	query string // what the page's address needs to run it
	title string // its column in the table
}

// wasmBuilds are the SIMD build, which Chromium runs, and the scalar build
// that browsers without WebAssembly SIMD128 run (forced with ?wasm=scalar).
var wasmBuilds = [2]wasmBuild{
	{"simd", "papscope.wasm", "", "papscope.wasm (SIMD)"},
	{"scalar", "papscope-scalar.wasm", "?wasm=scalar", "papscope-scalar.wasm"},
}

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

func run(c config) error {
	chrome, err := headless.Find(c.chrome)
	if err != nil {
		return err
	}
	web, err := filepath.Abs(c.web)
	if err != nil {
		return err
	}
	site := filepath.Join(c.work, "site")
	expected, err := prepare(c, site)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", site, err)
	}

	var r Result
	r.Machine = machine()
	r.Input = "299x299"
	r.LoadBefore = loadAverage()
	for i, b := range wasmBuilds {
		fig := r.builds()[i]
		fig.File = b.file
		if fig.WasmBytes, fig.WasmGzipBytes, err = sizes(filepath.Join(web, b.file)); err != nil {
			return err
		}
	}
	st, err := os.Stat(filepath.Join(site, "model", "papscope299.safetensors"))
	if err != nil {
		return err
	}
	r.WeightsBytes = st.Size()

	siteH, err := serve.New(web)
	if err != nil {
		return err
	}
	defer siteH.Close()
	benchH, err := serve.New(site)
	if err != nil {
		return err
	}
	defer benchH.Close()
	mux := http.NewServeMux()
	mux.Handle("/", siteH)
	mux.Handle("/bench/", http.StripPrefix("/bench", benchH))
	cnt := &counter{next: mux}
	srv := httptest.NewServer(cnt) // 127.0.0.1, a free port
	defer srv.Close()
	// The server gzips a file on its first request and keeps the result: ask
	// for every file once, so that cold visits measure the browser's cold
	// start, not this server's first compression of a 4 MB module (0.6 s,
	// which a static host that stores its files compressed never spends).
	step("the server compresses the sites' files")
	if err := warmServer(srv.URL, map[string]string{"/": web, "/bench/": site}); err != nil {
		return err
	}
	cnt.reset()

	tmp, err := os.MkdirTemp("", "papscope-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// 1. The real page, once per build: a cold visit in a fresh profile, then
	// a repeat visit that the service worker serves.
	for i, b := range wasmBuilds {
		step("cold and repeat visits of the page, " + b.title)
		err = withBrowser(chrome, filepath.Join(tmp, "visits-"+b.name), 5*time.Minute, func(ctx context.Context) error {
			var err error
			if r.Chromium, err = chromiumVersion(ctx); err != nil {
				return err
			}
			return benchVisits(ctx, cnt, srv.URL+"/"+b.query, b, r.builds()[i])
		})
		if err != nil {
			return fmt.Errorf("%s: %w", b.file, err)
		}
	}

	// 2. The page's batch table, with one worker and with its pool.
	step("the page's batch table")
	err = withBrowser(chrome, filepath.Join(tmp, "batch"), 10*time.Minute, func(ctx context.Context) error {
		var err error
		r.SiteBatchWorkers, r.SiteBatchSingleRate, r.SiteBatchRate, err = benchSiteBatch(ctx, c, cnt, srv.URL, site, tmp)
		return err
	})
	if err != nil {
		return fmt.Errorf("batch table: %w", err)
	}

	// 3. papscope's worker with each build, and TF.js, in one fresh profile.
	var pap [2]papFigures
	var tfj tfjsFigures
	err = withBrowser(chrome, filepath.Join(tmp, "bench"), 20*time.Minute, func(ctx context.Context) error {
		for i, b := range wasmBuilds {
			step("papscope, " + b.title + ": latency, throughput, memory")
			if err := benchPapscope(ctx, c, srv.URL, b, &pap[i]); err != nil {
				return fmt.Errorf("papscope, %s: %w", b.file, err)
			}
		}
		step("TensorFlow.js: visits, wasm and cpu backends")
		if err := benchTFJS(ctx, c, cnt, srv.URL, &tfj); err != nil {
			return fmt.Errorf("TF.js: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}

	r.LoadAfter = loadAverage()
	fill(&r, c, pap, tfj, expected)
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	printTable(os.Stdout, r, pap, tfj)
	for _, b := range r.builds() {
		if !(b.TFJSMaxAbsDiff <= maxProbDiff) {
			return fmt.Errorf("papscope (%s) and TF.js disagree: max |Δp| = %.3g > %g — this benchmark compares two different computations", b.File, b.TFJSMaxAbsDiff, maxProbDiff)
		}
	}
	return nil
}

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

// warmServer requests, with gzip accepted, every file under each folder at
// the URL path it is served under, and discards the answers.
func warmServer(base string, trees map[string]string) error {
	for prefix, dir := range trees {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			req, err := http.NewRequest(http.MethodGet, base+prefix+filepath.ToSlash(rel), nil)
			if err != nil {
				return err
			}
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := http.DefaultTransport.RoundTrip(req) // the transport's own gzip handling would hide the header
			if err != nil {
				return fmt.Errorf("warming the server: %w", err)
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// step says what the benchmark is doing, on stderr.
func step(s string) { fmt.Fprintf(os.Stderr, "bench: %s …\n", s) }

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

// machine names the machine: its CPU model and core count.
func machine() string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores", cpu, goruntime.NumCPU())
}

// loadAverage returns the 1-minute load average, or -1 where /proc/loadavg is missing.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(string(data), &l); err != nil {
		return -1
	}
	return l
}

// ------------------------------------------------------------ server

// counter counts the body bytes the server sends (compressed when gzipped),
// per request, and when the last response ended.
type counter struct {
	next http.Handler
	mu   sync.Mutex
	reqs []served
	last time.Time
}

type served struct {
	path  string
	bytes int64
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &countingWriter{ResponseWriter: w}
	c.next.ServeHTTP(cw, r)
	c.mu.Lock()
	c.reqs = append(c.reqs, served{r.URL.Path, cw.n})
	c.last = time.Now()
	c.mu.Unlock()
}

func (c *counter) reset() {
	c.mu.Lock()
	c.reqs = nil
	c.mu.Unlock()
}

// total is every byte sent since the last reset.
func (c *counter) total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, r := range c.reqs {
		n += r.bytes
	}
	return n
}

// unique returns each path once, with the most bytes any of its responses
// carried: what a page needs, without the copies its service worker fetches
// again to cache them (or a request the browser gave up on).
func (c *counter) unique() []served {
	c.mu.Lock()
	defer c.mu.Unlock()
	at := map[string]int{}
	var out []served
	for _, r := range c.reqs {
		i, ok := at[r.path]
		if !ok {
			at[r.path] = len(out)
			out = append(out, r)
		} else if r.bytes > out[i].bytes {
			out[i].bytes = r.bytes
		}
	}
	return out
}

func sum(files []served) int64 {
	var n int64
	for _, f := range files {
		n += f.bytes
	}
	return n
}

// quiet waits until no response has ended for d (at most 30 s).
func (c *counter) quiet(d time.Duration) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		idle := time.Since(c.last)
		c.mu.Unlock()
		if idle >= d {
			return
		}
		time.Sleep(d - idle)
	}
}

// ------------------------------------------------------------ browser

// withBrowser runs f in a tab of a fresh headless Chromium with its own profile.
func withBrowser(chrome, profile string, timeout time.Duration, f func(ctx context.Context) error) error {
	// gc() in the workers, to collect garbage before measuring memory.
	opts := headless.Options(chrome, profile, chromedp.Flag("js-flags", "--expose-gc"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: readyMarker}); err != nil {
		return fmt.Errorf("start %s: %w", chrome, err)
	}
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	defer cancelT()
	return f(ctx)
}

func chromiumVersion(ctx context.Context) (string, error) {
	v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
	return v.Product, err
}

// visit opens url and waits until its page is ready. It returns the
// milliseconds from the start of the navigation and the files the server sent
// until then, each counted once.
func visit(ctx context.Context, cnt *counter, url string) (float64, []served, error) {
	cnt.reset()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return 0, nil, err
	}
	at, err := chromedp.Run(ctx, chromedp.Poll[float64](`window.__readyAt`,
		chromedp.WithPollingTimeout(3*time.Minute), chromedp.WithPollingInterval(5*time.Millisecond)))
	files := cnt.unique()
	if err != nil {
		return 0, nil, err
	}
	if at < 0 {
		msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`String(window.papBenchError || window.tfBenchError || document.getElementById('status')?.textContent || '') + '; uncaught: ' + window.__errors.join('; ')`))
		return 0, nil, fmt.Errorf("%s: the page failed: %s", url, msg)
	}
	return at, files, nil
}

// eval evaluates a JavaScript expression, awaiting it when it is a promise,
// and unmarshals its JSON value into out.
func eval(ctx context.Context, expr string, out any) error {
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => JSON.stringify(await (`+expr+`)))()`, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("%s: %w", expr, err)
	}
	if err := json.Unmarshal([]byte(raw), out); err != nil {
		return fmt.Errorf("%s: %w", expr, err)
	}
	return nil
}

// ------------------------------------------------------------ the page's batch table

// benchSiteBatch times the page's batch table over c.batch images (the
// TF.js reference inputs as PNG files, under other names) with the 299×299
// weights loaded through the page's weights input: first with the cores
// emulated as 1 (one worker), then with the real count (the page's pool). Each
// timed batch follows a warm-up batch that starts the workers. It returns the
// pool's size and both rates in images per second.
func benchSiteBatch(ctx context.Context, c config, cnt *counter, base, site, tmp string) (workers int, single, pool float64, err error) {
	dir := filepath.Join(tmp, "batch-images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, 0, err
	}
	ref := filepath.Join("nn", "testdata", "tfjs", "seed1_299")
	var files []string
	for i := range c.batch {
		dst := filepath.Join(dir, fmt.Sprintf("field-%02d.png", i))
		if err := copyFile(dst, filepath.Join(ref, fmt.Sprintf("input_%d.png", i%3))); err != nil {
			return 0, 0, 0, err
		}
		files = append(files, dst)
	}
	if _, _, err := visit(ctx, cnt, base+"/"); err != nil {
		return 0, 0, 0, err
	}
	weights, err := filepath.Abs(filepath.Join(site, "model", "papscope299.safetensors"))
	if err != nil {
		return 0, 0, 0, err
	}
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#weights-input"), []string{weights})); err != nil {
		return 0, 0, 0, err
	}
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#weights-status')?.dataset.state === 'ok'`,
		chromedp.WithPollingTimeout(time.Minute))); err != nil {
		return 0, 0, 0, fmt.Errorf("the page did not load the 299×299 weights: %w", err)
	}
	batch := func(files []string) (float64, error) {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('#batch-table').removeAttribute('data-done')`)); err != nil {
			return 0, err
		}
		start := time.Now()
		if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#file-input"), files)); err != nil {
			return 0, err
		}
		if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector('#batch-table')?.dataset.done === '%d'`, len(files)),
			chromedp.WithPollingTimeout(5*time.Minute), chromedp.WithPollingInterval(5*time.Millisecond))); err != nil {
			return 0, err
		}
		rate := float64(len(files)) / time.Since(start).Seconds()
		var rows int
		if err := eval(ctx, `document.querySelectorAll('#batch-table tbody tr[data-name]').length`, &rows); err != nil {
			return 0, err
		}
		if rows != len(files) {
			return 0, fmt.Errorf("the batch table has %d classified rows for %d images", rows, len(files))
		}
		return rate, nil
	}
	var cores int
	if err := eval(ctx, `navigator.hardwareConcurrency`, &cores); err != nil {
		return 0, 0, 0, err
	}
	for _, n := range []int{1, cores} {
		if _, err := chromedp.Call(ctx, emulation.SetHardwareConcurrencyOverride, emulation.SetHardwareConcurrencyOverrideParams{HardwareConcurrency: int64(n)}); err != nil {
			return 0, 0, 0, err
		}
		if _, err := batch(files[:min(len(files), max(2, n))]); err != nil {
			return 0, 0, 0, fmt.Errorf("warm-up batch: %w", err)
		}
		rate, err := batch(files)
		if err != nil {
			return 0, 0, 0, err
		}
		if err := eval(ctx, `+document.querySelector('#batch-table').dataset.workers`, &workers); err != nil {
			return 0, 0, 0, err
		}
		if n == 1 {
			single = rate
		} else {
			pool = rate
		}
	}
	return workers, single, pool, nil
}

// ------------------------------------------------------------ papscope

type timing struct {
	Copy       float64 `json:"copy"`
	Preprocess float64 `json:"preprocess"`
	Forward    float64 `json:"forward"`
	CAM        float64 `json:"cam"`
	Conv1      float64 `json:"conv1"`
	Depthwise  float64 `json:"depthwise"`
	Pointwise  float64 `json:"pointwise"`
	Pool       float64 `json:"pool"`
	Head       float64 `json:"head"`
}

// add adds o's phases to t's.
func (t *timing) add(o timing) {
	t.Copy += o.Copy
	t.Preprocess += o.Preprocess
	t.Forward += o.Forward
	t.CAM += o.CAM
	t.Conv1 += o.Conv1
	t.Depthwise += o.Depthwise
	t.Pointwise += o.Pointwise
	t.Pool += o.Pool
	t.Head += o.Head
}

type rate struct {
	Workers    int     `json:"workers"`
	Images     int     `json:"images"`
	Ms         float64 `json:"ms"`
	ImagesPerS float64 `json:"images_per_s"`
}

type papFigures struct {
	Cores   int
	Latency struct {
		Ms     []float64 `json:"ms"`
		Timing []timing  `json:"timing"`
	}
	Probs  [][]float64
	Single rate
	Pool   rate
	Memory struct {
		Count                  int
		WasmAfter1, WasmAfterN int64         // the worker's linear memory
		Curve                  map[int]int64 // the worker's linear memory after so many images
		HeapAfter1, HeapAfterN int64         // the JS heaps of the page and its workers
	}
}

// benchPapscope times papscope's worker running build b on the benchmark page.
func benchPapscope(ctx context.Context, c config, base string, b wasmBuild, f *papFigures) error {
	// The workers of a page benchmarked before must be gone: jsHeaps reads every worker's heap.
	if err := noWorkers(ctx); err != nil {
		return err
	}
	if _, _, err := visit(ctx, &counter{}, base+"/bench/bench.html"+b.query); err != nil {
		return err
	}
	var build string
	if err := eval(ctx, `papBench.build`, &build); err != nil {
		return err
	}
	if build != b.name {
		return fmt.Errorf("the benchmark page runs the %q build, want %q", build, b.name)
	}
	if err := eval(ctx, `papBench.cores`, &f.Cores); err != nil {
		return err
	}
	if err := eval(ctx, fmt.Sprintf(`papBench.latency(%d, %d)`, c.warm, c.runs), &f.Latency); err != nil {
		return err
	}
	if err := eval(ctx, `papBench.probs()`, &f.Probs); err != nil {
		return err
	}
	if err := eval(ctx, fmt.Sprintf(`papBench.throughput(1, %d)`, c.batch), &f.Single); err != nil {
		return err
	}
	if err := eval(ctx, fmt.Sprintf(`papBench.throughput(%d, %d)`, f.Cores, c.batch), &f.Pool); err != nil {
		return err
	}
	if !c.skipMemory {
		m := &f.Memory
		var err error
		if err = eval(ctx, `papBench.memStart()`, &m.WasmAfter1); err != nil {
			return err
		}
		if m.HeapAfter1, err = jsHeaps(ctx); err != nil {
			return err
		}
		// Checkpoints on the way show whether growth levels off (the Go heap
		// finding its size) or goes on (a leak).
		m.Curve = map[int]int64{1: m.WasmAfter1}
		done := 1
		for _, at := range []int{10, 50, 100, 150, c.mem} {
			if at <= done || at > c.mem {
				continue
			}
			if err = eval(ctx, fmt.Sprintf(`papBench.memMore(%d)`, at-done), &m.WasmAfterN); err != nil {
				return err
			}
			m.Curve[at], done = m.WasmAfterN, at
		}
		if m.HeapAfterN, err = jsHeaps(ctx); err != nil {
			return err
		}
		if err = eval(ctx, `papBench.memEnd()`, &m.Count); err != nil {
			return err
		}
	}
	return nil
}

// noWorkers stops the workers of the benchmark page (papBench.close; a page
// left for another stays alive in the back/forward cache, workers and all),
// leaves it for a blank one and waits (at most 30 s) until the browser lists
// no worker any more.
func noWorkers(ctx context.Context) error {
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.papBench && window.papBench.close()`)); err != nil {
		return fmt.Errorf("close the benchmark page's workers: %w", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			return fmt.Errorf("list targets: %w", err)
		}
		var left []string
		for _, info := range infos {
			if info.Type == "worker" {
				left = append(left, info.URL)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the previous page's workers are still running 30 s after it closed: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// jsHeaps collects garbage in the page and each of its workers and returns
// the sum of their used JavaScript heaps.
func jsHeaps(ctx context.Context) (int64, error) {
	heap := func(ctx context.Context) (int64, error) {
		if _, err := chromedp.Call(ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
			return 0, err
		}
		u, err := chromedp.Call(ctx, runtime.GetHeapUsage, cdp.Empty{})
		return int64(u.UsedSize), err
	}
	total, err := heap(ctx)
	if err != nil {
		return 0, fmt.Errorf("page heap: %w", err)
	}
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		return 0, err
	}
	workers := 0
	for _, info := range infos {
		if info.Type != "worker" {
			continue
		}
		wctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
		n, err := heap(wctx)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("worker %s heap: %w", info.URL, err)
		}
		total += n
		workers++
	}
	if workers == 0 {
		return 0, errors.New("no worker targets: the workers' heaps were not measured")
	}
	return total, nil
}

// ------------------------------------------------------------ TF.js

type tfjsLatency struct {
	Backend string      `json:"backend"`
	Ms      []float64   `json:"ms"`
	Probs   [][]float64 `json:"probs"`
}

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

// ------------------------------------------------------------ figures

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

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

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
