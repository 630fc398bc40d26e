//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall/js"

	"honnef.co/go/js/dom/v2"

	"papscope/internal/bridge"
	"papscope/internal/imagehead"
	"papscope/internal/results"
)

// decoded is an image decoded by the browser: its bitmap and its full-size RGBA pixels.
type decoded struct {
	bitmap        js.Value // ImageBitmap, for the preview and thumbnails; close it when done
	pixels        js.Value // ArrayBuffer of width×height×4 non-premultiplied RGBA bytes
	width, height int
	format        string // as imagehead names it: "png", "jpeg", ...
}

// decode checks a file's header, then has the browser decode it at full size.
func (p *page) decode(blob js.Value) (decoded, error) {
	size := blob.Get("size").Int()
	var hdr imagehead.Header
	err := imagehead.ErrNeedMore
	for n := imagehead.PrefixBytes; errors.Is(err, imagehead.ErrNeedMore); n = size {
		var buf js.Value
		buf, err = await(blob.Call("slice", 0, n).Call("arrayBuffer"))
		if err != nil {
			return decoded{}, fmt.Errorf("the file could not be read: %w", err)
		}
		hdr, err = imagehead.Read(bytesOf(buf), int64(size))
	}
	if err != nil {
		return decoded{}, err
	}
	opts := map[string]any{"colorSpaceConversion": "none", "premultiplyAlpha": "none"}
	bitmap, err := await(p.global.Call("createImageBitmap", blob, opts))
	if err != nil {
		return decoded{}, fmt.Errorf("the browser could not decode this %s image (%d×%d): it is corrupt or truncated", strings.ToUpper(hdr.Format), hdr.Width, hdr.Height)
	}
	w, h := bitmap.Get("width").Int(), bitmap.Get("height").Int()
	if err := imagehead.CheckSize(hdr.Format, w, h); err != nil {
		bitmap.Call("close")
		return decoded{}, err
	}
	canvas := p.create("canvas").Underlying()
	canvas.Set("width", w)
	canvas.Set("height", h)
	ctx := canvas.Call("getContext", "2d", map[string]any{"willReadFrequently": true})
	ctx.Call("drawImage", bitmap, 0, 0)
	data := ctx.Call("getImageData", 0, 0, w, h).Get("data")
	canvas.Set("width", 0) // release the canvas's memory now
	return decoded{bitmap: bitmap, pixels: data.Get("buffer"), width: w, height: h, format: hdr.Format}, nil
}

// classifyOne classifies one image and shows it in the result view; withCAM
// turns the heatmap on; c is the teaching case it is, or nil.
func (p *page) classifyOne(name string, blob js.Value, withCAM bool, c *sample) {
	<-p.ready
	p.work.Lock()
	defer p.work.Unlock()
	d, err := p.decode(blob)
	if err != nil {
		p.showError(fmt.Sprintf("%s: %v. Try another image.", name, err))
		return
	}
	defer d.bitmap.Call("close")
	resp := p.main.call(bridge.Request{Kind: bridge.Classify, Name: name, Width: d.width, Height: d.height, CAM: true}, d.pixels)
	if resp.Error != "" {
		p.showError(fmt.Sprintf("%s could not be classified: %s", name, resp.Error))
		return
	}
	p.showResult(resp, d.bitmap, d.format, withCAM, c)
}

// classifyBatch classifies several images into the batch table, on a pool of
// workers (see batchWorkers): the page decodes the images one after another
// and hands each to the next free worker; rows appear in the files' order.
func (p *page) classifyBatch(files []js.Value) {
	<-p.ready
	p.work.Lock()
	defer p.work.Unlock()
	p.setHidden("batch", false)
	table := p.el("batch-table")
	table.RemoveAttribute("data-done")
	tbody := find(table, "tbody")
	tbody.SetTextContent("")
	p.rows = p.rows[:0]
	p.run = results.Run{Weights: p.weightsName, At: isoNow()}
	if p.card != nil {
		p.run.Input = fmt.Sprintf("%dx%d", p.card.InputWidth, p.card.InputHeight)
	}
	p.el("csv-export").Underlying().Set("disabled", true)
	workers := p.batchWorkers(len(files))
	table.SetAttribute("data-workers", strconv.Itoa(len(workers)))
	on := "on 1 worker"
	if len(workers) > 1 {
		on = fmt.Sprintf("on %d workers", len(workers))
	}
	p.el("batch-status").SetTextContent(fmt.Sprintf("Classifying %d images %s…", len(files), on))

	// An outcome is one file's result: a response and its thumbnail, or what went wrong.
	type outcome struct {
		resp  bridge.Response
		thumb *dom.BasicHTMLElement
		err   string
	}
	type job struct {
		i int
		d decoded
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Get("name").String()
	}
	outcomes := make([]outcome, len(files))
	jobs := make(chan job)
	finished := make(chan int, len(files))
	go func() {
		for i, f := range files {
			d, err := p.decode(f)
			if err != nil {
				outcomes[i].err = err.Error()
				finished <- i
				continue
			}
			jobs <- job{i, d}
		}
		close(jobs)
	}()
	perWorker := make([]int, len(workers))
	for wi, w := range workers {
		go func() {
			for j := range jobs {
				thumb := p.thumbnail(j.d.bitmap)
				j.d.bitmap.Call("close")
				resp := w.call(bridge.Request{Kind: bridge.Classify, Name: names[j.i], Width: j.d.width, Height: j.d.height}, j.d.pixels)
				outcomes[j.i] = outcome{resp: resp, thumb: thumb, err: resp.Error}
				perWorker[wi]++
				finished <- j.i
			}
		}()
	}

	// Rows in the files' order, each as soon as it and those before it are done.
	done := make([]bool, len(files))
	next, failed, flagged := 0, 0, 0
	for n := range files {
		done[<-finished] = true
		for ; next < len(files) && done[next]; next++ {
			o := outcomes[next]
			if o.err != "" {
				failed++
				p.rows = append(p.rows, results.Row{File: names[next], Error: o.err})
				p.batchError(tbody, names[next], o.err)
				continue
			}
			row := results.Row{File: names[next], Top: o.resp.Top, Probs: o.resp.Probs}
			if o.resp.OOD != nil {
				row.OOD = &results.OOD{Score: o.resp.OOD.Score, In: o.resp.OOD.In}
				if !o.resp.OOD.In {
					flagged++
				}
			}
			p.rows = append(p.rows, row)
			p.batchRow(tbody, row, o.thumb, files[next])
		}
		p.el("batch-status").SetTextContent(fmt.Sprintf("Classified %d of %d %s…", n+1, len(files), on))
	}
	counts := make([]string, len(perWorker))
	for i, c := range perWorker {
		counts[i] = strconv.Itoa(c)
	}
	table.SetAttribute("data-per-worker", strings.Join(counts, ","))
	status := fmt.Sprintf("%d images classified %s.", len(files)-failed, on)
	if flagged > 0 {
		status = fmt.Sprintf("⚠ %d of the %d images do not look like the fields the model was trained on: do not trust their classes. ", flagged, len(files)-failed) + status
	}
	if failed > 0 {
		status += fmt.Sprintf(" %d could not be read: see their rows.", failed)
	}
	bs := p.el("batch-status")
	bs.SetTextContent(status)
	bs.SetAttribute("data-flagged", strconv.Itoa(flagged))
	p.el("csv-export").Underlying().Set("disabled", len(p.rows) == 0)
	p.el("batch").Underlying().Call("scrollIntoView", map[string]any{"block": "start"})
	table.SetAttribute("data-done", fmt.Sprint(len(files)))
}

// exportCSV downloads the batch table as papscope-results.csv.
func (p *page) exportCSV() {
	var b strings.Builder
	if err := results.WriteCSV(&b, p.run, p.rows); err != nil {
		p.showError(err.Error())
		return
	}
	p.save(results.CSVName, b.String())
}

// save downloads text as a CSV file called name.
func (p *page) save(name, text string) {
	data := []byte(text)
	u8 := p.global.Get("Uint8Array").New(len(data))
	js.CopyBytesToJS(u8, data)
	blob := p.global.Get("Blob").New(jsArray(u8), map[string]any{"type": "text/csv;charset=utf-8"})
	url := p.global.Get("URL").Call("createObjectURL", blob)
	a := p.create("a")
	a.SetAttribute("href", url.String())
	a.SetAttribute("download", name)
	appendChild(elem(p.doc.Get("body")), a)
	a.Click()
	a.Remove()
	p.global.Call("setTimeout", js.FuncOf(func(js.Value, []js.Value) any {
		p.global.Get("URL").Call("revokeObjectURL", url)
		return nil
	}), 10000)
}

// loadWeights loads the user's weights files; on failure the model in use stays.
func (p *page) loadWeights(files []js.Value) {
	p.work.Lock()
	defer p.work.Unlock()
	status := p.el("weights-status")
	names := make([]string, len(files))
	total := 0
	for i, f := range files {
		names[i] = f.Get("name").String()
		total += f.Get("size").Int()
	}
	label := strings.Join(names, ", ")
	fail := func(msg string) {
		keep := "No model is in use."
		if p.weightsName != "" {
			keep = fmt.Sprintf("The previous weights (%s) are still in use.", p.weightsName)
		}
		status.SetTextContent(fmt.Sprintf("Could not load %s: %s. %s", label, msg, keep))
		status.SetAttribute("data-state", "error")
		p.weightsSeq++
		status.SetAttribute("data-seq", fmt.Sprint(p.weightsSeq))
	}
	if total > maxWeightsBytes {
		fail(fmt.Sprintf("%s is far larger than papscope's weights (about 1.6 MB); refused unread", megabytes(total)))
		return
	}
	status.SetTextContent("Loading " + label + "…")
	bufs := make([]js.Value, len(files))
	for i, f := range files {
		b, err := await(f.Call("arrayBuffer"))
		if err != nil {
			fail(fmt.Sprintf("%s could not be read: %v", names[i], err))
			return
		}
		bufs[i] = b
	}
	resp := p.load(names, bufs)
	if resp.Error != "" {
		fail(resp.Error)
		return
	}
	p.showModel(resp, false)
	status.SetTextContent(fmt.Sprintf("Loaded %s (input %d×%d). Classify an image to use them.", resp.Model.Name, resp.Input.Width, resp.Input.Height))
	status.SetAttribute("data-state", "ok")
	p.weightsSeq++
	status.SetAttribute("data-seq", fmt.Sprint(p.weightsSeq))
	p.markReady()
}
