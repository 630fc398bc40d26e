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
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"papscope/internal/headless"
	"papscope/internal/serve"
)

// maxProbDiff is the largest difference between papscope's and TF.js's
// probabilities that still counts as the same computation.
const maxProbDiff = 1e-4

// config holds the command line's flags.
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
	flag.IntVar(&c.cpuRuns, "tfjs-cpu-runs", 2, "timed TF.js cpu-backend images (seconds each), after one warm-up")
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

// run prepares the benchmark folder, serves both sites, measures every figure
// in fresh Chromium profiles, prints the JSON line and the table, and fails
// when papscope and TF.js disagree.
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
	// start, not this server's first compression of the module (which a
	// static host that stores its files compressed never spends).
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

// step says what the benchmark is doing, on stderr.
func step(s string) { fmt.Fprintf(os.Stderr, "bench: %s …\n", s) }
