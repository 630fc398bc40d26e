package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"papscope/internal/imagehead"
	"papscope/internal/results"
	"papscope/internal/serve"
	"papscope/nn"
	"papscope/safetensors"
	"papscope/synth"
)

// TestLoad: the page loads with no console error and no failed request, and
// reaches "ready".
func TestLoad(t *testing.T) {
	p := openPage(t)
	p.load("")
	// The service worker's install fetches what it caches: wait until it is
	// active however slow the machine, then give other late requests (icons)
	// a moment to fail if they will.
	if !eval[bool](p, `navigator.serviceWorker.ready.then(() => true)`) {
		t.Fatalf("the service worker did not become active")
	}
	time.Sleep(time.Second)
	_, errs, reqs, failed := p.snapshot()
	if len(errs) > 0 {
		t.Errorf("console errors while loading:\n%s", strings.Join(errs, "\n"))
	}
	if len(failed) > 0 {
		t.Errorf("failed requests while loading:\n%s", strings.Join(failed, "\n"))
	}
	if len(reqs) == 0 {
		t.Errorf("no request recorded: the network listener is not working")
	}
	if card := eval[string](p, `document.querySelector('#model-card')?.textContent.trim() ?? ''`); card == "" {
		t.Errorf("#model-card is missing or empty")
	}
	if name := eval[string](p, `document.querySelector('#weights-name')?.textContent.trim() ?? ''`); name == "" || name == "—" {
		t.Errorf("#weights-name = %q once ready, want the weights' name", name)
	}
	// The notice says what the shipped weights' metadata records about their data.
	data, err := os.ReadFile(suite.weights)
	if err != nil {
		t.Fatal(err)
	}
	w, err := nn.DecodeWeights(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{nn.RealData: "real Pap-smear fields", nn.SyntheticData: "synthetic images", "": "do not record"}[w.Meta().Data]
	if notice := eval[string](p, `document.querySelector('#demo-notice-detail')?.textContent ?? ''`); !strings.Contains(notice, want) {
		t.Errorf("notice %q for weights whose data is %q: want it to say %q", notice, w.Meta().Data, want)
	}
	// The site arrives with its security headers, the right types, and compressed.
	base := suite.srv.URL + "/"
	checks := []struct{ url, header, want string }{
		{base, "content-security-policy", serve.ContentSecurityPolicy},
		{base, "x-content-type-options", "nosniff"},
		{base + "papscope.wasm", "content-type", "application/wasm"},
		{base + "papscope.wasm", "content-encoding", "gzip"},
	}
	for _, c := range checks {
		got, ok := p.header(c.url, c.header)
		if !ok {
			t.Errorf("no response seen for %s", c.url)
		} else if got != c.want {
			t.Errorf("%s: %s: %q, want %q", c.url, c.header, got, c.want)
		}
	}
	for _, s := range suite.samples {
		sel := fmt.Sprintf(`#gallery a[href="#case=%s"]`, s.Name)
		if !eval[bool](p, fmt.Sprintf(`!!document.querySelector(%q)`, sel)) {
			t.Errorf("no gallery link %s", sel)
		}
	}
}

// TestGallery: every gallery case (a real field), given through the file
// input, gets probabilities that sum to 1 and agree with `papscope classify
// -json` on the same file (within the stated JPEG difference), with the same
// top class. Whether that class is the expected one is the weights' business,
// not the page's (the model card gives the weights' figures).
func TestGallery(t *testing.T) {
	var files []string
	for _, s := range suite.samples {
		files = append(files, s.path)
	}
	refs := cliClassify(t, suite.weights, files...)
	p := openPage(t)
	p.load("")
	for _, s := range suite.samples {
		r := p.classify(s.path)
		name := filepath.Base(s.path)
		if !topAgrees(r.Top, refs[name], tolerance(s.path)) {
			t.Errorf("%s (%s): top class %q, papscope classify says %q", s.Name, name, r.Top, refs[name].Top)
		}
		if r.Top != nn.Argmax(r.Probs[:]).String() {
			t.Errorf("%s: #top-class %q but the largest probability is %s's (%v)", s.Name, r.Top, nn.Argmax(r.Probs[:]).String(), r.Probs)
		}
		checkProbs(t, s.Name, r.Probs, refs[name].Probs, tolerance(s.path))
		if !slices.Contains([]string{"in", "out", "unavailable"}, r.OOD) {
			t.Errorf("%s: #ood[data-state] = %q, want in, out or unavailable", s.Name, r.OOD)
		}
		if r.Time == "" {
			t.Errorf("%s: #time-ms is empty", s.Name)
		}
	}
}

// TestDropAndPaste: an image dropped on #drop-zone, and one pasted, are
// classified like one chosen with the file picker.
func TestDropAndPaste(t *testing.T) {
	s := suite.samples[0]
	ref := cliClassify(t, suite.weights, s.path)[filepath.Base(s.path)]
	p := openPage(t)
	p.load("")
	for _, how := range []string{"drop", "paste"} {
		name := how + "-" + filepath.Base(s.path)
		res0, _ := p.seqs()
		// The page builds the File from the sample's bytes, as the browser would from a drag or the clipboard.
		p.do(how, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(async () => {
			const blob = await (await fetch(%q)).blob();
			const dt = new DataTransfer();
			dt.items.add(new File([blob], %q, {type: blob.type}));
			if (%q === 'drop') {
				const z = document.querySelector('#drop-zone');
				for (const type of ['dragenter', 'dragover', 'drop']) {
					z.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
				}
			} else {
				document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
			}
		})()`, "samples/"+s.File, name, how), chromedp.EvalAwaitPromise))
		p.waitFor("a result for the "+how, fmt.Sprintf(`+document.querySelector('#result').dataset.seq !== %d`, res0), 60*time.Second)
		r, _ := p.readResult()
		if r.Name != name {
			t.Errorf("%s: #result[data-name] = %q, want %q", how, r.Name, name)
		}
		checkProbs(t, how, r.Probs, ref.Probs, tolerance(s.path))
	}
}

// heatmap is a summary of what #heatmap-canvas shows.
type heatmap struct {
	Class    string `json:"class"`
	Width    int    `json:"w"`
	Height   int    `json:"h"`
	Hash     string `json:"hash"`
	Painted  int    `json:"painted"` // pixels with some alpha
	Spread   int    `json:"spread"`  // max - min of R+G+B over painted pixels
	Visible  bool   `json:"visible"`
	Checked  bool   `json:"checked"`
	Selected string `json:"selected"`
}

const heatmapJS = `(() => {
	const c = document.querySelector('#heatmap-canvas');
	if (!c) return null;
	const t = document.createElement('canvas');
	t.width = c.width; t.height = c.height;
	let painted = 0, lo = 765, hi = 0, h = 2166136261;
	if (c.width && c.height) {
		const g = t.getContext('2d');
		g.drawImage(c, 0, 0);
		const d = g.getImageData(0, 0, t.width, t.height).data;
		for (let i = 0; i < d.length; i += 4) {
			for (let k = 0; k < 4; k++) h = Math.imul(h ^ d[i + k], 16777619) >>> 0;
			if (d[i + 3] === 0) continue;
			painted++;
			const v = d[i] + d[i + 1] + d[i + 2];
			lo = Math.min(lo, v); hi = Math.max(hi, v);
		}
	}
	const r = c.getBoundingClientRect(), st = getComputedStyle(c);
	return {
		class: c.dataset.class ?? '', w: c.width, h: c.height, hash: h.toString(16), painted, spread: painted ? hi - lo : 0,
		visible: r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && st.display !== 'none' && c.closest('[hidden]') === null,
		checked: !!document.querySelector('#heatmap-toggle')?.checked,
		selected: document.querySelector('#heatmap-class')?.value ?? '',
	};
})()`

func (p *page) heatmap() heatmap {
	p.t.Helper()
	h := eval[*heatmap](p, heatmapJS)
	if h == nil {
		p.t.Fatalf("no #heatmap-canvas")
	}
	return *h
}

// checkDrawn checks that the heatmap is shown, drawn for class and not blank.
func checkDrawn(t *testing.T, what string, h heatmap, class string) {
	t.Helper()
	if h.Class != class {
		t.Errorf("%s: #heatmap-canvas[data-class] = %q, want %q", what, h.Class, class)
	}
	if !h.Visible {
		t.Errorf("%s: the heatmap canvas is not visible (toggle checked: %v)", what, h.Checked)
	}
	if h.Width == 0 || h.Height == 0 || h.Painted == 0 || h.Spread == 0 {
		t.Errorf("%s: the heatmap canvas is blank or flat: %dx%d, %d painted pixels, spread %d", what, h.Width, h.Height, h.Painted, h.Spread)
	}
}

// showHeatmap turns the heatmap toggle on (with a click, as a user would).
func (p *page) showHeatmap() {
	p.t.Helper()
	if !eval[bool](p, `document.querySelector('#heatmap-toggle').checked`) {
		p.do("click #heatmap-toggle", chromedp.Click(chromedp.CSS("#heatmap-toggle")))
	}
	p.waitFor("the heatmap toggle to be on", `document.querySelector('#heatmap-toggle').checked`, 60*time.Second)
}

// chooseHeatmapClass picks a class (or "top") in #heatmap-class and waits for the canvas to show it.
func (p *page) chooseHeatmapClass(value, want string) heatmap {
	p.t.Helper()
	p.do("choose heatmap class", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const s = document.querySelector('#heatmap-class');
		s.value = %q;
		s.dispatchEvent(new Event('input', {bubbles: true}));
		s.dispatchEvent(new Event('change', {bubbles: true}));
	})()`, value)))
	// The page sets data-class after painting the canvas, in the same task: no wait for the paint.
	p.waitFor("the heatmap of "+want, fmt.Sprintf(`document.querySelector('#heatmap-canvas').dataset.class === %q`, want), 60*time.Second)
	return p.heatmap()
}

// TestDemoLink: an older #sample=NAME link still opens the page, classifies
// that case, shows its expected class and its heatmap.
func TestDemoLink(t *testing.T) {
	s := suite.samples[len(suite.samples)-1]
	ref := cliClassify(t, suite.weights, s.path)[filepath.Base(s.path)]
	p := openPage(t)
	p.load("#sample=" + url.PathEscape(s.Name))
	p.waitFor("the sample's result", `!!document.querySelector('#result')?.dataset.name`, 120*time.Second)
	r, _ := p.readResult()
	if r.Name != s.Name && r.Name != filepath.Base(s.File) {
		t.Errorf("#result[data-name] = %q, want %q (or its file %q)", r.Name, s.Name, filepath.Base(s.File))
	}
	if got := eval[string](p, `document.querySelector('#case-expected')?.textContent ?? ''`); got != s.Class {
		t.Errorf("demo link %s: the expected class shown is %q, want %q", s.Name, got, s.Class)
	}
	checkProbs(t, s.Name, r.Probs, ref.Probs, tolerance(s.path))
	p.waitFor("the heatmap", `document.querySelector('#heatmap-canvas')?.dataset.class`, 60*time.Second)
	h := p.heatmap()
	if !h.Checked {
		t.Errorf("the demo link did not turn the heatmap toggle on")
	}
	checkDrawn(t, "demo link", h, r.Top)
}

// TestHeatmap: the heatmap is drawn, and differs between two classes of the
// same image and between images of two classes.
func TestHeatmap(t *testing.T) {
	a, b := sampleOf(t, "HSIL"), sampleOf(t, "NILM")
	p := openPage(t)
	p.load("")
	ra := p.classify(a.path)
	p.showHeatmap()
	top := p.chooseHeatmapClass("top", ra.Top)
	checkDrawn(t, a.Name+" top", top, ra.Top)

	other := "SCC"
	if ra.Top == other {
		other = "LSIL"
	}
	alt := p.chooseHeatmapClass(other, other)
	checkDrawn(t, a.Name+" "+other, alt, other)
	if alt.Hash == top.Hash {
		t.Errorf("%s: the heatmaps for %s and %s are identical", a.Name, ra.Top, other)
	}

	p.chooseHeatmapClass("top", ra.Top)
	rb := p.classify(b.path)
	p.waitFor("the heatmap of "+b.Name, fmt.Sprintf(`document.querySelector('#heatmap-canvas').dataset.class === %q`, rb.Top), 60*time.Second)
	hb := p.heatmap()
	checkDrawn(t, b.Name+" top", hb, rb.Top)
	if hb.Hash == top.Hash {
		t.Errorf("the heatmaps of %s (%s) and %s (%s) are identical", a.Name, ra.Top, b.Name, rb.Top)
	}
}

// synthImages writes n synthetic fields, cycling through the classes, into dir.
func synthImages(t *testing.T, dir string, n, w, h int) []string {
	t.Helper()
	var files []string
	for i := range n {
		c := nn.Class(i % nn.NumClasses)
		img := synth.Field(c, uint64(1000+i), synth.Options{Width: w, Height: h})
		files = append(files, writePNG(t, dir, fmt.Sprintf("field-%02d-%s.png", i, c), img))
	}
	return files
}

// TestBatch: eight files at once give eight rows, each with the CLI's
// probabilities, and a CSV whose values match the rows.
func TestBatch(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i, s := range suite.samples {
		if i == 4 {
			break
		}
		files = append(files, copyFile(t, s.path, dir, fmt.Sprintf("gallery-%d%s", i, filepath.Ext(s.path))))
	}
	files = append(files, synthImages(t, dir, 8-len(files), 400, 300)...)
	refs := cliClassify(t, suite.weights, files...)

	p := openPage(t)
	p.load("")
	b := p.batch(files...)
	if len(b.rows) != 8 {
		t.Fatalf("%d distinct files in the batch table, want 8", len(b.rows))
	}
	// The pool: a worker per core, at most 4, and every worker took images.
	cores := eval[int](p, `navigator.hardwareConcurrency`)
	if want := max(1, min(cores, 4)); len(b.perWorker) != want {
		t.Errorf("the batch ran on %d workers (%v images each), want %d for %d cores", len(b.perWorker), b.perWorker, want, cores)
	}
	for i, n := range b.perWorker {
		if n == 0 {
			t.Errorf("worker %d classified no image of the batch (%v)", i, b.perWorker)
		}
	}
	checkBatch(t, "batch", b, refs)
	byName := make(map[string][4]float32)
	for name, r := range b.rows {
		byName[name] = r.Probs
	}

	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior:         browser.SetDownloadBehaviorBehaviorAllow,
		BrowserContextID: chromedp.FromContext(p.ctx).BrowserContextID,
		DownloadPath:     downloads,
	}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	p.do("click #csv-export", chromedp.Click(chromedp.CSS("#csv-export")))
	csvPath := filepath.Join(downloads, "papscope-results.csv")
	var data []byte
	for deadline := time.Now().Add(120 * time.Second); ; {
		var err error
		if data, err = os.ReadFile(csvPath); err == nil && len(data) > 0 {
			break
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(downloads)
			t.Fatalf("no %s downloaded after clicking #csv-export (download folder holds %v)", filepath.Base(csvPath), entries)
		}
		time.Sleep(100 * time.Millisecond)
	}
	records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("papscope-results.csv: %v\n%s", err, data)
	}
	if len(records) != 9 || !slices.Equal(records[0], results.Header) {
		t.Fatalf("papscope-results.csv: want the header %s and 8 rows, got:\n%s", strings.Join(results.Header, ","), data)
	}
	for _, rec := range records[1:] {
		want, ok := byName[rec[0]]
		if !ok {
			t.Errorf("CSV row for %q, which is not in the table", rec[0])
			continue
		}
		probs, err := parseProbs(rec[2:6])
		if err != nil {
			t.Errorf("CSV row %s: %v", rec[0], err)
			continue
		}
		if d := maxDiff(probs, want); d > 1e-6 {
			t.Errorf("CSV row %s: %v, the table says %v", rec[0], probs, want)
		}
		if rec[1] != refs[rec[0]].Top {
			t.Errorf("CSV row %s: top_class %q, want %q", rec[0], rec[1], refs[rec[0]].Top)
		}
	}
}

// TestBatchPool: the batch runs on a worker per core, at most 4, and gives
// the same results whatever the number of workers.
func TestBatchPool(t *testing.T) {
	files := synthImages(t, t.TempDir(), 6, 320, 240)
	refs := cliClassify(t, suite.weights, files...)
	for _, tc := range []struct{ cores, workers int }{{1, 1}, {3, 3}, {16, 4}} {
		t.Run(fmt.Sprintf("%d cores", tc.cores), func(t *testing.T) {
			p := openPage(t)
			if _, err := chromedp.Call(p.ctx, emulation.SetHardwareConcurrencyOverride, emulation.SetHardwareConcurrencyOverrideParams{HardwareConcurrency: int64(tc.cores)}); err != nil {
				t.Fatalf("emulate %d cores: %v", tc.cores, err)
			}
			p.load("")
			b := p.batch(files...)
			if len(b.perWorker) != tc.workers {
				t.Errorf("%d workers (%v images each), want %d", len(b.perWorker), b.perWorker, tc.workers)
			}
			for i, n := range b.perWorker {
				if n == 0 {
					t.Errorf("worker %d classified no image (%v)", i, b.perWorker)
				}
			}
			checkBatch(t, "batch", b, refs)
		})
	}
}

// batchTable is what the batch table shows once a batch is done.
type batchTable struct {
	rows      map[string]reference // by file name: the row's probabilities and top class
	order     []string             // the file names, top to bottom
	perWorker []int                // how many images each worker classified
}

// batch drops files on the page as one batch and reads the table when it is
// done. The rows must be in the order the files were given, whichever worker
// finished first.
func (p *page) batch(files ...string) batchTable {
	p.t.Helper()
	p.do("clear the last batch's mark", chromedp.Evaluate[chromedp.Void](`document.querySelector('#batch-table')?.removeAttribute('data-done')`))
	p.drop(files...)
	// At least a second an image: a site built with every LBC field batches 2,246 (TestJPEGDifference).
	p.waitFor("the batch to finish", fmt.Sprintf(`document.querySelector('#batch-table')?.dataset.done === '%d'`, len(files)), time.Duration(max(300, len(files)))*time.Second)
	type row struct {
		Name  string `json:"name"`
		Probs string `json:"probs"`
		Top   string `json:"top"`
	}
	type table struct {
		Rows      []row  `json:"rows"`
		PerWorker string `json:"perWorker"`
	}
	got := eval[table](p, `({
		rows: [...document.querySelectorAll('#batch-table tbody tr[data-name]')].map(r => ({name: r.dataset.name, probs: r.dataset.probs ?? '', top: r.dataset.top ?? ''})),
		perWorker: document.querySelector('#batch-table').dataset.perWorker ?? '',
	})`)
	b := batchTable{rows: map[string]reference{}}
	for _, r := range got.Rows {
		probs, err := parseProbs(strings.Split(r.Probs, ","))
		if err != nil {
			p.t.Errorf("batch row %s: data-probs %q: %v", r.Name, r.Probs, err)
			continue
		}
		b.rows[r.Name] = reference{Probs: probs, Top: r.Top}
		b.order = append(b.order, r.Name)
	}
	for _, f := range strings.Split(got.PerWorker, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			p.t.Fatalf("#batch-table data-per-worker %q: %v", got.PerWorker, err)
		}
		b.perWorker = append(b.perWorker, n)
	}
	var want []string
	for _, f := range files {
		want = append(want, filepath.Base(f))
	}
	if !slices.Equal(b.order, want) {
		p.t.Errorf("batch rows in the order %v, want the files' order %v", b.order, want)
	}
	return b
}

// checkBatch compares a batch table with papscope classify's results for the same files.
func checkBatch(t *testing.T, what string, b batchTable, refs map[string]reference) {
	t.Helper()
	if len(b.rows) != len(refs) {
		t.Errorf("%s: %d rows %v, want %d", what, len(b.rows), b.order, len(refs))
	}
	for name, r := range b.rows {
		ref, ok := refs[name]
		if !ok {
			t.Errorf("%s: a row for %q, which was not given", what, name)
			continue
		}
		checkProbs(t, what+" row "+name, r.Probs, ref.Probs, tolerance(name))
		if !topAgrees(r.Top, ref, tolerance(name)) {
			t.Errorf("%s row %s: data-top %q, papscope classify says %q (%v)", what, name, r.Top, ref.Top, ref.Probs)
		}
	}
}

func parseProbs(fields []string) ([4]float32, error) {
	var out [4]float32
	if len(fields) != 4 {
		return out, fmt.Errorf("%d values, want 4", len(fields))
	}
	for i, f := range fields {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
		if err != nil {
			return out, err
		}
		out[i] = float32(v)
	}
	return out, nil
}

// serviceWorkerActiveJS resolves to "activated" once the site's service worker
// has installed (cached the site) and activated, or to what went wrong.
const serviceWorkerActiveJS = `Promise.race([
	navigator.serviceWorker.ready.then(r => new Promise(done => {
		const w = r.active;
		if (w.state === 'activated') return done('activated');
		w.addEventListener('statechange', () => { if (w.state === 'activated') done('activated'); });
	})),
	new Promise(done => setTimeout(() => done('no active service worker after 60s'), 60000)),
])`

// TestOffline: after a first visit, with the server gone and the network
// emulated offline, a reload still loads, says it is offline, and classifies.
func TestOffline(t *testing.T) {
	s := suite.samples[0]
	ref := cliClassify(t, suite.weights, s.path)[filepath.Base(s.path)]
	p := openPage(t)
	p.load("")
	if eval[bool](p, `!!document.querySelector('#offline-notice') && document.querySelector('#offline-notice').checkVisibility()`) {
		t.Errorf("#offline-notice is visible while online")
	}
	// The service worker is active once it has cached the site.
	if got := eval[string](p, serviceWorkerActiveJS); got != "activated" {
		t.Fatalf("service worker: %s", got)
	}

	restore := p.goOffline()
	defer restore()
	before := suite.rec.count()
	p.reload()
	p.waitFor("#offline-notice to show", `document.querySelector('#offline-notice')?.checkVisibility()`, 60*time.Second)
	r := p.classify(s.path)
	checkProbs(t, "offline "+s.Name, r.Probs, ref.Probs, tolerance(s.path))
	if reqs := suite.rec.since(before); len(reqs) > 0 {
		t.Logf("the server saw (and dropped) %d requests while offline: %v", len(reqs), reqs)
	}
}

// goOffline makes the server drop every connection and emulates the network
// offline for the page and its service worker; the function it returns
// brings the server back (the tab's emulation ends with its test).
func (p *page) goOffline() (restore func()) {
	p.t.Helper()
	suite.rec.offline.Store(true)
	restore = func() { suite.rec.offline.Store(false) }
	if _, err := chromedp.Call(p.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		restore()
		p.t.Fatalf("emulate offline: %v", err)
	}
	if _, err := chromedp.Call(p.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		EmulateOfflineServiceWorker: new(true),
		MatchedNetworkConditions:    []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
	}); err != nil {
		restore()
		p.t.Fatalf("emulate offline: %v", err)
	}
	return restore
}

// reload reloads the page and waits until it is ready.
func (p *page) reload() {
	p.t.Helper()
	p.do("reload", chromedp.Reload())
	p.waitReady()
}

// TestPrivacy: classifying makes no request at all, and over the whole
// session no request leaves the page's origin.
func TestPrivacy(t *testing.T) {
	dir := t.TempDir()
	img := synthImages(t, dir, 1, 640, 480)[0]
	p := openPage(t)
	p.load("")
	if got := eval[string](p, serviceWorkerActiveJS); got != "activated" {
		t.Fatalf("service worker: %s", got)
	}
	_, _, reqs0, _ := p.snapshot()
	server0 := suite.rec.count()
	p.classify(img)
	p.classify(suite.samples[0].path)
	_, _, reqs1, _ := p.snapshot()
	for _, r := range reqs1[len(reqs0):] {
		if !strings.HasPrefix(r.url, "blob:") && !strings.HasPrefix(r.url, "data:") {
			t.Errorf("request during classification: %s %s", r.method, r.url)
		}
	}
	if got := suite.rec.since(server0); len(got) > 0 {
		t.Errorf("the server got requests during classification: %v", got)
	}

	origin := suite.srv.URL
	for _, r := range reqs1 {
		u, err := url.Parse(r.url)
		if err != nil {
			t.Errorf("request to unparsable URL %q", r.url)
			continue
		}
		switch u.Scheme {
		case "blob", "data":
			continue
		}
		if u.Scheme+"://"+u.Host != origin {
			t.Errorf("request leaves the origin %s: %s %s", origin, r.method, r.url)
		}
		if r.method != "GET" && r.method != "HEAD" {
			t.Errorf("%s request (the page only ever needs GET): %s", r.method, r.url)
		}
	}

	// The Content-Security-Policy stops the page, the model's worker and the
	// service worker from reaching another origin. (The server's log above
	// covers every same-origin request, from whichever context.)
	const probe = `new Promise(done => {
		self.addEventListener('securitypolicyviolation', e => done('blocked: ' + e.effectiveDirective), {once: true});
		fetch('http://192.0.2.1/collect', {method: 'POST', body: 'x'}).then(() => done('sent'), () => {});
		setTimeout(() => done('no violation reported in 5s'), 5000);
	})`
	got := map[string]string{"page": eval[string](p, probe)}
	inWorkers, err := p.evalInWorkers(probe)
	if err != nil {
		t.Errorf("probe the workers: %v", err)
	}
	for k, v := range inWorkers {
		got[k] = v
	}
	if len(got) < 3 {
		t.Errorf("probed %v; want the page, the model's worker and the service worker", got)
	}
	for where, v := range got {
		if v != "blocked: connect-src" {
			t.Errorf("%s: a fetch to another origin: %s, want blocked by connect-src", where, v)
		}
	}
}

// TestResponsive: while a batch is classified, the page's main thread does no
// heavy work: the model runs in the workers. The page runs weights made for
// 320x320 inputs, so that each image costs the model hundreds of milliseconds
// of CPU: run on the main thread, that would freeze the page for as long.
//
// The measure is CPU time, not wall time, so that a loaded machine (CI, other
// jobs) does not change it: the renderer's own counters (DevTools'
// Performance.getMetrics) give the CPU time of the page's main thread
// (ThreadTime) and of its whole renderer process (ProcessTime: the main
// thread, the workers, Chromium's helper threads). A thread waiting for a core
// is not charged, so preemption, which stretches the gaps between animation
// frames and the long tasks, does not count. Over the batch, the main thread
// does the page's share (reading each file, decoding it, drawing the rows:
// about a quarter of the workers' CPU here) and must stay under half of what
// the rest of the renderer spends: had the main thread classified, it would
// hold the model's CPU and the workers next to none. The Long Tasks API's
// entries (main-thread tasks over 50 ms, in wall time, stretched by
// preemption) are logged, to show where a failure came from.
func TestResponsive(t *testing.T) {
	dir := t.TempDir()
	slow := filepath.Join(dir, "slow-320.safetensors")
	writeWithInput(t, slow, 320)
	big := synthImages(t, dir, 1, 1600, 1200)[0]
	files := []string{big}
	for i := 1; i < 6; i++ {
		files = append(files, copyFile(t, big, dir, fmt.Sprintf("copy-%d.png", i)))
	}
	p := openPage(t)
	p.load("")
	if st := p.loadWeights(slow); st.State != "ok" {
		t.Fatalf("loading %s: #weights-status %q: %q", filepath.Base(slow), st.State, st.Text)
	}
	p.classify(big) // the workers are started and warm: the batch measures classification alone
	p.do("observe long tasks", chromedp.Evaluate[chromedp.Void](`(() => {
		window.__longTasks = [];
		new PerformanceObserver(l => {
			for (const e of l.getEntries()) {
				const a = e.attribution?.[0];
				window.__longTasks.push({ms: e.duration, at: a ? a.containerType + ' ' + (a.containerSrc || a.containerName || a.name) : e.name});
			}
		}).observe({type: 'longtask'});
	})()`))
	before := p.cpuTimes()
	p.drop(files...)
	p.waitFor("the batch to finish", fmt.Sprintf(`document.querySelector('#batch-table')?.dataset.done === '%d'`, len(files)), 300*time.Second)
	after := p.cpuTimes()
	type longTask struct {
		Ms float64 `json:"ms"`
		At string  `json:"at"`
	}
	long := eval[[]longTask](p, `window.__longTasks`)
	mainCPU := after.thread - before.thread
	workersCPU := (after.process - before.process) - mainCPU
	t.Logf("classifying %d images: the main thread used %.0f ms of CPU, the rest of the renderer (the workers) %.0f ms; %d long tasks on the main thread %v",
		len(files), mainCPU, workersCPU, len(long), long)
	if mainCPU > workersCPU/2 {
		t.Errorf("the main thread used %.0f ms of CPU while %d images were classified, the rest of the renderer %.0f ms: want under half as much: the main thread does the model's work", mainCPU, len(files), workersCPU)
	}
	// 320x320 weights cost the model well over 50 ms of CPU an image, wherever it runs.
	if total := mainCPU + workersCPU; total < 50*float64(len(files)) {
		t.Errorf("the renderer used %.0f ms of CPU for %d images: too little to tell classifying from the page's own work", total, len(files))
	}
}

// cpuTimes are a renderer's CPU times, in milliseconds.
type cpuTimes struct {
	thread  float64 // the page's main thread
	process float64 // the whole renderer process: the main thread, the workers, helper threads
}

// cpuTimes reads the CPU times of the page's renderer from DevTools'
// Performance domain.
func (p *page) cpuTimes() cpuTimes {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	m, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (map[string]float64, error) {
		if _, err := cdp.Call(ctx, t, performance.Enable, performance.EnableParams{}); err != nil {
			return nil, fmt.Errorf("Performance.enable: %w", err)
		}
		r, err := cdp.Call(ctx, t, performance.GetMetrics, cdp.Empty{})
		if err != nil {
			return nil, fmt.Errorf("Performance.getMetrics: %w", err)
		}
		m := make(map[string]float64, len(r.Metrics))
		for _, x := range r.Metrics {
			m[x.Name] = x.Value
		}
		return m, nil
	})
	if err != nil {
		p.t.Fatalf("read the renderer's CPU times: %v", err)
	}
	thread, ok1 := m["ThreadTime"]
	process, ok2 := m["ProcessTime"]
	if !ok1 || !ok2 {
		p.t.Fatalf("Performance.getMetrics has no ThreadTime or ProcessTime: %v", m)
	}
	return cpuTimes{thread: thread * 1000, process: process * 1000}
}

// TestBadInput: a text file named .png, a truncated JPEG and an empty file
// each show an error, and the next good image still classifies.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	var jpg bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := range 240 {
		for x := range 320 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	if err := jpeg.Encode(&jpg, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	var huge bytes.Buffer // a PNG whose header claims one pixel more than the admission policy's limit
	if err := png.Encode(&huge, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	ihdr := huge.Bytes()[12:29] // the IHDR chunk's type and data, after the signature and its length
	binary.BigEndian.PutUint32(ihdr[4:], imagehead.MaxPixels/1000+1)
	binary.BigEndian.PutUint32(ihdr[8:], 1000)
	binary.BigEndian.PutUint32(huge.Bytes()[29:], crc32.ChecksumIEEE(ihdr))
	bad := map[string][]byte{
		"notes.png":     []byte("This is a text file, not a PNG image.\n"),
		"truncated.jpg": jpg.Bytes()[:jpg.Len()/3],
		"empty.png":     nil,
		"huge.png":      huge.Bytes(),
	}
	wantMsg := map[string]string{"huge.png": fmt.Sprintf("at most %d megapixels", imagehead.MaxPixels/1_000_000)}
	good := suite.samples[0]
	ref := cliClassify(t, suite.weights, good.path)[filepath.Base(good.path)]

	p := openPage(t)
	p.load("")
	for _, name := range []string{"notes.png", "truncated.jpg", "empty.png", "huge.png"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, bad[name], 0o644); err != nil {
			t.Fatal(err)
		}
		res0, err0 := p.seqs()
		p.drop(path)
		p.waitFor("an error for "+name, fmt.Sprintf(`+(document.querySelector('#error')?.dataset.seq ?? -1) !== %d`, err0), 60*time.Second)
		msg := eval[string](p, `(() => { const e = document.querySelector('#error'); return e.checkVisibility() ? e.textContent.trim() : ''; })()`)
		if msg == "" {
			t.Errorf("%s: #error is not shown, or says nothing", name)
		}
		if want := wantMsg[name]; !strings.Contains(msg, want) {
			t.Errorf("%s: #error says %q, want it to contain %q", name, msg, want)
		}
		if role := eval[string](p, `document.querySelector('#error').getAttribute('role') ?? ''`); role != "alert" {
			t.Errorf("#error has role %q, want alert", role)
		}
		if res, _ := p.seqs(); res != res0 {
			t.Errorf("%s: #result[data-seq] moved from %d to %d for a bad file", name, res0, res)
		}
		t.Logf("%s: %q", name, msg)
	}
	r := p.classify(good.path)
	checkProbs(t, "after bad input", r.Probs, ref.Probs, tolerance(good.path))
	if eval[bool](p, `document.querySelector('#error').checkVisibility()`) {
		t.Errorf("#error still shown after a good image")
	}
}

// weightsStatus reads #weights-status.
type weightsStatus struct {
	State string `json:"state"`
	Seq   string `json:"seq"`
	Text  string `json:"text"`
	Name  string `json:"name"`
}

const weightsJS = `(() => { const s = document.querySelector('#weights-status');
	return {state: s?.dataset.state ?? '', seq: s?.dataset.seq ?? '', text: s?.textContent.trim() ?? '',
		name: document.querySelector('#weights-name')?.textContent.trim() ?? ''}; })()`

// loadWeights gives files to #weights-input and waits for #weights-status to change.
func (p *page) loadWeights(files ...string) weightsStatus {
	p.t.Helper()
	before := eval[weightsStatus](p, weightsJS)
	p.do("set #weights-input", chromedp.SetUploadFiles(chromedp.CSS("#weights-input"), absPaths(p.t, files)))
	p.waitFor("#weights-status after loading weights", fmt.Sprintf(`(document.querySelector('#weights-status')?.dataset.seq ?? '') !== %q`, before.Seq), 60*time.Second)
	return eval[weightsStatus](p, weightsJS)
}

// TestBadWeights: a corrupt file and a well-formed file for another
// architecture are refused with a message, and the model in use still gives
// the same answer.
func TestBadWeights(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.safetensors")
	if err := os.WriteFile(corrupt, []byte("\x10\x00\x00\x00\x00\x00\x00\x00{not json at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	mismatched := filepath.Join(dir, "mismatched.safetensors")
	writeMismatched(t, mismatched)

	s := suite.samples[0]
	imgs := synthImages(t, dir, 3, 320, 240)
	refs := cliClassify(t, suite.weights, imgs...)
	p := openPage(t)
	p.load("")
	first := p.classify(s.path)
	checkBatch(t, "batch before", p.batch(imgs...), refs)
	name0 := eval[weightsStatus](p, weightsJS).Name
	for _, f := range []string{corrupt, mismatched} {
		st := p.loadWeights(f)
		if st.State != "error" || st.Text == "" {
			t.Errorf("%s: #weights-status state %q, text %q; want an error with a message", filepath.Base(f), st.State, st.Text)
		}
		if st.Name != name0 {
			t.Errorf("%s: #weights-name changed from %q to %q", filepath.Base(f), name0, st.Name)
		}
		t.Logf("%s: %q", filepath.Base(f), st.Text)
	}
	again := p.classify(copyFile(t, s.path, dir, "again"+filepath.Ext(s.path)))
	if again.Probs != first.Probs {
		t.Errorf("after refused weights: probabilities %v, before %v", again.Probs, first.Probs)
	}
	checkBatch(t, "batch after refused weights", p.batch(imgs...), refs)
}

// writeMismatched writes the shipped weights with the last layer cut to three
// classes: a valid safetensors file for another architecture.
func writeMismatched(t *testing.T, path string) {
	t.Helper()
	writeShippedEdited(t, path, func(f *safetensors.File) {
		k, ok := f.Tensor("dense_1/kernel")
		if !ok {
			t.Fatalf("%s has no dense_1/kernel", suite.weights)
		}
		vals, err := k.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		in := k.Shape[0]
		cut := make([]float32, 0, in*3)
		for i := range in {
			cut = append(cut, vals[i*4:i*4+3]...)
		}
		nk, err := safetensors.F32("dense_1/kernel", []int{in, 3}, cut)
		if err != nil {
			t.Fatal(err)
		}
		*k = nk
	})
}

// writeWithInput writes the shipped weights, declared for size x size inputs.
func writeWithInput(t *testing.T, path string, size int) {
	t.Helper()
	writeShippedEdited(t, path, func(f *safetensors.File) {
		f.Metadata["input_shape"] = fmt.Sprintf("[%d,%d,3]", size, size)
	})
}

// writeShippedEdited writes the shipped weights to path after edit changes them.
func writeShippedEdited(t *testing.T, path string, edit func(*safetensors.File)) {
	t.Helper()
	data, err := os.ReadFile(suite.weights)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Decode(data, safetensors.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	edit(f)
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tfjsFixture is a TF.js layers model (model.json and one shard) of the network.
const tfjsFixture = "../nn/testdata/tfjs/seed7_160x120"

// TestUserWeights: a TF.js model.json with its shard, loaded through the
// page, gives the same probabilities as `papscope import` then `classify`.
func TestUserWeights(t *testing.T) {
	dir := t.TempDir()
	imported := filepath.Join(dir, "imported.safetensors")
	if out, err := runCLI("import", "-format", "tfjs", "-o", imported, filepath.Join(tfjsFixture, "model.json")); err != nil {
		t.Fatalf("papscope import: %v\n%s", err, out)
	}
	imgs := synthImages(t, dir, 3, 320, 240)
	img := imgs[0]
	s := suite.samples[0]
	refs := cliClassify(t, imported, img, s.path)
	batchRefs := cliClassify(t, imported, imgs...)

	p := openPage(t)
	p.load("")
	before := p.classify(s.path)
	// A batch first, so that the batch workers are running the shipped weights
	// when the new ones arrive: they must not classify with those any more.
	checkBatch(t, "batch with the shipped weights", p.batch(imgs...), cliClassify(t, suite.weights, imgs...))
	name0 := eval[weightsStatus](p, weightsJS).Name
	st := p.loadWeights(filepath.Join(tfjsFixture, "model.json"), filepath.Join(tfjsFixture, "group1-shard1of1.bin"))
	if st.State != "ok" {
		t.Fatalf("loading the TF.js model: #weights-status %q: %q", st.State, st.Text)
	}
	if st.Name == name0 {
		t.Errorf("#weights-name still %q after loading other weights", st.Name)
	}
	for _, f := range []string{img, s.path} {
		r := p.classify(f)
		checkProbs(t, "user weights "+filepath.Base(f), r.Probs, refs[filepath.Base(f)].Probs, tolerance(f))
		if f == s.path && r.Probs == before.Probs {
			t.Errorf("the probabilities did not change with the new weights: %v", r.Probs)
		}
	}
	checkBatch(t, "batch with the user's weights", p.batch(imgs...), batchRefs)
}

// runCLI runs the reference CLI and returns its combined output.
func runCLI(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return execCommand(ctx, suite.cli, args...).CombinedOutput()
}
