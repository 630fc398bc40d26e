// Package parallel runs a loop body over the indices [0, n) on a bounded
// number of goroutines, stopping at the first error or when its context is
// cancelled. It is the one worker pool of papscope: data loading, validation,
// recalibration, dataset checks and the CLI's classify all use it.
package parallel

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
)

// Workers returns how many goroutines For starts for n indices when asked for
// workers: min(workers, n), at least 1, and 0 when n is 0.
func Workers(n, workers int) int {
	if n <= 0 {
		return 0
	}
	return max(1, min(workers, n))
}

// For calls fn(ctx, w, i) once for every i in [0, n), handing the indices out
// in increasing order to Workers(n, workers) goroutines; w in
// [0, Workers(n, workers)) names the goroutine making the call, so fn can keep
// per-goroutine state (scratch buffers, model clones) in a slice indexed by w.
// fn writes its result at index i, so the output order does not depend on
// scheduling.
//
// The first error fn returns cancels the context the other calls see, no
// further index is handed out, and For returns that error once every call in
// flight has returned. When ctx is cancelled, For stops the same way and
// returns ctx.Err(). A panic in fn stops the loop the same way and is raised
// again in For's goroutine, with the panicking goroutine's stack.
func For(ctx context.Context, n, workers int, fn func(ctx context.Context, w, i int) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once     sync.Once
		firstErr error
		panicked *panicError
	)
	fail := func(err error, p *panicError) {
		once.Do(func() { firstErr, panicked = err, p })
		cancel()
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := range Workers(n, workers) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					continue // stopped: the feeder may still have handed out this index
				}
				if err := call(ctx, w, i, fn); err != nil {
					if p, ok := err.(*panicError); ok {
						fail(nil, p)
					} else {
						fail(err, nil)
					}
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err() // nil unless the caller's ctx was cancelled: cancel has not run yet
}

// call runs fn(ctx, w, i), turning a panic into a *panicError.
func call(ctx context.Context, w, i int, fn func(ctx context.Context, w, i int) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, index: i, stack: debug.Stack()}
		}
	}()
	return fn(ctx, w, i)
}

// panicError is a panic in a loop body, carried to For's goroutine.
type panicError struct {
	value any
	index int
	stack []byte
}

// Error describes the panic with the stack of the goroutine that raised it.
func (p *panicError) Error() string {
	return fmt.Sprintf("parallel.For: panic at index %d: %v\n\n%s", p.index, p.value, p.stack)
}

// Unwrap returns the panic's value when it was an error.
func (p *panicError) Unwrap() error {
	err, _ := p.value.(error)
	return err
}
