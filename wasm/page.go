//go:build js && wasm

package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"syscall/js"

	"honnef.co/go/js/dom/v2"

	"papscope/internal/bridge"
	"papscope/internal/modelcard"
	"papscope/internal/results"
)

// weightsURL is the site's own weights, loaded at start.
const weightsURL = "papscope.safetensors"

// maxWeightsBytes bounds what a user's weights files may total: papscope's
// weights are about 1.6 MB as float32; anything far larger is refused unread.
const maxWeightsBytes = 256 << 20

// page is the user interface: its elements, the worker and what is on show.
type page struct {
	doc    js.Value
	global js.Value

	main    *conn         // the worker for single images, Grad-CAM and weights
	helpers []*conn       // more workers for batches, running the weights in use
	weights []weightsFile // the weights in use, to start batch workers with

	ready   chan struct{} // closed when a model is in use
	gallery chan struct{} // closed when the gallery is loaded (or failed to)
	work    sync.Mutex    // one job (image, batch, weights, heatmap request) at a time

	resultSeq, errorSeq, weightsSeq int
	cur                             *shown        // the single result in view, nil before the first
	rows                            []results.Row // the batch's images, failed ones included
	run                             results.Run   // what classified the batch: weights, input size, date
	samples                         []sample
	weightsName                     string
	card                            *modelcard.Card // the weights in use
	quiz                            *quiz           // the quiz under way, nil outside a quiz
	readyOnce                       sync.Once
}

// sample is one entry of samples/samples.json: a teaching case (see papscope site).
type sample struct {
	Name       string `json:"name"`  // the case's ID, in #case=ID links
	Class      string `json:"class"` // the expected class
	File       string `json:"file"`  // under samples/
	Note       string `json:"note,omitempty"`
	Difficulty string `json:"difficulty,omitempty"`
}

// shown is the single result in view.
type shown struct {
	name   string
	top    string
	ood    string                 // in, out or unavailable
	maps   map[string]*bridge.Map // Grad-CAM maps fetched so far, by class
	dw, dh int                    // size of the preview canvas
}

func runPage() {
	global := js.Global()
	p := &page{
		doc: global.Get("document"), global: global,
		ready:   make(chan struct{}),
		gallery: make(chan struct{}),
	}
	w := p.global.Get("papscopeWorker")
	if !w.Truthy() {
		p.fatal("papscope could not start its worker: the page was opened without loader.js")
		return
	}
	p.main = connect(w, func(msg string) { p.fatal("papscope could not start: " + msg) })
	p.wire()
	go p.loadGallery()
	go p.boot()
}

// el returns the element with id.
func (p *page) el(id string) *dom.BasicHTMLElement { return elem(p.doc.Call("getElementById", id)) }

// create returns a new element of tag.
func (p *page) create(tag string) *dom.BasicHTMLElement {
	return elem(p.doc.Call("createElement", tag))
}

// setHidden shows or hides an element.
func (p *page) setHidden(id string, hidden bool) { p.el(id).Underlying().Set("hidden", hidden) }

// setStatus sets the loading line.
func (p *page) setStatus(s string) { p.el("status").SetTextContent(s) }

// fatal reports that the model cannot be used.
func (p *page) fatal(msg string) {
	p.doc.Get("body").Get("dataset").Set("state", "error")
	p.setStatus(msg)
	p.setHidden("load-progress", true)
	p.showError(msg)
}

// progress shows how far the download of the weights is.
func (p *page) progress(got, total int) {
	wasm := p.global.Get("papscopeWasmBytes")
	code := ""
	if wasm.Type() == js.TypeNumber {
		code = fmt.Sprintf("model code %s ✓, ", megabytes(wasm.Int()))
	}
	bar := p.el("load-progress")
	if total > 0 && got <= total {
		bar.Underlying().Set("value", float64(got)/float64(total))
		p.setStatus(fmt.Sprintf("Loading %sweights %s of %s…", code, megabytes(got), megabytes(total)))
	} else {
		bar.RemoveAttribute("value")
		p.setStatus(fmt.Sprintf("Loading %sweights %s…", code, megabytes(got)))
	}
}

func megabytes(n int) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// boot downloads the site's weights, loads them in the worker, and then opens a #sample= link.
func (p *page) boot() {
	p.mark("papscope:go-started")
	buf, err := p.download(weightsURL)
	p.mark("papscope:weights-downloaded")
	if err != nil {
		p.fatal(fmt.Sprintf("papscope could not load its weights (%s): %v", weightsURL, err))
		return
	}
	p.work.Lock() // a user's weights chosen meanwhile load after these, and win
	resp := p.load([]string{weightsURL}, []js.Value{buf})
	if resp.Error != "" {
		p.work.Unlock()
		p.fatal("papscope could not load its weights: " + resp.Error)
		return
	}
	p.mark("papscope:model-loaded")
	p.showModel(resp, true)
	p.markReady()
	p.work.Unlock()
	<-p.gallery
	p.openHash()
}

// mark records a point of the start-up on the page's performance timeline
// (performance.mark): the benchmark reads them to break the cold start down.
func (p *page) mark(name string) { p.global.Get("performance").Call("mark", name) }

// markReady says the model is in use, once.
func (p *page) markReady() {
	p.readyOnce.Do(func() {
		p.setHidden("load-progress", true)
		p.setStatus("Ready")
		p.el("loading").Class().Add("done")
		p.doc.Get("body").Get("dataset").Set("state", "ready")
		close(p.ready)
	})
}

// download fetches url, showing progress, and returns its bytes as an ArrayBuffer.
// The site's weights come from the request loader.js started beside the
// model code's (papscopeWeights), taken once; anything else is fetched now.
func (p *page) download(url string) (js.Value, error) {
	req := p.global.Get("papscopeWeights")
	if url == weightsURL && req.Truthy() {
		p.global.Delete("papscopeWeights")
	} else {
		req = p.global.Call("fetch", url)
	}
	resp, err := await(req)
	if err != nil {
		return js.Value{}, err
	}
	if !resp.Get("ok").Bool() {
		return js.Value{}, fmt.Errorf("HTTP %d", resp.Get("status").Int())
	}
	total, _ := strconv.Atoi(resp.Get("headers").Call("get", "Content-Length").String())
	body := resp.Get("body")
	if !body.Truthy() {
		return await(resp.Call("arrayBuffer"))
	}
	reader := body.Call("getReader")
	var chunks []js.Value
	got := 0
	for {
		r, err := await(reader.Call("read"))
		if err != nil {
			return js.Value{}, err
		}
		if r.Get("done").Bool() {
			break
		}
		chunk := r.Get("value")
		chunks = append(chunks, chunk)
		got += chunk.Get("length").Int()
		p.progress(got, total)
	}
	all := p.global.Get("Uint8Array").New(got)
	off := 0
	for _, c := range chunks {
		all.Call("set", c, off)
		off += c.Get("length").Int()
	}
	return all.Get("buffer"), nil
}

// wire connects the controls.
func (p *page) wire() {
	listen(p.el("file-input").Underlying(), "change", func(ev *dom.BasicEvent) {
		input := ev.Underlying().Get("target")
		files := fileList(input.Get("files"))
		input.Set("value", "") // choosing the same file again fires change again
		p.takeFiles(files)
	})
	zone := p.el("drop-zone")
	for _, typ := range []string{"dragenter", "dragover"} {
		listen(zone.Underlying(), typ, func(ev *dom.BasicEvent) {
			ev.PreventDefault()
			zone.Class().Add("over")
		})
	}
	for _, typ := range []string{"dragleave", "drop"} {
		listen(zone.Underlying(), typ, func(*dom.BasicEvent) { zone.Class().Remove("over") })
	}
	// Drops anywhere on the page count, and never navigate away from it.
	listen(p.global, "dragover", func(ev *dom.BasicEvent) { ev.PreventDefault() })
	listen(p.global, "drop", func(ev *dom.BasicEvent) {
		ev.PreventDefault()
		if dt := ev.Underlying().Get("dataTransfer"); dt.Truthy() {
			p.takeFiles(fileList(dt.Get("files")))
		}
	})
	listen(p.doc, "paste", func(ev *dom.BasicEvent) {
		cd := ev.Underlying().Get("clipboardData")
		if !cd.Truthy() {
			return
		}
		files := fileList(cd.Get("files"))
		if len(files) == 0 {
			return
		}
		ev.PreventDefault()
		p.takeFiles(files)
	})
	listen(p.el("heatmap-toggle").Underlying(), "change", func(*dom.BasicEvent) { go p.updateHeatmap() })
	listen(p.el("heatmap-class").Underlying(), "change", func(*dom.BasicEvent) {
		if !p.el("heatmap-toggle").Underlying().Get("checked").Bool() {
			p.el("heatmap-toggle").Underlying().Set("checked", true)
		}
		go p.updateHeatmap()
	})
	listen(p.el("csv-export").Underlying(), "click", func(*dom.BasicEvent) { p.exportCSV() })
	listen(p.el("weights-input").Underlying(), "change", func(ev *dom.BasicEvent) {
		input := ev.Underlying().Get("target")
		files := fileList(input.Get("files"))
		input.Set("value", "")
		if len(files) > 0 {
			go p.loadWeights(files)
		}
	})
	listen(p.global, "hashchange", func(*dom.BasicEvent) { go p.openHash() })
	p.wireQuiz()
	online := func(*dom.BasicEvent) {
		p.setHidden("offline-notice", p.global.Get("navigator").Get("onLine").Bool())
	}
	listen(p.global, "online", online)
	listen(p.global, "offline", online)
	online(nil)
}

// takeFiles classifies one file in the result view, or several as a batch.
func (p *page) takeFiles(files []js.Value) {
	if len(files) > 0 {
		p.endQuiz()
	}
	switch len(files) {
	case 0:
	case 1:
		go p.classifyOne(files[0].Get("name").String(), files[0], false, nil)
	default:
		go p.classifyBatch(files)
	}
}

// loadGallery fetches samples/samples.json and lists the cases.
func (p *page) loadGallery() {
	defer close(p.gallery)
	resp, err := await(p.global.Call("fetch", "samples/samples.json"))
	if err == nil && !resp.Get("ok").Bool() {
		err = fmt.Errorf("HTTP %d", resp.Get("status").Int())
	}
	var text js.Value
	if err == nil {
		text, err = await(resp.Call("text"))
	}
	if err == nil {
		err = json.Unmarshal([]byte(text.String()), &p.samples)
	}
	list := p.el("gallery")
	if err != nil {
		list.SetTextContent("The examples could not be loaded: " + err.Error())
		return
	}
	if len(p.samples) == 0 {
		p.setHidden("gallery-hint", true)
		li := p.create("li")
		li.SetAttribute("id", "no-examples")
		li.Class().Add("empty")
		li.SetTextContent("This copy of papscope has no bundled examples: it was built without the example images (see the README, make site). Classify your own images above.")
		appendChild(list, li)
		return
	}
	for _, s := range p.samples {
		li := p.create("li")
		a := p.create("a")
		a.SetAttribute("href", "#case="+s.Name)
		a.SetAttribute("data-class", s.Class)
		a.SetAttribute("data-case", s.Name)
		a.SetAttribute("title", s.Name+": expected "+s.Class)
		img := p.create("img")
		img.SetAttribute("src", "samples/"+s.File)
		img.SetAttribute("alt", "")
		img.SetAttribute("loading", "lazy")
		img.SetAttribute("width", "96")
		img.SetAttribute("height", "72")
		appendChild(a, img)
		label := p.create("span")
		label.SetTextContent(s.Name)
		appendChild(a, label)
		expected := p.create("span")
		expected.Class().Add("expected")
		expected.SetTextContent("expected " + s.Class)
		appendChild(a, expected)
		name := s.Name
		listen(a.Underlying(), "click", func(*dom.BasicEvent) {
			// Clicking the link already in the address bar fires no hashchange: open it here.
			if p.global.Get("location").Get("hash").String() == "#case="+name {
				go p.openHash()
			}
		})
		appendChild(li, a)
		appendChild(list, li)
	}
}

// openHash opens what the address's fragment names: #case=ID (or the older
// #sample=ID) shows a case with its expected class and note; #case=ID&quiz
// quizzes on that case and #quiz on every case in a shuffled order.
func (p *page) openHash() {
	h := parseHash(p.global.Get("location").Get("hash").String())
	switch {
	case h.quiz && h.id == "":
		p.startQuiz(nil)
	case h.quiz:
		if s, ok := p.findCase(h.id); ok {
			p.startQuiz(&s)
		}
	case h.id != "":
		p.endQuiz()
		if s, ok := p.findCase(h.id); ok {
			p.openSample(s)
		}
	}
}

// unescape decodes the %XX escapes of s, or returns s as it is if one is
// malformed. It stands in for url.PathUnescape: net/url adds 29 KB to the
// gzipped papscope.wasm.
func unescape(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+3 > len(s) {
			return s
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return s
		}
		b = append(b, byte(v))
		i += 2
	}
	return string(b)
}

// openSample classifies a bundled case and shows its heatmap.
func (p *page) openSample(s sample) {
	resp, err := await(p.global.Call("fetch", "samples/"+s.File))
	if err == nil && !resp.Get("ok").Bool() {
		err = fmt.Errorf("HTTP %d", resp.Get("status").Int())
	}
	var blob js.Value
	if err == nil {
		blob, err = await(resp.Call("blob"))
	}
	if err != nil {
		p.showError(fmt.Sprintf("The case %s could not be loaded: %v", s.Name, err))
		return
	}
	p.classifyOne(s.Name, blob, true, &s)
}

// showError shows a message in #error, announced by screen readers.
func (p *page) showError(msg string) {
	e := p.el("error")
	e.SetTextContent(msg)
	p.setHidden("error", false)
	p.errorSeq++
	e.SetAttribute("data-seq", strconv.Itoa(p.errorSeq))
}

// clearError hides #error after a success.
func (p *page) clearError() {
	p.el("error").SetTextContent("")
	p.setHidden("error", true)
}
