package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"papscope/internal/headless"
	"papscope/internal/serve"
	"papscope/nn"
)

// classes are the network's classes in output order, as the page names them (#prob-HSIL, ...).
var classes = [nn.NumClasses]string(nn.ClassNames())

// builtFiles are what `make build` puts into web/ and the tests need.
var builtFiles = []string{"index.html", "papscope.wasm", "papscope-scalar.wasm", "wasm_exec.js", "papscope.safetensors", "samples/samples.json"}

// suite is what TestMain sets up once for every test: the site, its server,
// the reference CLI and the browser.
var suite struct {
	web     string // the built site
	weights string // the weights the site ships (web/papscope.safetensors)
	cli     string // papscope, built from ../cmd/papscope
	tmp     string // scratch space for the whole run
	srv     *httptest.Server
	rec     *recorder
	browser context.Context
	samples []sample
}

// sample is one gallery example, as web/samples/samples.json lists it.
type sample struct {
	Name  string `json:"name"`
	Class string `json:"class"`
	File  string `json:"file"`
	path  string // on disk
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL e2e: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

// setup prepares the suite, runs the tests, and tears the suite down.
func setup(m *testing.M) (int, error) {
	dir := filepath.Join("..", "web")
	if d := os.Getenv("PAPSCOPE_E2E_WEB"); d != "" {
		dir = d // another built site, to debug the tests themselves
	}
	web, err := filepath.Abs(dir)
	if err != nil {
		return 0, err
	}
	for _, name := range builtFiles {
		if _, err := os.Stat(filepath.Join(web, filepath.FromSlash(name))); err != nil {
			return 0, fmt.Errorf("the site is not built: %s is missing (run make build)", filepath.Join(web, name))
		}
	}
	chrome, err := headless.Find("")
	if err != nil {
		return 0, fmt.Errorf("%w (the browser tests never skip)", err)
	}
	suite.web = web
	suite.weights = filepath.Join(web, "papscope.safetensors")
	if suite.samples, err = readSamples(web); err != nil {
		return 0, err
	}

	suite.tmp, err = os.MkdirTemp("", "papscope-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(suite.tmp)
	suite.cli = filepath.Join(suite.tmp, "papscope")
	build := exec.Command("go", "build", "-o", suite.cli, "./cmd/papscope")
	build.Dir = ".."
	// The scalar kernels, whatever GOEXPERIMENT the tests run under: the page's
	// results equal theirs bit for bit, not those of the AVX-512 kernels
	// (GOEXPERIMENT=simd), which sum in another order.
	build.Env = append(os.Environ(), "GOEXPERIMENT=")
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build the reference CLI: %v\n%s", err, out)
	}

	h, err := serve.New(web)
	if err != nil {
		return 0, err
	}
	defer h.Close()
	suite.rec = &recorder{next: h}
	suite.srv = httptest.NewServer(suite.rec) // 127.0.0.1, a free port
	defer suite.srv.Close()

	profile := filepath.Join(suite.tmp, "profile") // a fresh user-data dir per run
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), headless.Options(chrome, profile)...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		return 0, fmt.Errorf("start %s: %w", chrome, err)
	}
	suite.browser = browser
	return m.Run(), nil
}

func readSamples(web string) ([]sample, error) {
	data, err := os.ReadFile(filepath.Join(web, "samples", "samples.json"))
	if err != nil {
		return nil, err
	}
	var ss []sample
	if err := json.Unmarshal(data, &ss); err != nil {
		return nil, fmt.Errorf("web/samples/samples.json: %w", err)
	}
	if len(ss) == 0 {
		return nil, errors.New("web/samples/samples.json lists no cases: the site was built without the real LBC fields (make site with LBC_DATA=DIR, default ../shared/data/lbc); the browser tests use them")
	}
	for i, s := range ss {
		for _, p := range []string{filepath.Join(web, "samples", s.File), filepath.Join(web, s.File)} {
			if _, err := os.Stat(p); err == nil {
				ss[i].path = p
				break
			}
		}
		if ss[i].path == "" {
			return nil, fmt.Errorf("web/samples/samples.json: sample %q: file %q not found", s.Name, s.File)
		}
	}
	return ss, nil
}

// recorder logs every request the server gets and can play dead (offline).
type recorder struct {
	next    http.Handler
	offline atomic.Bool
	mu      sync.Mutex
	log     []string // "METHOD /path"
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.log = append(r.log, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	if r.offline.Load() {
		panic(http.ErrAbortHandler) // the connection drops: a network error for the browser
	}
	r.next.ServeHTTP(w, req)
}

// since returns the requests logged after the first n.
func (r *recorder) since(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log[n:]...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

// page is one tab, in a browser context (profile) of its own, with what it logged.
type page struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	console  []string                   // every console message, exception and browser log entry
	errs     []string                   // the errors among them
	requests []request                  // every request the page (or its workers) sent
	failed   []string                   // requests that failed or got an HTTP error
	resps    map[string]network.Headers // the last response headers by URL (lower-case names)
}

type request struct {
	src         string // page, worker or service_worker
	url, method string
	at          time.Time
}

// openPage opens a tab in a fresh browser context; it closes when the test
// ends, after saving a screenshot and logs if the test failed.
func openPage(t *testing.T) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(suite.browser, chromedp.WithNewBrowserContext())
	p := &page{t: t, ctx: ctx}
	t.Cleanup(func() {
		if t.Failed() {
			p.saveArtifacts()
		}
		cancel()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	if err := chromedp.Listen(ctx, p.event); err != nil {
		t.Fatalf("listen: %v", err)
	}
	return p
}

// evalInWorkers evaluates a JavaScript expression (awaiting a promise) in each
// worker and service worker of the page's browser context, and returns the
// results by target type and URL.
func (p *page) evalInWorkers(expr string) (map[string]string, error) {
	p.t.Helper()
	infos, err := chromedp.Targets(p.ctx)
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", err)
	}
	bc := chromedp.FromContext(p.ctx).BrowserContextID
	out := make(map[string]string)
	for _, info := range infos {
		if (info.Type != "worker" && info.Type != "service_worker") || info.BrowserContextID != bc {
			continue
		}
		ctx, cancel := chromedp.NewContext(p.ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
		tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
		v, err := chromedp.Run(tctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		tcancel()
		cancel()
		if err != nil {
			return out, fmt.Errorf("%s %s: %w", info.Type, info.URL, err)
		}
		out[info.Type+" "+info.URL] = v
	}
	return out, nil
}

// event records one event of the tab. It runs in the tab's event loop.
func (p *page) event(ev any) { p.record("page", ev) }

// record records one event of the page or of one of its workers (src).
func (p *page) record(src string, ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, remoteText(a))
		}
		line := fmt.Sprintf("%s console.%s: %s", src, ev.Type, strings.Join(parts, " "))
		p.console = append(p.console, line)
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			p.errs = append(p.errs, line)
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + remoteText(d.Exception)
		}
		line := fmt.Sprintf("%s exception: %s (%s:%d)", src, text, d.URL, d.LineNumber+1)
		p.console = append(p.console, line)
		p.errs = append(p.errs, line)
	case *log.EventEntryAdded:
		e := ev.Entry
		line := fmt.Sprintf("%s log %s %s: %s %s", src, e.Source, e.Level, e.Text, e.URL)
		p.console = append(p.console, line)
		if e.Level == log.EntryLevelError {
			p.errs = append(p.errs, line)
		}
	case *network.EventRequestWillBeSent:
		p.requests = append(p.requests, request{src: src, url: ev.Request.URL, method: ev.Request.Method, at: time.Now()})
	case *network.EventLoadingFailed:
		if !ev.Canceled {
			p.failed = append(p.failed, fmt.Sprintf("%s %s %s: %s %s", src, ev.Type, ev.RequestID, ev.ErrorText, ev.BlockedReason))
		}
	case *network.EventResponseReceived:
		if p.resps == nil {
			p.resps = make(map[string]network.Headers)
		}
		h := network.Headers{}
		for k, v := range ev.Response.Headers {
			h[strings.ToLower(k)] = v
		}
		p.resps[ev.Response.URL] = h
		if ev.Response.Status >= 400 {
			p.failed = append(p.failed, fmt.Sprintf("%s %s: HTTP %d", src, ev.Response.URL, ev.Response.Status))
		}
	}
}

// remoteText is a console argument as text.
func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Type)
}

// header returns a header of the last response for url, and whether there was one.
func (p *page) header(url, name string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h, ok := p.resps[url]
	if !ok {
		return "", false
	}
	v, _ := h[name].(string)
	return v, true
}

// snapshot returns copies of what the page logged so far.
func (p *page) snapshot() (console, errs []string, reqs []request, failed []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...), append([]string(nil), p.errs...),
		append([]request(nil), p.requests...), append([]string(nil), p.failed...)
}

// saveArtifacts writes a screenshot, the page's HTML, the console log and the
// requests into a folder, and names it in the test's failure output.
func (p *page) saveArtifacts() {
	root := os.Getenv("PAPSCOPE_E2E_ARTIFACTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "papscope-e2e-failures")
	}
	dir := filepath.Join(root, strings.NewReplacer("/", "_", " ", "_").Replace(p.t.Name()))
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Errorf("save artifacts: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil { // the whole page, as PNG
		os.WriteFile(filepath.Join(dir, "screenshot.png"), png, 0o644)
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		os.WriteFile(filepath.Join(dir, "page.html"), []byte(html), 0o644)
	}
	console, errs, reqs, failed := p.snapshot()
	var b strings.Builder
	for _, l := range console {
		fmt.Fprintln(&b, l)
	}
	fmt.Fprintf(&b, "\n%d errors:\n%s\n", len(errs), strings.Join(errs, "\n"))
	os.WriteFile(filepath.Join(dir, "console.log"), []byte(b.String()), 0o644)
	b.Reset()
	for _, r := range reqs {
		fmt.Fprintf(&b, "%s %s %s %s\n", r.at.Format("15:04:05.000"), r.src, r.method, r.url)
	}
	fmt.Fprintf(&b, "\nfailed:\n%s\n", strings.Join(failed, "\n"))
	os.WriteFile(filepath.Join(dir, "requests.log"), []byte(b.String()), 0o644)
	p.t.Errorf("screenshot, page HTML, console log and requests saved in %s", dir)
}

// do runs actions on the tab, failing the test on error.
func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression and decodes its value into T.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %.80s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it is true, or fails the test
// after timeout saying what it waited for and how the page looks.
func (p *page) waitFor(what, cond string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("waited %v for %s (%s): %v; page: %s", timeout, what, cond, err, p.describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// describe summarises the page's state for a failure message.
func (p *page) describe() string {
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		state: document.body && document.body.dataset.state,
		status: document.querySelector('#status')?.textContent.trim(),
		error: document.querySelector('#error')?.textContent.trim(),
		weights: document.querySelector('#weights-status')?.textContent.trim(),
	})`))
	if err != nil {
		return err.Error()
	}
	_, errs, _, failed := p.snapshot()
	return fmt.Sprintf("%s; console errors %q; failed requests %q", s, errs, failed)
}

// load opens the site (with an optional fragment such as "#sample=x") and
// waits until the page says it is ready.
func (p *page) load(fragment string) {
	p.t.Helper()
	p.do("navigate", chromedp.Navigate(suite.srv.URL+"/"+fragment))
	p.waitReady()
}

func (p *page) waitReady() {
	p.t.Helper()
	p.waitFor("the page to finish loading", `document.body && document.body.dataset.state && document.body.dataset.state !== 'loading'`, 90*time.Second)
	if st := eval[string](p, `document.body.dataset.state`); st != "ready" {
		p.t.Fatalf("body[data-state] = %q after loading, want ready; page: %s", st, p.describe())
	}
	if got := eval[string](p, `document.querySelector('#status')?.textContent.trim() ?? '(no #status)'`); got != "Ready" {
		p.t.Errorf("#status says %q when ready, want Ready", got)
	}
}

// result is what the page shows for one classified image.
type result struct {
	Seq   int
	Name  string
	Top   string
	Probs [4]float32
	OOD   string
	Time  string
}

// resultJS reads #result and its parts; probabilities stay strings, parsed in Go.
const resultJS = `(() => {
	const r = document.querySelector('#result');
	const q = s => document.querySelector(s);
	return {
		seq: r && r.dataset.seq !== undefined ? r.dataset.seq : '',
		name: r ? (r.dataset.name ?? '') : '',
		top: q('#top-class')?.textContent.trim() ?? '',
		probs: ['HSIL', 'LSIL', 'NILM', 'SCC'].map(c => q('#prob-' + c)?.dataset.prob ?? ''),
		ood: q('#ood')?.dataset.state ?? '',
		time: q('#time-ms')?.textContent.trim() ?? '',
		errSeq: q('#error')?.dataset.seq ?? '',
	};
})()`

type rawResult struct {
	Seq    string    `json:"seq"`
	Name   string    `json:"name"`
	Top    string    `json:"top"`
	Probs  [4]string `json:"probs"`
	OOD    string    `json:"ood"`
	Time   string    `json:"time"`
	ErrSeq string    `json:"errSeq"`
}

// seqOf parses a data-seq value; a missing one is -1.
func seqOf(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func (p *page) readResult() (result, rawResult) {
	p.t.Helper()
	raw := eval[rawResult](p, resultJS)
	r := result{Seq: seqOf(raw.Seq), Name: raw.Name, Top: raw.Top, OOD: raw.OOD, Time: raw.Time}
	for i, s := range raw.Probs {
		f, err := strconv.ParseFloat(s, 32)
		if err != nil {
			p.t.Fatalf("#prob-%s[data-prob] = %q: %v", classes[i], s, err)
		}
		r.Probs[i] = float32(f)
	}
	return r, raw
}

// seqs returns the current #result and #error sequence numbers.
func (p *page) seqs() (res, errSeq int) {
	p.t.Helper()
	raw := eval[rawResult](p, resultJS)
	return seqOf(raw.Seq), seqOf(raw.ErrSeq)
}

// drop gives files to #file-input, as the file picker would.
func (p *page) drop(files ...string) {
	p.t.Helper()
	p.do("set #file-input", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), absPaths(p.t, files)))
}

// absPaths makes paths absolute: the browser resolves files from its own directory.
func absPaths(t *testing.T, paths []string) []string {
	t.Helper()
	out := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = a
	}
	return out
}

// classify gives one file to the page and returns what it shows for it.
func (p *page) classify(file string) result {
	p.t.Helper()
	res0, err0 := p.seqs()
	p.drop(file)
	p.waitFor("a result for "+filepath.Base(file),
		fmt.Sprintf(`(() => { const r = document.querySelector('#result'), e = document.querySelector('#error');
			return (r && r.dataset.seq !== undefined && +r.dataset.seq !== %d) || (e && e.dataset.seq !== undefined && +e.dataset.seq !== %d); })()`, res0, err0),
		120*time.Second)
	r, raw := p.readResult()
	if seqOf(raw.ErrSeq) != err0 {
		p.t.Fatalf("%s: the page shows an error: %q", filepath.Base(file), eval[string](p, `document.querySelector('#error').textContent.trim()`))
	}
	if r.Seq <= res0 {
		p.t.Errorf("#result[data-seq] went from %d to %d, want an increase", res0, r.Seq)
	}
	if r.Name != filepath.Base(file) {
		p.t.Errorf("#result[data-name] = %q, want %q", r.Name, filepath.Base(file))
	}
	return r
}

// reference is one line of `papscope classify -json`.
type reference struct {
	File  string     `json:"file"`
	Top   string     `json:"top"`
	Probs [4]float32 `json:"probs"`
}

// cliClassify runs the reference CLI on files with weights and returns its
// output by file base name.
func cliClassify(t *testing.T, weights string, files ...string) map[string]reference {
	t.Helper()
	args := append([]string{"classify", "-json", "-weights", weights}, files...)
	out, err := exec.Command(suite.cli, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("papscope %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("papscope classify: %v", err)
	}
	refs := make(map[string]reference)
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var r reference
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("papscope classify -json: %v\n%s", err, out)
		}
		refs[filepath.Base(r.File)] = r
	}
	if len(refs) != len(files) {
		t.Fatalf("papscope classify -json gave %d results for %d files", len(refs), len(files))
	}
	return refs
}

// maxDiff is the largest absolute difference between two probability vectors.
func maxDiff(a, b [4]float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// exact is how far the page's probabilities may be from the CLI's for an
// image the browser decodes exactly (PNG, BMP, GIF, lossless WebP): both
// resize the same pixels with the same Go code.
const exact = 1e-6

// tolerance is how far the page's probabilities may be from the CLI's for file:
// jpegBound for JPEG (the browser decodes it, not Go), else exact.
func tolerance(file string) float64 {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".jpg", ".jpeg":
		return jpegBound
	}
	return exact
}

// topAgrees says whether the page's top class may be top, given the CLI's
// result ref and how far the page's probabilities may be from its (tol): it
// must be the CLI's top class, unless the CLI's two most probable classes are
// within 2·tol of each other, where a JPEG decoded by the browser may swap
// them (2 of the 2,246 LBC fields do with the shipped weights).
func topAgrees(top string, ref reference, tol float64) bool {
	if top == ref.Top {
		return true
	}
	i := slices.Index(classes[:], top)
	j := slices.Index(classes[:], ref.Top)
	return i >= 0 && j >= 0 && float64(ref.Probs[j]-ref.Probs[i]) <= 2*tol
}

// checkProbs checks that probs are a distribution and agree with the CLI's within tol.
func checkProbs(t *testing.T, what string, got, want [4]float32, tol float64) {
	t.Helper()
	sum := 0.0
	for i, v := range got {
		if v < 0 || v > 1 || math.IsNaN(float64(v)) {
			t.Errorf("%s: P(%s) = %v, not a probability", what, classes[i], v)
		}
		sum += float64(v)
	}
	if math.Abs(sum-1) > 1e-5 {
		t.Errorf("%s: probabilities %v sum to %v, want 1", what, got, sum)
	}
	if d := maxDiff(got, want); d > tol {
		t.Errorf("%s: page probabilities %v differ from papscope classify's %v by %g (> %g)", what, got, want, d, tol)
	}
}

// writePNG writes img as a PNG in dir and returns its path.
func writePNG(t *testing.T, dir, name string, img image.Image) string {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// copyFile copies src to dir/name and returns the new path.
func copyFile(t *testing.T, src, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sampleOf returns the first gallery sample of class c.
func sampleOf(t *testing.T, c string) sample {
	t.Helper()
	for _, s := range suite.samples {
		if s.Class == c {
			return s
		}
	}
	t.Fatalf("the gallery has no %s sample", c)
	return sample{}
}

// execCommand runs a command with a context.
var execCommand = exec.CommandContext
