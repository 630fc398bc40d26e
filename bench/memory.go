package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// memFigures are the memory run's figures.
type memFigures struct {
	Count                  int
	WasmAfter1, WasmAfterN int64         // the worker's linear memory
	Curve                  map[int]int64 // the worker's linear memory after so many images
	HeapAfter1, HeapAfterN int64         // the JS heaps of the page and its workers
}

// benchMemory classifies c.mem images on the benchmark page's worker and
// records, into m, its linear memory on the way and the JS heaps before and after.
func benchMemory(ctx context.Context, c config, m *memFigures) error {
	var err error
	if err = eval(ctx, `papBench.memStart()`, &m.WasmAfter1); err != nil {
		return err
	}
	if m.HeapAfter1, err = jsHeaps(ctx); err != nil {
		return err
	}
	// Checkpoints on the way show whether growth levels off (the Go heap
	// finding its size) or goes on (a leak).
	m.Curve = map[int]int64{1: m.WasmAfter1}
	done := 1
	for _, at := range []int{10, 50, 100, 150, c.mem} {
		if at <= done || at > c.mem {
			continue
		}
		if err = eval(ctx, fmt.Sprintf(`papBench.memMore(%d)`, at-done), &m.WasmAfterN); err != nil {
			return err
		}
		m.Curve[at], done = m.WasmAfterN, at
	}
	if m.HeapAfterN, err = jsHeaps(ctx); err != nil {
		return err
	}
	if err = eval(ctx, `papBench.memEnd()`, &m.Count); err != nil {
		return err
	}
	return nil
}

// noWorkers stops the workers of the benchmark page (papBench.close; a page
// left for another stays alive in the back/forward cache, workers and all),
// leaves it for a blank one and waits (at most 30 s) until the browser lists
// no worker any more.
func noWorkers(ctx context.Context) error {
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.papBench && window.papBench.close()`)); err != nil {
		return fmt.Errorf("close the benchmark page's workers: %w", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			return fmt.Errorf("list targets: %w", err)
		}
		var left []string
		for _, info := range infos {
			if info.Type == "worker" {
				left = append(left, info.URL)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the previous page's workers are still running 30 s after it closed: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// jsHeaps collects garbage in the page and each of its workers and returns
// the sum of their used JavaScript heaps.
func jsHeaps(ctx context.Context) (int64, error) {
	heap := func(ctx context.Context) (int64, error) {
		if _, err := chromedp.Call(ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
			return 0, err
		}
		u, err := chromedp.Call(ctx, runtime.GetHeapUsage, cdp.Empty{})
		return int64(u.UsedSize), err
	}
	total, err := heap(ctx)
	if err != nil {
		return 0, fmt.Errorf("page heap: %w", err)
	}
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		return 0, err
	}
	workers := 0
	for _, info := range infos {
		if info.Type != "worker" {
			continue
		}
		wctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
		n, err := heap(wctx)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("worker %s heap: %w", info.URL, err)
		}
		total += n
		workers++
	}
	if workers == 0 {
		return 0, errors.New("no worker targets: the workers' heaps were not measured")
	}
	return total, nil
}
