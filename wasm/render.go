//go:build js && wasm

package main

import (
	"fmt"
	"slices"
	"strconv"
	"syscall/js"

	"honnef.co/go/js/dom/v2"

	"papscope/internal/bridge"
	"papscope/internal/heatmap"
	"papscope/internal/results"
	"papscope/nn"
)

// Display limits of the preview and of batch thumbnails, in canvas pixels.
const (
	previewMaxWidth  = 720
	previewMaxHeight = 540
	thumbHeight      = 48
)

// jpegNote says what differs for JPEG between the page and papscope classify:
// the browser decodes JPEG here (Go's decoder would push papscope.wasm past
// its size budget), and its decoder rounds differently from Go's. The bound
// is what e2e's TestJPEGDifference allows; the README gives the measurement.
const jpegNote = " The browser decoded this JPEG, not papscope classify's decoder: the probabilities may differ from the CLI's by up to 0.02 (typically 0.0004), and on 2 of 2,246 real fields the top class differed. A PNG gives the CLI's numbers exactly."

// heatmapOpacity is the overlay's opacity where the map is 1.
const heatmapOpacity = 0.6

// fit scales w×h down to fit maxW×maxH, keeping the aspect ratio.
func fit(w, h, maxW, maxH int) (int, int) {
	s := min(1, float64(maxW)/float64(w), float64(maxH)/float64(h))
	return max(1, int(float64(w)*s+0.5)), max(1, int(float64(h)*s+0.5))
}

// showResult shows a single classification: preview, bars, top class, time,
// OOD and heatmap, and for a teaching case c its expected class and note.
// The verdict is scrolled into view.
func (p *page) showResult(resp bridge.Response, bitmap js.Value, format string, withCAM bool, c *sample) {
	dw, dh := fit(resp.Width, resp.Height, previewMaxWidth, previewMaxHeight)
	preview := p.el("preview")
	preview.Underlying().Set("width", dw)
	preview.Underlying().Set("height", dh)
	ctx := preview.Underlying().Call("getContext", "2d")
	ctx.Set("imageSmoothingQuality", "high")
	ctx.Call("drawImage", bitmap, 0, 0, dw, dh)
	preview.SetAttribute("aria-label", "The image classified: "+resp.Name)

	p.setHidden("result-placeholder", true)
	p.setHidden("result-body", false)
	result := p.el("result")
	result.SetAttribute("data-name", resp.Name)
	p.el("result-name").SetTextContent(resp.Name + ":")
	for i, c := range nn.ClassNames() {
		row := p.el("prob-" + c)
		prob := resp.Probs[i]
		row.SetAttribute("data-prob", results.FormatProb(prob))
		find(row, ".fill").Underlying().Get("style").Set("width", fmt.Sprintf("%.2f%%", 100*prob))
		find(row, ".pct").SetTextContent(results.Percent(prob))
		if c == resp.Top {
			row.Class().Add("top")
		} else {
			row.Class().Remove("top")
		}
	}
	p.el("top-class").SetTextContent(resp.Top)
	p.el("top-prob").SetTextContent(results.Percent(resp.Probs[bridge.ClassIndex(resp.Top)]))
	t := p.el("time-ms")
	t.SetTextContent(results.Millis(resp.Ms))
	t.SetAttribute("data-ms", strconv.FormatFloat(resp.Ms, 'f', 3, 64))
	ood := p.el("ood")
	state := "unavailable"
	switch {
	case resp.OOD == nil:
		ood.SetTextContent("These weights carry no out-of-distribution statistics: papscope cannot tell whether this image resembles the fields they were trained on.")
	case resp.OOD.In:
		state = "in"
		ood.SetTextContent(fmt.Sprintf("The out-of-distribution check passed (score %.2f, threshold %.2f): the image resembles the fields the model was trained on. That does not make its class right.", resp.OOD.Score, resp.OOD.Threshold))
	default:
		state = "out"
		ood.SetTextContent(fmt.Sprintf("⚠ Do not trust this result: the image does not look like the fields the model was trained on (out-of-distribution score %.2f, above the threshold %.2f). The probabilities below are shown greyed for what they are worth.", resp.OOD.Score, resp.OOD.Threshold))
	}
	ood.SetAttribute("data-state", state)
	result.SetAttribute("data-ood", state)
	note := p.inputNote(resp.Width, resp.Height)
	if format == "jpeg" {
		note += jpegNote
	}
	p.el("input-note").SetTextContent(note)
	p.showCase(c, resp)

	p.cur = &shown{name: resp.Name, top: resp.Top, ood: state, maps: map[string]*bridge.Map{}, dw: dw, dh: dh}
	if resp.CAM != nil {
		p.cur.maps[resp.CAM.Class] = resp.CAM
	}
	if withCAM {
		p.el("heatmap-toggle").Underlying().Set("checked", true)
		p.el("heatmap-class").Underlying().Set("value", "top")
	}
	p.drawHeatmap()
	links := p.doc.Call("querySelectorAll", "#gallery a")
	for i := range links.Length() {
		a := elem(links.Index(i))
		a.SetAttribute("aria-current", strconv.FormatBool(c != nil && a.GetAttribute("data-case") == c.Name))
	}
	p.clearError()
	// The verdict where the eye is: the result panel's top at the top of the
	// window when it is not already in full view (below the inputs on a phone).
	if r := result.Underlying().Call("getBoundingClientRect"); r.Get("top").Float() < 0 || r.Get("bottom").Float() > p.global.Get("innerHeight").Float() {
		result.Underlying().Call("scrollIntoView", map[string]any{"block": "start"})
	}
	p.resultSeq++
	result.SetAttribute("data-seq", strconv.Itoa(p.resultSeq)) // last: tests wait for it
}

// inputNote says how the image was brought to the network's input size:
// centre-cropped if the weights crop, resized, and squeezed when its aspect
// differs from the input's.
func (p *page) inputNote(w, h int) string {
	c := p.card
	if c == nil || c.InputWidth <= 0 || c.InputHeight <= 0 {
		return ""
	}
	note := fmt.Sprintf("The model saw this %d×%d image at %d×%d pixels", w, h, c.InputWidth, c.InputHeight)
	if c.Crop > 0 && c.Crop < 1 {
		note = fmt.Sprintf("The model saw the central %.0f%% of each side of this %d×%d image, at %d×%d pixels", 100*c.Crop, w, h, c.InputWidth, c.InputHeight)
		w, h = int(float64(w)*c.Crop+0.5), int(float64(h)*c.Crop+0.5)
	}
	src, dst := float64(w)/float64(h), float64(c.InputWidth)/float64(c.InputHeight)
	if d := src/dst - 1; d > 0.02 || d < -0.02 {
		note += fmt.Sprintf(", squeezed from the aspect %s to the weights' %s: shapes look %s to it than here", aspect(w, h), aspect(c.InputWidth, c.InputHeight), map[bool]string{true: "narrower", false: "flatter"}[src > dst])
	}
	return note + "."
}

// aspect writes w:h in lowest terms when small, or as a ratio.
func aspect(w, h int) string {
	a, b := w, h
	for b != 0 {
		a, b = b, a%b
	}
	if w/a <= 32 && h/a <= 32 {
		return fmt.Sprintf("%d:%d", w/a, h/a)
	}
	return fmt.Sprintf("%.2f:1", float64(w)/float64(h))
}

// heatmapClass returns the class the heatmap controls ask for.
func (p *page) heatmapClass() string {
	c := p.el("heatmap-class").Underlying().Get("value").String()
	if c == "top" || bridge.ClassIndex(c) < 0 {
		return p.cur.top
	}
	return c
}

// updateHeatmap fetches the map the controls ask for, if needed, and draws it.
func (p *page) updateHeatmap() {
	p.work.Lock()
	defer p.work.Unlock()
	if p.cur == nil {
		return
	}
	if on := p.el("heatmap-toggle").Underlying().Get("checked").Bool(); on {
		class := p.heatmapClass()
		if p.cur.maps[class] == nil {
			resp := p.main.call(bridge.Request{Kind: bridge.GradCAM, Class: class})
			if resp.Error != "" {
				p.showError("The heatmap could not be computed: " + resp.Error)
				return
			}
			p.cur.maps[class] = resp.CAM
		}
	}
	p.drawHeatmap()
}

// drawHeatmap paints the overlay for the controls' class if its map is at hand, or hides it.
func (p *page) drawHeatmap() {
	canvas := p.el("heatmap-canvas")
	on := p.el("heatmap-toggle").Underlying().Get("checked").Bool()
	if p.cur == nil || !on {
		p.setHidden("heatmap-canvas", true)
		p.setHidden("heatmap-note", true)
		return
	}
	class := p.heatmapClass()
	m := p.cur.maps[class]
	if m == nil || len(m.Values) == 0 {
		p.setHidden("heatmap-canvas", true)
		p.setHidden("heatmap-note", true)
		return
	}
	dw, dh := p.cur.dw, p.cur.dh
	pix := make([]byte, dw*dh*4)
	if err := heatmap.Paint(pix, dw, dh, m.Values, m.Width, m.Height, heatmapOpacity); err != nil {
		p.showError(err.Error())
		return
	}
	c := canvas.Underlying()
	c.Set("width", dw)
	c.Set("height", dh)
	u8 := p.global.Get("Uint8ClampedArray").New(len(pix))
	js.CopyBytesToJS(u8, pix)
	img := p.global.Get("ImageData").New(u8, dw, dh)
	c.Call("getContext", "2d").Call("putImageData", img, 0, 0)
	canvas.SetAttribute("data-class", class)
	p.setHidden("heatmap-canvas", false)
	note := p.el("heatmap-note")
	if slices.Max(m.Values) > 0 {
		note.SetTextContent(fmt.Sprintf("Warm colours mark the regions that raised the %s score most.", class))
	} else {
		note.SetTextContent(fmt.Sprintf("No region of this image raised the %s score: the heatmap is empty.", class))
	}
	p.setHidden("heatmap-note", false)
}

// thumbnail returns a small canvas of bitmap for the batch table.
func (p *page) thumbnail(bitmap js.Value) *dom.BasicHTMLElement {
	w, h := fit(bitmap.Get("width").Int(), bitmap.Get("height").Int(), 4*thumbHeight, thumbHeight)
	c := p.create("canvas")
	c.SetAttribute("width", strconv.Itoa(w))
	c.SetAttribute("height", strconv.Itoa(h))
	c.SetAttribute("aria-hidden", "true")
	c.Underlying().Call("getContext", "2d").Call("drawImage", bitmap, 0, 0, w, h)
	return c
}

// batchRow appends a classified image to the batch table; its name is a
// button that shows the image in the result view, with its heatmap.
func (p *page) batchRow(tbody *dom.BasicHTMLElement, r results.Row, thumb *dom.BasicHTMLElement, file js.Value) {
	tr := p.create("tr")
	tr.SetAttribute("data-name", r.File)
	tr.SetAttribute("data-probs", results.FormatProbs(r.Probs))
	tr.SetAttribute("data-top", r.Top)
	td := p.create("td")
	appendChild(td, thumb)
	appendChild(tr, td)
	th := p.create("th")
	th.SetAttribute("scope", "row")
	view := p.create("button")
	view.SetAttribute("type", "button")
	view.SetAttribute("class", "link")
	view.SetAttribute("title", "Show "+r.File+" in the result view")
	view.SetTextContent(r.File)
	listen(view.Underlying(), "click", func(*dom.BasicEvent) { go p.classifyOne(r.File, file, true, nil) })
	appendChild(th, view)
	appendChild(tr, th)
	cell := func(text string, classes ...string) *dom.BasicHTMLElement {
		td := p.create("td")
		td.SetTextContent(text)
		for _, c := range classes {
			td.Class().Add(c)
		}
		appendChild(tr, td)
		return td
	}
	ood := cell("n/a (no statistics)", "ood")
	switch {
	case r.OOD == nil:
	case r.OOD.In:
		ood.SetTextContent(fmt.Sprintf("yes (%.2f)", r.OOD.Score))
		ood.Class().Add("ood-yes")
	default:
		ood.SetTextContent(fmt.Sprintf("⚠ no (%.2f): do not trust", r.OOD.Score))
		ood.Class().Add("ood-no")
		tr.Class().Add("ood-out")
	}
	tr.SetAttribute("data-in-distribution", r.InDistribution())
	tr.SetAttribute("data-ood-score", r.Score())
	cell(r.Top, "top")
	for i, c := range nn.ClassNames() {
		if c == r.Top {
			cell(results.Percent(r.Probs[i]), "p", "top")
		} else {
			cell(results.Percent(r.Probs[i]), "p")
		}
	}
	appendChild(tbody, tr)
}

// batchError appends a row for an image that could not be classified.
func (p *page) batchError(tbody *dom.BasicHTMLElement, name, msg string) {
	tr := p.create("tr")
	tr.SetAttribute("data-name", name)
	tr.SetAttribute("data-error", msg)
	tr.Class().Add("failed")
	appendChild(tr, p.create("td"))
	th := p.create("th")
	th.SetAttribute("scope", "row")
	th.SetTextContent(name)
	appendChild(tr, th)
	td := p.create("td")
	td.SetAttribute("colspan", "6")
	td.SetTextContent("Not classified: " + msg)
	appendChild(tr, td)
	appendChild(tbody, tr)
}

// showModel fills the model card from a load response; demo says these are the site's own weights.
func (p *page) showModel(resp bridge.Response, demo bool) {
	c := resp.Model
	p.weightsName = c.Name
	p.card = c
	card := p.el("model-card")
	card.SetTextContent("")
	add := func(parent *dom.BasicHTMLElement, tag, text string) *dom.BasicHTMLElement {
		e := p.create(tag)
		e.SetTextContent(text)
		appendChild(parent, e)
		return e
	}
	line := add(card, "p", "Weights: ")
	add(line, "strong", c.Name).SetAttribute("id", "weights-name")
	if demo {
		add(line, "span", " (bundled with the site)")
	} else {
		add(line, "span", " (loaded from your device)")
	}
	dl := add(card, "dl", "")
	for _, f := range [][2]string{
		{"Trained on", c.TrainingData},
		{"Source", c.Source},
		{"Input size", c.Input},
		{"Out-of-distribution score", c.OOD},
	} {
		add(dl, "dt", f[0])
		add(dl, "dd", f[1])
	}
	if len(c.Summary) > 0 || len(c.PerClass) > 0 {
		add(card, "h3", "Held-out metrics")
	}
	if len(c.Summary) > 0 {
		dl := add(card, "dl", "")
		dl.Class().Add("metrics")
		for _, f := range c.Summary {
			add(dl, "dt", f.Label)
			add(dl, "dd", f.Value)
		}
	}
	if len(c.PerClass) > 0 {
		wrap := add(card, "div", "")
		wrap.Class().Add("table-wrap")
		table := add(wrap, "table", "")
		caption := "Per class, on the held-out test images"
		if c.Evaluation != "" {
			caption = "Per class: " + c.Evaluation
		}
		add(table, "caption", caption)
		head := add(add(table, "thead", ""), "tr", "")
		for _, h := range []string{"Class", "Precision", "Recall", "F1", "Images"} {
			add(head, "th", h).SetAttribute("scope", "col")
		}
		body := add(table, "tbody", "")
		for _, r := range c.PerClass {
			tr := add(body, "tr", "")
			add(tr, "th", r.Class).SetAttribute("scope", "row")
			add(tr, "td", r.Precision)
			add(tr, "td", r.Recall)
			add(tr, "td", r.F1)
			add(tr, "td", r.Support)
		}
	}
	if c.MetricsNote != "" {
		add(card, "p", c.MetricsNote)
	}
	detail := p.el("demo-notice-detail")
	switch {
	case c.Synthetic:
		detail.SetTextContent("These weights are trained on synthetic images, not on patients' slides: they demonstrate papscope and must not be used for diagnosis.")
	case demo && c.Data == nn.RealData:
		detail.SetTextContent("These weights learnt from real Pap-smear fields of one laboratory and were evaluated on slides they never saw; the model card below gives their figures and limits. papscope is for teaching and research: it is not a diagnostic device.")
	case demo:
		detail.SetTextContent("These weights do not record what data trained them: treat their results as a demonstration, never as a diagnosis.")
	default:
		detail.SetTextContent("These weights come from your file: papscope cannot know how they were validated. Its results are not a diagnosis.")
	}
}
