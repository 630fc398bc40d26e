package e2e

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"papscope/internal/serve"
)

// teacherSite builds a site with a teacher's own cases, as a teacher would:
// a folder with two real fields (as PNG, so that the page and the CLI agree
// exactly) and a cases.csv, then `papscope site -cases DIR -o OUT`. It
// returns the served address, the cases folder and the expected class of
// each case ID.
func teacherSite(t *testing.T) (srv *httptest.Server, dir string, want map[string]string) {
	t.Helper()
	dir = t.TempDir()
	a, b := suite.samples[0], suite.samples[len(suite.samples)-1]
	fa := realPNG(t, a, dir)
	fb := realPNG(t, b, dir)
	csvText := "file,class,note,difficulty,id\n" +
		fmt.Sprintf("%q,%s,\"Look at the nuclei, then the halos.\",easy,Koilo-One\n", filepath.Base(fa), a.Class) +
		fmt.Sprintf("%q,%s,,,\n", filepath.Base(fb), b.Class)
	if err := os.WriteFile(filepath.Join(dir, "cases.csv"), []byte(csvText), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "site")
	stdout, err := runCLI("site", "-web", suite.web, "-o", out, "-cases", dir)
	if err != nil {
		t.Fatalf("papscope site: %v\n%s", err, stdout)
	}
	secondID := strings.TrimSuffix(filepath.Base(fb), ".png")
	secondID = strings.NewReplacer(" (", "-", ")", "").Replace(secondID) // "SCC-2 (real field)" → "SCC-2-real-field"
	secondID = strings.ReplaceAll(secondID, " ", "-")
	want = map[string]string{"Koilo-One": a.Class, secondID: b.Class}
	for id := range want {
		if !strings.Contains(string(stdout), "#case="+id) {
			t.Fatalf("papscope site does not list #case=%s:\n%s", id, stdout)
		}
	}
	h, err := serve.New(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv = httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, dir, want
}

// open navigates to url and waits for the page to be ready.
func (p *page) open(url string) {
	p.t.Helper()
	p.do("navigate to "+url, chromedp.Navigate(url))
	p.waitReady()
}

// waitResult waits for a result after seq (#result[data-seq]).
func (p *page) waitResult(what string, seq int) {
	p.t.Helper()
	p.waitFor(what, fmt.Sprintf(`+document.querySelector('#result').dataset.seq > %d`, seq), 120*time.Second)
}

// quizState is what the quiz shows.
type quizState struct {
	Mode, Case, Feedback, Correct string
	Right, Total                  string
	ResultShown, ChoicesShown     bool
	NextShown                     bool
}

func (p *page) quizState() quizState {
	p.t.Helper()
	return eval[quizState](p, `(() => {
		const q = s => document.querySelector(s);
		return {Mode: q('#result').dataset.quiz ?? '', Case: q('#quiz-image').dataset.case ?? '',
			Feedback: q('#quiz-feedback').textContent, Correct: q('#quiz-feedback').dataset.correct ?? '',
			Right: q('#quiz-score').dataset.right ?? '', Total: q('#quiz-score').dataset.total ?? '',
			ResultShown: q('#result-body').checkVisibility(), ChoicesShown: q('#quiz-choices').checkVisibility(),
			NextShown: q('#quiz-next').checkVisibility()};
	})()`)
}

// answerQuiz picks class for the case being asked and waits for the reveal:
// the case classified and shown, with the model's answer.
func (p *page) answerQuiz(class string) quizState {
	p.t.Helper()
	q := p.quizState()
	if q.Mode != "asking" || q.ResultShown || !q.ChoicesShown {
		p.t.Fatalf("the quiz is not asking with the answer hidden: %+v", q)
	}
	res, _ := p.seqs()
	p.do("pick "+class, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#quiz-choices button[data-class=%q]`, class))))
	p.waitResult("the quiz's reveal", res)
	p.waitFor("the revealed case", `document.querySelector('#result').dataset.quiz === 'revealed'`, 60*time.Second)
	return p.quizState()
}

// TestTeacherCases: a teacher builds a site from a folder with a cases.csv;
// a case link (any letter case) classifies the case and shows the expected
// class and the teacher's note beside the model's answer; a wrong link lists
// the cases there are.
func TestTeacherCases(t *testing.T) {
	srv, dir, want := teacherSite(t)
	refs := cliClassify(t, suite.weights, filepath.Join(dir, suite.samples[0].Name+" (real field).png"))
	p := openPage(t)
	p.setViewport(1280, 900, false)
	p.open(srv.URL + "/#case=koilo-ONE")
	p.waitResult("the case link's result", 0)
	r := p.readResultOrFail()
	if r.Name != "Koilo-One" {
		t.Errorf("#result[data-name] = %q, want Koilo-One", r.Name)
	}
	checkProbs(t, "Koilo-One", r.Probs, refs[suite.samples[0].Name+" (real field).png"].Probs, exact)
	got := eval[[]string](p, `['#case-expected', '#case-note', '#case-agree'].map(s => document.querySelector(s).checkVisibility() ? document.querySelector(s).textContent : '(hidden)')`)
	if got[0] != want["Koilo-One"] {
		t.Errorf("the expected class shown is %q, want %q", got[0], want["Koilo-One"])
	}
	if !strings.Contains(got[1], "Look at the nuclei, then the halos.") || !strings.Contains(got[1], "easy") {
		t.Errorf("#case-note %q, want the teacher's note and its difficulty", got[1])
	}
	if !strings.Contains(got[2], "agrees") && !strings.Contains(got[2], r.Top) {
		t.Errorf("#case-agree %q says neither that the model agrees nor what it says (%s)", got[2], r.Top)
	}
	p.shot("teacher-case")

	// The gallery lists the teacher's cases, not the default ones.
	links := eval[[]string](p, `[...document.querySelectorAll('#gallery a')].map(a => a.getAttribute('href')).filter(h => h.startsWith('#case='))`)
	var wantLinks []string
	for id := range want {
		wantLinks = append(wantLinks, "#case="+id)
	}
	slices.Sort(links)
	slices.Sort(wantLinks)
	if !slices.Equal(slices.Compact(links), wantLinks) {
		t.Errorf("the gallery links to %v, want %v", links, wantLinks)
	}

	// A link to a case that does not exist says so and lists those that do.
	_, errSeq := p.seqs()
	p.do("open a wrong link", chromedp.Evaluate[chromedp.Void](`location.hash = '#case=nope'`))
	p.waitFor("the wrong link's error", fmt.Sprintf(`+document.querySelector('#error').dataset.seq > %d`, errSeq), 60*time.Second)
	msg := eval[string](p, `document.querySelector('#error').textContent`)
	listed := eval[[]string](p, `[...document.querySelectorAll('#error a')].map(a => a.getAttribute('href'))`)
	slices.Sort(listed)
	if !strings.Contains(msg, `no case called "nope"`) || !slices.Equal(listed, wantLinks) {
		t.Errorf("wrong link: #error %q linking %v, want it to say there is no such case and link %v", msg, listed, wantLinks)
	}
}

// readResultOrFail reads the result view.
func (p *page) readResultOrFail() result {
	p.t.Helper()
	r, _ := p.readResult()
	return r
}

// TestQuiz: a quiz link hides the answer and the model until the trainee
// picks a class, then reveals the expected class, the model's probabilities,
// the heatmap and the note; #quiz asks every case; the score stays on the
// device, survives a reload, and exports as CSV; and a quiz link works
// offline after the first visit.
func TestQuiz(t *testing.T) {
	srv, _, want := teacherSite(t)
	wrong := func(class string) string {
		for _, c := range classes {
			if c != class {
				return c
			}
		}
		return ""
	}
	p := openPage(t)
	p.setViewport(375, 800, true) // a trainee's phone
	p.open(srv.URL + "/#case=Koilo-One&quiz")
	p.waitFor("the quiz to ask", `document.querySelector('#result').dataset.quiz === 'asking'`, 30*time.Second)
	q := p.quizState()
	if q.Case != "Koilo-One" || q.Total != "0" {
		t.Errorf("quiz on one case: %+v, want case Koilo-One and no answers yet", q)
	}
	if eval[bool](p, `document.querySelector('#top-class').checkVisibility() || document.querySelector('#case-expected').checkVisibility()`) {
		t.Errorf("the model's answer or the expected class is visible before the trainee answers")
	}
	p.shot("quiz-asking")
	q = p.answerQuiz(wrong(want["Koilo-One"]))
	if q.Correct != "no" || !strings.Contains(q.Feedback, want["Koilo-One"]) || q.Right != "0" || q.Total != "1" || q.NextShown {
		t.Errorf("after a wrong answer on one case: %+v", q)
	}
	if got := eval[string](p, `document.querySelector('#case-expected').textContent`); got != want["Koilo-One"] {
		t.Errorf("revealed expected class %q, want %q", got, want["Koilo-One"])
	}
	if !eval[bool](p, `document.querySelector('#case-note').checkVisibility() && document.querySelector('#probs').checkVisibility()`) {
		t.Errorf("the reveal does not show the note and the probabilities")
	}
	if missing := p.notInView(append(slices.Clone(verdictParts), "#quiz-feedback", "#case-expected", "#case-note")); len(missing) > 0 {
		t.Errorf("at 375x800, after the reveal, not wholly in view: %v", missing)
	}
	p.waitFor("the heatmap", `document.querySelector('#heatmap-canvas')?.checkVisibility() && !!document.querySelector('#heatmap-canvas').dataset.class`, 60*time.Second)
	p.shot("quiz-revealed")

	// The whole set, shuffled: answer each case right.
	p.do("open #quiz", chromedp.Evaluate[chromedp.Void](`location.hash = '#quiz'`))
	p.waitFor("the quiz to ask", `document.querySelector('#result').dataset.quiz === 'asking' && document.querySelector('#quiz-progress').textContent.includes('of 2')`, 30*time.Second)
	asked := map[string]bool{}
	for i := range len(want) {
		id := p.quizState().Case
		asked[id] = true
		q = p.answerQuiz(want[id])
		if q.Correct != "yes" {
			t.Errorf("case %s: right answer %s marked %q (%s)", id, want[id], q.Correct, q.Feedback)
		}
		if last := i == len(want)-1; q.NextShown == last {
			t.Errorf("case %d of %d: #quiz-next shown %v", i+1, len(want), q.NextShown)
		}
		if i < len(want)-1 {
			p.do("next case", chromedp.Click(chromedp.CSS("#quiz-next")))
			p.waitFor("the next case", `document.querySelector('#result').dataset.quiz === 'asking'`, 30*time.Second)
		}
	}
	if len(asked) != len(want) {
		t.Errorf("#quiz asked %v, want each of %v once", asked, want)
	}
	if q.Right != "2" || q.Total != "3" {
		t.Errorf("score %s of %s, want 2 of 3", q.Right, q.Total)
	}

	data := p.download("#quiz-export", "papscope-quiz.csv")
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(recs) != 4 || strings.Join(recs[0], ",") != "case,expected,answer,correct,model_top_class,model_in_distribution,answered_at" {
		t.Fatalf("papscope-quiz.csv (%v):\n%s", err, data)
	}
	if recs[1][0] != "Koilo-One" || recs[1][3] != "no" || recs[2][3] != "yes" || recs[3][3] != "yes" {
		t.Errorf("papscope-quiz.csv rows:\n%s", data)
	}
	for _, rec := range recs[1:] {
		if !slices.Contains(classes[:], rec[4]) || rec[5] != "yes" && rec[5] != "no" {
			t.Errorf("papscope-quiz.csv row %v: no model answer or in-distribution verdict", rec)
		}
	}

	// Offline, after this first visit: the server gone, the link still works
	// and the score is still there.
	if got := eval[string](p, serviceWorkerActiveJS); got != "activated" {
		t.Fatalf("service worker: %s", got)
	}
	srv.Close()
	if _, err := chromedp.Call(p.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		EmulateOfflineServiceWorker: new(true),
		MatchedNetworkConditions:    []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
	}); err != nil {
		t.Fatalf("emulate offline: %v", err)
	}
	p.do("open the quiz link offline", chromedp.Evaluate[chromedp.Void](`location.hash = '#case=Koilo-One&quiz'`), chromedp.Reload())
	p.waitReady()
	p.waitFor("the quiz to ask", `document.querySelector('#result').dataset.quiz === 'asking'`, 30*time.Second)
	if q := p.quizState(); q.Total != "3" {
		t.Errorf("offline, the score kept on the device says %s answers, want 3", q.Total)
	}
	q = p.answerQuiz(want["Koilo-One"])
	if q.Correct != "yes" || q.Total != "4" {
		t.Errorf("offline quiz: %+v", q)
	}
}

// TestOpenedAsFile: the page opened from the disk (file://), as a user who
// double-clicks index.html would, says it must be served and how.
func TestOpenedAsFile(t *testing.T) {
	p := openPage(t)
	p.do("open index.html as a file", chromedp.Navigate("file://"+filepath.ToSlash(filepath.Join(suite.web, "index.html"))))
	p.waitFor("the page to give up", `document.body?.dataset.state === 'error'`, 30*time.Second)
	msg := eval[string](p, `document.querySelector('#status').textContent`)
	for _, want := range []string{"must be served over HTTP", "make run", "papscope serve"} {
		if !strings.Contains(msg, want) {
			t.Errorf("#status %q does not say %q", msg, want)
		}
	}
}
