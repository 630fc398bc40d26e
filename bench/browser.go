package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"papscope/internal/headless"
)

// readyMarker runs before any page script: it keeps the page's uncaught
// errors in window.__errors, and it records performance.now() (the
// milliseconds since navigation started) when the body's data-state becomes
// "ready", as both papscope's page and the benchmark pages set it.
const readyMarker = `window.__errors = [];
addEventListener('error', (e) => window.__errors.push(e.message + ' (' + e.filename + ':' + e.lineno + ')'));
addEventListener('unhandledrejection', (e) => window.__errors.push(String(e.reason)));
new MutationObserver(() => {
  const s = document.body && document.body.dataset.state;
  if (s === 'ready' && !window.__readyAt) window.__readyAt = performance.now();
  if (s === 'error') window.__readyAt = -1;
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-state']});`

// withBrowser runs f in a tab of a fresh headless Chromium with its own profile.
func withBrowser(chrome, profile string, timeout time.Duration, f func(ctx context.Context) error) error {
	// gc() in the workers, to collect garbage before measuring memory.
	opts := headless.Options(chrome, profile, chromedp.Flag("js-flags", "--expose-gc"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: readyMarker}); err != nil {
		return fmt.Errorf("start %s: %w", chrome, err)
	}
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	defer cancelT()
	return f(ctx)
}

// chromiumVersion returns the browser's product name and version.
func chromiumVersion(ctx context.Context) (string, error) {
	v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
	return v.Product, err
}

// visit opens url and waits until its page is ready. It returns the
// milliseconds from the start of the navigation and the files the server sent
// until then, each counted once.
func visit(ctx context.Context, cnt *counter, url string) (float64, []served, error) {
	cnt.reset()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return 0, nil, err
	}
	at, err := chromedp.Run(ctx, chromedp.Poll[float64](`window.__readyAt`,
		chromedp.WithPollingTimeout(3*time.Minute), chromedp.WithPollingInterval(5*time.Millisecond)))
	files := cnt.unique()
	if err != nil {
		return 0, nil, err
	}
	if at < 0 {
		msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`String(window.papBenchError || window.tfBenchError || document.getElementById('status')?.textContent || '') + '; uncaught: ' + window.__errors.join('; ')`))
		return 0, nil, fmt.Errorf("%s: the page failed: %s", url, msg)
	}
	return at, files, nil
}

// eval evaluates a JavaScript expression, awaiting it when it is a promise,
// and unmarshals its JSON value into out.
func eval(ctx context.Context, expr string, out any) error {
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => JSON.stringify(await (`+expr+`)))()`, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("%s: %w", expr, err)
	}
	if err := json.Unmarshal([]byte(raw), out); err != nil {
		return fmt.Errorf("%s: %w", expr, err)
	}
	return nil
}
