package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"papscope/train"
)

// progressBar shows training progress on stderr: a bar with the rate and
// the time left (progressbar) when it is a terminal, and a line per epoch
// always. It spans runs training runs of equal length (cv's folds), so its
// ETA covers them all.
type progressBar struct {
	w        io.Writer
	terminal bool
	bar      *progressbar.ProgressBar
	what     string
	run      int // current run, 0-based
	runs     int
}

func newProgressBar(w io.Writer, what string) *progressBar {
	term := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			term = true
		}
	}
	return &progressBar{w: w, terminal: term, what: what, runs: 1}
}

// startRun moves the bar to run (0-based) of runs, described by what.
func (b *progressBar) startRun(run, runs int, what string) {
	b.run, b.runs, b.what = run, runs, what
	if b.bar != nil {
		b.bar.Describe(what)
	}
}

func (b *progressBar) update(p train.Progress) {
	if p.Done != nil {
		e := p.Done
		mark := ""
		if e.Best {
			mark = "  *best*"
		}
		val := ""
		if e.ValN > 0 {
			val = fmt.Sprintf("  val loss %.4f acc %5.1f%% bal %5.1f%%", e.ValLoss, 100*e.ValAccuracy, 100*e.ValBalanced)
		}
		b.clear()
		fmt.Fprintf(b.w, "%s epoch %d/%d  loss %.4f acc %5.1f%%%s  %.1f img/s  %s%s\n",
			b.what, p.Epoch, p.Epochs, e.Loss, 100*e.Accuracy, val, e.ImagesPerSecond, roundDur(time.Duration(e.Seconds*float64(time.Second))), mark)
		return
	}
	if !b.terminal {
		return
	}
	perRun := int64(p.Epochs * p.Batches)
	total := perRun * int64(b.runs)
	if b.bar == nil {
		b.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription(b.what),
			progressbar.OptionSetItsString("steps"),
			progressbar.OptionShowIts(),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionFullWidth(),
		)
	} else if b.bar.GetMax64() != total {
		b.bar.ChangeMax64(total)
	}
	_ = b.bar.Set64(int64(b.run)*perRun + int64((p.Epoch-1)*p.Batches+p.Batch))
}

// clear removes the bar's line before a line of text.
func (b *progressBar) clear() {
	if b.bar != nil {
		_ = b.bar.Clear()
	}
}

// finish ends the bar's line.
func (b *progressBar) finish() {
	if b.bar != nil {
		_ = b.bar.Exit()
		fmt.Fprintln(b.w)
		b.bar = nil
	}
}

func roundDur(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}
