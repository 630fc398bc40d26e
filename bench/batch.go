package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// benchSiteBatch times the page's batch table over c.batch images (the
// TF.js reference inputs as PNG files, under other names) with the 299×299
// weights loaded through the page's weights input: first with the cores
// emulated as 1 (one worker), then with the real count (the page's pool). Each
// timed batch follows a warm-up batch that starts the workers. It returns the
// pool's size and both rates in images per second.
func benchSiteBatch(ctx context.Context, c config, cnt *counter, base, site, tmp string) (workers int, single, pool float64, err error) {
	dir := filepath.Join(tmp, "batch-images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, 0, err
	}
	ref := filepath.Join("nn", "testdata", "tfjs", "seed1_299")
	var files []string
	for i := range c.batch {
		dst := filepath.Join(dir, fmt.Sprintf("field-%02d.png", i))
		if err := copyFile(dst, filepath.Join(ref, fmt.Sprintf("input_%d.png", i%3))); err != nil {
			return 0, 0, 0, err
		}
		files = append(files, dst)
	}
	if _, _, err := visit(ctx, cnt, base+"/"); err != nil {
		return 0, 0, 0, err
	}
	weights, err := filepath.Abs(filepath.Join(site, "model", "papscope299.safetensors"))
	if err != nil {
		return 0, 0, 0, err
	}
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#weights-input"), []string{weights})); err != nil {
		return 0, 0, 0, err
	}
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#weights-status')?.dataset.state === 'ok'`,
		chromedp.WithPollingTimeout(time.Minute))); err != nil {
		return 0, 0, 0, fmt.Errorf("the page did not load the 299×299 weights: %w", err)
	}
	batch := func(files []string) (float64, error) {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('#batch-table').removeAttribute('data-done')`)); err != nil {
			return 0, err
		}
		start := time.Now()
		if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#file-input"), files)); err != nil {
			return 0, err
		}
		if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector('#batch-table')?.dataset.done === '%d'`, len(files)),
			chromedp.WithPollingTimeout(5*time.Minute), chromedp.WithPollingInterval(5*time.Millisecond))); err != nil {
			return 0, err
		}
		rate := float64(len(files)) / time.Since(start).Seconds()
		var rows int
		if err := eval(ctx, `document.querySelectorAll('#batch-table tbody tr[data-name]').length`, &rows); err != nil {
			return 0, err
		}
		if rows != len(files) {
			return 0, fmt.Errorf("the batch table has %d classified rows for %d images", rows, len(files))
		}
		return rate, nil
	}
	var cores int
	if err := eval(ctx, `navigator.hardwareConcurrency`, &cores); err != nil {
		return 0, 0, 0, err
	}
	for _, n := range []int{1, cores} {
		if _, err := chromedp.Call(ctx, emulation.SetHardwareConcurrencyOverride, emulation.SetHardwareConcurrencyOverrideParams{HardwareConcurrency: int64(n)}); err != nil {
			return 0, 0, 0, err
		}
		if _, err := batch(files[:min(len(files), max(2, n))]); err != nil {
			return 0, 0, 0, fmt.Errorf("warm-up batch: %w", err)
		}
		rate, err := batch(files)
		if err != nil {
			return 0, 0, 0, err
		}
		if err := eval(ctx, `+document.querySelector('#batch-table').dataset.workers`, &workers); err != nil {
			return 0, 0, 0, err
		}
		if n == 1 {
			single = rate
		} else {
			pool = rate
		}
	}
	return workers, single, pool, nil
}
