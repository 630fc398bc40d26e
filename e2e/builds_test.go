package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"papscope/internal/serve"
)

// buildTolerance is how far the two wasm builds' probabilities may be apart
// for the same image in the same browser: the SIMD kernels may add float32
// products in another order than the scalar ones, which moves the last bits
// of the logits, never more than this (the bound make bench holds papscope to
// against TensorFlow.js).
const buildTolerance = 1e-4

// buildState is what the loader says about the build it chose.
type buildState struct {
	Build   string `json:"build"`   // self.papscopeBuild
	File    string `json:"file"`    // self.papscopeWasmFile
	Compile string `json:"compile"` // self.papscopeCompile
	Bytes   int64  `json:"bytes"`   // self.papscopeWasmBytes
	Note    string `json:"note"`    // the footer's #wasm-build
	NoteOf  string `json:"noteOf"`  // its data-build
}

const buildStateJS = `({
	build: String(self.papscopeBuild), file: String(self.papscopeWasmFile), compile: String(self.papscopeCompile),
	bytes: Number(self.papscopeWasmBytes) || 0,
	note: document.querySelector('#wasm-build')?.textContent.trim() ?? '(no #wasm-build)',
	noteOf: document.querySelector('#wasm-build')?.dataset.build ?? '',
})`

// cachedBuilds says which wasm builds the service worker's caches hold.
type cachedBuilds struct {
	SIMD   bool `json:"simd"`
	Scalar bool `json:"scalar"`
	Caches int  `json:"caches"`
}

const cachedBuildsJS = `(async () => {
	const out = {simd: false, scalar: false, caches: 0};
	for (const key of await caches.keys()) {
		if (!key.startsWith('papscope-')) continue;
		out.caches++;
		const c = await caches.open(key);
		out.simd = out.simd || !!(await c.match('papscope.wasm'));
		out.scalar = out.scalar || !!(await c.match('papscope-scalar.wasm'));
	}
	return out;
})()`

// fileSize is the size of a file of the built site.
func fileSize(t *testing.T, name string) int64 {
	t.Helper()
	st, err := os.Stat(filepath.Join(suite.web, name))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// checkBuild checks what the loader reports against the build and compile path wanted.
func checkBuild(t *testing.T, got buildState, build, file, compile string) {
	t.Helper()
	if got.Build != build || got.File != file {
		t.Errorf("papscopeBuild %q, papscopeWasmFile %q; want %q, %q", got.Build, got.File, build, file)
	}
	if got.Compile != compile {
		t.Errorf("papscopeCompile = %q, want %q", got.Compile, compile)
	}
	// The bytes the loader counted for its progress bar are the module's, decoded.
	if want := fileSize(t, file); got.Bytes != want {
		t.Errorf("papscopeWasmBytes = %d, want %s's size %d", got.Bytes, file, want)
	}
	if got.NoteOf != build || !strings.Contains(strings.ToLower(got.Note), build+" build") {
		t.Errorf("#wasm-build (data-build %q) says %q; want the %s build named", got.NoteOf, got.Note, build)
	}
}

// fetched says which of the files the server was asked for among reqs ("GET /path").
func fetched(reqs []string, files ...string) map[string]bool {
	out := make(map[string]bool)
	for _, f := range files {
		out[f] = slices.Contains(reqs, "GET /"+f)
	}
	return out
}

// TestSIMDBuild: Chromium has WebAssembly SIMD128, so the page picks
// papscope.wasm, compiles it while it downloads (the server sends
// application/wasm), says so in the footer, and neither the page nor its
// service worker fetches the scalar build; the service worker caches the SIMD
// build only.
func TestSIMDBuild(t *testing.T) {
	before := suite.rec.count()
	p := openPage(t)
	p.load("")
	checkBuild(t, eval[buildState](p, buildStateJS), "simd", "papscope.wasm", "streaming")
	if got := eval[string](p, serviceWorkerActiveJS); got != "activated" {
		t.Fatalf("service worker: %s", got)
	}
	got := fetched(suite.rec.since(before), "papscope.wasm", "papscope-scalar.wasm")
	if !got["papscope.wasm"] || got["papscope-scalar.wasm"] {
		t.Errorf("the server was asked for papscope.wasm: %v, papscope-scalar.wasm: %v; want only papscope.wasm", got["papscope.wasm"], got["papscope-scalar.wasm"])
	}
	if c := eval[cachedBuilds](p, cachedBuildsJS); c.Caches != 1 || !c.SIMD || c.Scalar {
		t.Errorf("service worker caches: %+v; want one cache, with papscope.wasm and without papscope-scalar.wasm", c)
	}
}

// TestScalarBuild: with ?wasm=scalar the page runs papscope-scalar.wasm (and
// never fetches papscope.wasm), classifies every gallery case like the SIMD
// build within buildTolerance, with the same top class, and works offline
// from its service worker's cache, which holds the scalar build only.
func TestScalarBuild(t *testing.T) {
	// The SIMD build's answers, in a page of its own.
	simd := openPage(t)
	simd.load("")
	if b := eval[string](simd, `String(self.papscopeBuild)`); b != "simd" {
		t.Fatalf("the default page runs the %q build, want simd", b)
	}
	if got := eval[string](simd, serviceWorkerActiveJS); got != "activated" { // its install fetches nothing after this
		t.Fatalf("service worker: %s", got)
	}
	want := make(map[string]result)
	for _, s := range suite.samples {
		want[s.Name] = simd.classify(s.path)
	}

	before := suite.rec.count()
	p := openPage(t)
	p.load("?wasm=scalar")
	checkBuild(t, eval[buildState](p, buildStateJS), "scalar", "papscope-scalar.wasm", "streaming")
	for _, s := range suite.samples {
		r := p.classify(s.path)
		w := want[s.Name]
		ref := reference{Top: w.Top, Probs: w.Probs}
		if !topAgrees(r.Top, ref, buildTolerance) {
			t.Errorf("%s: top class %q with the scalar build, %q with the SIMD build (%v vs %v)", s.Name, r.Top, w.Top, r.Probs, w.Probs)
		}
		if d := maxDiff(r.Probs, w.Probs); d > buildTolerance {
			t.Errorf("%s: scalar build's probabilities %v differ from the SIMD build's %v by %g (> %g)", s.Name, r.Probs, w.Probs, d, buildTolerance)
		}
		if r.OOD != w.OOD {
			t.Errorf("%s: #ood[data-state] %q with the scalar build, %q with the SIMD build", s.Name, r.OOD, w.OOD)
		}
	}

	if got := eval[string](p, serviceWorkerActiveJS); got != "activated" {
		t.Fatalf("service worker: %s", got)
	}
	got := fetched(suite.rec.since(before), "papscope.wasm", "papscope-scalar.wasm")
	if got["papscope.wasm"] || !got["papscope-scalar.wasm"] {
		t.Errorf("the server was asked for papscope.wasm: %v, papscope-scalar.wasm: %v; want only papscope-scalar.wasm", got["papscope.wasm"], got["papscope-scalar.wasm"])
	}
	if c := eval[cachedBuilds](p, cachedBuildsJS); c.Caches != 1 || !c.Scalar || c.SIMD {
		t.Errorf("service worker caches: %+v; want one cache, with papscope-scalar.wasm and without papscope.wasm", c)
	}

	// Offline, the scalar page still loads and classifies from the cache.
	restore := p.goOffline()
	defer restore()
	p.reload()
	if b := eval[string](p, `String(self.papscopeBuild)`); b != "scalar" {
		t.Errorf("offline, the page runs the %q build, want scalar", b)
	}
	s := suite.samples[0]
	r := p.classify(s.path)
	if d := maxDiff(r.Probs, want[s.Name].Probs); d > buildTolerance {
		t.Errorf("offline %s: scalar build's probabilities %v differ from the SIMD build's %v by %g", s.Name, r.Probs, want[s.Name].Probs, d)
	}
}

// wasmAsOctetStream serves the site like papscope serve, but sends .wasm
// files as application/octet-stream, as some static hosts do.
type wasmAsOctetStream struct{ next http.Handler }

func (h wasmAsOctetStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.next.ServeHTTP(&retypeWriter{ResponseWriter: w}, r)
}

// retypeWriter rewrites an application/wasm Content-Type before the header goes out.
type retypeWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *retypeWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if w.Header().Get("Content-Type") == "application/wasm" {
			w.Header().Set("Content-Type", "application/octet-stream")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *retypeWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// TestWasmWithoutItsType: a server that does not send .wasm as
// application/wasm (WebAssembly.compileStreaming refuses that) still gets a
// working page: the loader downloads the module, then compiles it.
func TestWasmWithoutItsType(t *testing.T) {
	h, err := serve.New(suite.web)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(wasmAsOctetStream{next: h})
	defer srv.Close()
	p := openPage(t)
	p.open(srv.URL + "/")
	if ct, ok := p.header(srv.URL+"/papscope.wasm", "content-type"); !ok || ct != "application/octet-stream" {
		t.Fatalf("papscope.wasm came as %q (seen: %v), want application/octet-stream: the test server does not do its job", ct, ok)
	}
	checkBuild(t, eval[buildState](p, buildStateJS), "simd", "papscope.wasm", "buffer")
	s := suite.samples[0]
	ref := cliClassify(t, suite.weights, s.path)[filepath.Base(s.path)]
	r := p.classify(s.path)
	checkProbs(t, fmt.Sprintf("%s (module compiled from a buffer)", s.Name), r.Probs, ref.Probs, tolerance(s.path))
}
