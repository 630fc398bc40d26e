//go:build js && wasm

package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall/js"

	"honnef.co/go/js/dom/v2"

	"papscope/internal/bridge"
)

// scoreKey is where the quiz answers stay on the device (localStorage).
const scoreKey = "papscope-quiz-answers"

// quiz is a quiz under way: the cases in the order asked, and where it is.
type quiz struct {
	cases    []sample
	pos      int
	answered bool
}

// answer is one quiz answer, as kept in localStorage and exported as CSV.
type answer struct {
	Case     string `json:"case"`
	Expected string `json:"expected"`
	Answer   string `json:"answer"`
	Model    string `json:"model"`    // the model's top class ("" if it failed)
	ModelOOD string `json:"modelOOD"` // in, out or unavailable
	At       string `json:"at"`       // ISO 8601, UTC
}

// findCase returns the case whose ID is id, ignoring case. When there is
// none it says so, listing the cases that exist as links.
func (p *page) findCase(id string) (sample, bool) {
	<-p.gallery
	for _, s := range p.samples {
		if asciiFold(s.Name) == asciiFold(id) {
			return s, true
		}
	}
	if len(p.samples) == 0 {
		p.showError(fmt.Sprintf("There is no case called %q: this copy of papscope was built without example cases.", id))
		return sample{}, false
	}
	p.showError(fmt.Sprintf("There is no case called %q. The cases here are: ", id))
	e := p.el("error")
	for _, s := range p.samples {
		a := p.create("a")
		a.SetAttribute("href", "#case="+s.Name)
		a.SetTextContent(s.Name)
		appendChild(e, a)
	}
	return sample{}, false
}

// startQuiz starts a quiz on one case, or on every case in a shuffled order when one is nil.
func (p *page) startQuiz(one *sample) {
	<-p.gallery
	var cases []sample
	if one != nil {
		cases = []sample{*one}
	} else {
		if len(p.samples) == 0 {
			p.showError("There is nothing to quiz on: this copy of papscope was built without example cases.")
			return
		}
		cases = append(cases, p.samples...)
		math := p.global.Get("Math")
		for i := len(cases) - 1; i > 0; i-- { // Fisher–Yates
			j := int(math.Call("random").Float() * float64(i+1))
			cases[i], cases[j] = cases[j], cases[i]
		}
	}
	p.quiz = &quiz{cases: cases}
	p.clearError()
	p.askQuiz()
}

// askQuiz shows the quiz's current case with the answer and the model hidden.
func (p *page) askQuiz() {
	q := p.quiz
	s := q.cases[q.pos]
	q.answered = false
	p.setHidden("result-placeholder", true)
	p.setHidden("result-body", true)
	p.setHidden("quiz", false)
	p.setHidden("quiz-image", false)
	p.el("result").SetAttribute("data-quiz", "asking")
	progress := "Quiz: case " + s.Name
	if len(q.cases) > 1 {
		progress = fmt.Sprintf("Quiz: case %d of %d", q.pos+1, len(q.cases))
	}
	p.el("quiz-progress").SetTextContent(progress)
	img := p.el("quiz-image")
	img.SetAttribute("src", "samples/"+s.File)
	img.SetAttribute("data-case", s.Name)
	p.setHidden("quiz-choices", false)
	p.setHidden("quiz-question", false)
	p.setHidden("quiz-next", true)
	fb := p.el("quiz-feedback")
	fb.SetTextContent("")
	fb.RemoveAttribute("data-correct")
	p.showScore()
	p.el("result").Underlying().Call("scrollIntoView", map[string]any{"block": "start"})
}

// pick records the trainee's answer, then reveals the expected class, the
// model's answer, its heatmap and the teacher's note.
func (p *page) pick(class string) {
	q := p.quiz
	if q == nil || q.answered {
		return
	}
	q.answered = true
	s := q.cases[q.pos]
	p.setHidden("quiz-choices", true)
	p.setHidden("quiz-question", true)
	p.setHidden("quiz-image", true) // the result view shows it again, with the heatmap
	fb := p.el("quiz-feedback")
	if class == s.Class {
		fb.SetAttribute("data-correct", "yes")
		fb.SetTextContent(fmt.Sprintf("Correct: you said %s, and the expected class is %s.", class, s.Class))
	} else {
		fb.SetAttribute("data-correct", "no")
		fb.SetTextContent(fmt.Sprintf("Not this time: you said %s; the expected class is %s.", class, s.Class))
	}
	p.el("result").SetAttribute("data-quiz", "revealed")
	p.openSample(s)
	a := answer{Case: s.Name, Expected: s.Class, Answer: class, ModelOOD: "unavailable", At: isoNow()}
	if p.cur != nil && p.cur.name == s.Name {
		a.Model, a.ModelOOD = p.cur.top, p.cur.ood
	}
	p.saveAnswer(a)
	p.showScore()
	if q.pos+1 < len(q.cases) {
		p.setHidden("quiz-next", false)
	}
}

// endQuiz leaves quiz mode.
func (p *page) endQuiz() {
	p.quiz = nil
	p.setHidden("quiz", true)
	p.el("result").RemoveAttribute("data-quiz")
}

// answers returns the quiz answers kept on this device.
func (p *page) answers() []answer {
	var as []answer
	ls := p.storage()
	if !ls.Truthy() {
		return nil
	}
	if v := ls.Call("getItem", scoreKey); v.Type() == js.TypeString {
		json.Unmarshal([]byte(v.String()), &as) // a corrupt entry starts afresh
	}
	return as
}

// storage returns localStorage, or undefined where the browser forbids it.
func (p *page) storage() (v js.Value) {
	defer func() {
		if recover() != nil {
			v = js.Undefined()
		}
	}()
	return p.global.Get("localStorage")
}

func (p *page) saveAnswer(a answer) {
	as := append(p.answers(), a)
	data, _ := json.Marshal(as)
	if ls := p.storage(); ls.Truthy() {
		ls.Call("setItem", scoreKey, string(data))
	}
}

// showScore shows the running score kept on this device.
func (p *page) showScore() {
	as := p.answers()
	right := 0
	for _, a := range as {
		if a.Answer == a.Expected {
			right++
		}
	}
	score := p.el("quiz-score")
	score.SetAttribute("data-right", fmt.Sprint(right))
	score.SetAttribute("data-total", fmt.Sprint(len(as)))
	if len(as) == 0 {
		score.SetTextContent("Your answers stay on this device; none yet.")
		return
	}
	score.SetTextContent(fmt.Sprintf("Your score on this device: %d of %d correct.", right, len(as)))
}

// quizCSV is the trainee's answers as CSV.
func quizCSV(as []answer) string {
	var b strings.Builder
	b.WriteString("case,expected,answer,correct,model_top_class,model_in_distribution,answered_at\n")
	for _, a := range as {
		ood := map[string]string{"in": "yes", "out": "no"}[a.ModelOOD]
		fields := []string{a.Case, a.Expected, a.Answer, map[bool]string{true: "yes", false: "no"}[a.Answer == a.Expected], a.Model, ood, a.At}
		for i, f := range fields {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(csvField(f))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// csvField quotes a CSV field when it needs it, and defuses a spreadsheet formula.
func csvField(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// wireQuiz connects the quiz's buttons.
func (p *page) wireQuiz() {
	choices := p.doc.Call("querySelectorAll", "#quiz-choices button")
	for i := range choices.Length() {
		b := elem(choices.Index(i))
		class := b.GetAttribute("data-class")
		listen(b.Underlying(), "click", func(*dom.BasicEvent) { go p.pick(class) })
	}
	listen(p.el("quiz-next").Underlying(), "click", func(*dom.BasicEvent) {
		if q := p.quiz; q != nil && q.pos+1 < len(q.cases) {
			q.pos++
			p.askQuiz()
		}
	})
	listen(p.el("quiz-export").Underlying(), "click", func(*dom.BasicEvent) {
		p.save("papscope-quiz.csv", quizCSV(p.answers()))
	})
	listen(p.el("quiz-reset").Underlying(), "click", func(*dom.BasicEvent) {
		if ls := p.storage(); ls.Truthy() {
			ls.Call("removeItem", scoreKey)
		}
		p.showScore()
	})
}

// hash is what an address's fragment asks for.
type hash struct {
	id   string // a case ID, "" for none
	quiz bool
}

// parseHash reads #case=ID, #sample=ID (older links), #quiz and #case=ID&quiz.
func parseHash(h string) hash {
	var out hash
	for _, part := range strings.Split(strings.TrimPrefix(h, "#"), "&") {
		k, v, _ := strings.Cut(part, "=")
		switch asciiFold(k) {
		case "case", "sample":
			out.id = strings.TrimSpace(unescape(v))
		case "quiz":
			out.quiz = true
		}
	}
	return out
}

// isoNow is the current time as ISO 8601 in UTC, to the second.
func isoNow() string {
	s := js.Global().Get("Date").New().Call("toISOString").String()
	if len(s) >= 19 {
		return s[:19] + "Z"
	}
	return s
}

// showCase fills the result's case block: the expected class, whether the model agrees, the note.
func (p *page) showCase(s *sample, resp bridge.Response) {
	box := p.el("case")
	if s == nil {
		p.setHidden("case", true)
		return
	}
	p.el("case-expected").SetTextContent(s.Class)
	agree := p.el("case-agree")
	if resp.Top == s.Class {
		box.SetAttribute("data-agree", "yes")
		agree.SetTextContent("— the model agrees.")
	} else {
		box.SetAttribute("data-agree", "no")
		agree.SetTextContent("— the model says " + resp.Top + ".")
	}
	note := s.Note
	if s.Difficulty != "" {
		note = strings.TrimSpace(note + " (Difficulty: " + s.Difficulty + ".)")
	}
	p.el("case-note").SetTextContent(note)
	p.setHidden("case-note", note == "")
	box.SetAttribute("data-case", s.Name)
	p.setHidden("case", false)
}

// asciiFold lower-cases the ASCII letters of s: case IDs and link keys are
// ASCII, and strings.EqualFold's Unicode tables would add to papscope.wasm.
func asciiFold(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
