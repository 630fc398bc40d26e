package parallel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

func TestFor(t *testing.T) {
	errBad := errors.New("bad index")
	tests := []struct {
		name       string
		n, workers int
		failAt     int // the index whose call fails; -1 for none
		wantErr    error
	}{
		{"none", 0, 4, -1, nil},
		{"one worker", 7, 1, -1, nil},
		{"more workers than indices", 3, 16, -1, nil},
		{"zero workers means one", 5, 0, -1, nil},
		{"many", 1000, 4, -1, nil},
		{"error", 100, 4, 37, errBad},
		{"error at the first index", 100, 1, 0, errBad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := make([]int, tt.n)
			var calls, maxW atomic.Int64
			err := For(context.Background(), tt.n, tt.workers, func(_ context.Context, w, i int) error {
				calls.Add(1)
				for {
					m := maxW.Load()
					if int64(w) <= m || maxW.CompareAndSwap(m, int64(w)) {
						break
					}
				}
				if i == tt.failAt {
					return fmt.Errorf("index %d: %w", i, errBad)
				}
				out[i] = i * i
				return nil
			})
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("For = %v, want %v", err, tt.wantErr)
			}
			if int(maxW.Load()) >= max(1, Workers(tt.n, tt.workers)) {
				t.Errorf("worker index %d with %d workers", maxW.Load(), Workers(tt.n, tt.workers))
			}
			if tt.wantErr != nil {
				if c := calls.Load(); c > int64(tt.n) {
					t.Errorf("%d calls for %d indices", c, tt.n)
				}
				return
			}
			if c := calls.Load(); c != int64(tt.n) {
				t.Errorf("%d calls, want %d", c, tt.n)
			}
			for i, v := range out {
				if v != i*i {
					t.Fatalf("out[%d] = %d, want %d", i, v, i*i)
				}
			}
		})
	}
}

func TestWorkers(t *testing.T) {
	for _, tt := range []struct{ n, workers, want int }{
		{0, 4, 0}, {1, 4, 1}, {10, 4, 4}, {10, 0, 1}, {10, -3, 1}, {3, 3, 3},
	} {
		if got := Workers(tt.n, tt.workers); got != tt.want {
			t.Errorf("Workers(%d, %d) = %d, want %d", tt.n, tt.workers, got, tt.want)
		}
	}
}

// TestErrorStops checks that the first error cancels the calls in flight and
// that no index is handed out after it.
func TestErrorStops(t *testing.T) {
	errBad := errors.New("bad")
	var after atomic.Int64
	failed := make(chan struct{})
	err := For(context.Background(), 1000, 2, func(ctx context.Context, w, i int) error {
		switch {
		case i == 0:
			close(failed)
			return errBad
		case i == 1:
			<-ctx.Done() // the other worker, waiting: must be cancelled
			return ctx.Err()
		}
		select {
		case <-failed:
			after.Add(1)
		default:
		}
		return nil
	})
	if !errors.Is(err, errBad) {
		t.Fatalf("For = %v, want %v", err, errBad)
	}
	if a := after.Load(); a > 0 {
		t.Errorf("%d indices handed out after the error", a)
	}
}

func TestCancel(t *testing.T) {
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var calls atomic.Int64
		err := For(ctx, 10, 2, func(context.Context, int, int) error { calls.Add(1); return nil })
		if !errors.Is(err, context.Canceled) || calls.Load() != 0 {
			t.Fatalf("For = %v after %d calls, want %v after none", err, calls.Load(), context.Canceled)
		}
	})
	t.Run("during", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var calls atomic.Int64
		err := For(ctx, 1000, 3, func(ctx context.Context, _, i int) error {
			calls.Add(1)
			if i == 10 {
				cancel()
			}
			return nil // a body that ignores ctx: For itself must stop
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("For = %v, want %v", err, context.Canceled)
		}
		if c := calls.Load(); c >= 1000 {
			t.Errorf("all %d indices ran after the cancellation", c)
		}
	})
}

func TestPanic(t *testing.T) {
	errInner := errors.New("inner")
	defer func() {
		v := recover()
		err, ok := v.(error)
		if !ok {
			t.Fatalf("recovered %v (%T), want an error", v, v)
		}
		if !errors.Is(err, errInner) || !strings.Contains(err.Error(), "index 5") || !strings.Contains(err.Error(), "parallel_test.go") {
			t.Errorf("panic value %q does not carry the value, the index and the stack", err)
		}
	}()
	For(context.Background(), 20, 3, func(_ context.Context, _, i int) error {
		if i == 5 {
			panic(errInner)
		}
		return nil
	})
	t.Fatal("For returned after a panic")
}
