package kernel

import (
	"fmt"
	"sync"
)

// Rows calls f on consecutive row ranges [lo, hi) that cover [0, m), on up
// to workers goroutines at once, giving each at least minRows rows (except
// when m is smaller), and returns when all are done. With one range it calls
// f on the caller's goroutine.
func Rows(m, workers, minRows int, f func(lo, hi int)) {
	parts := split(m, workers, minRows)
	if parts <= 1 {
		if m > 0 {
			f(0, m)
		}
		return
	}
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*m/parts, (p+1)*m/parts
		if p == parts-1 {
			f(lo, hi)
			continue
		}
		wg.Go(func() { f(lo, hi) })
	}
	wg.Wait()
}

// Reduce is Rows for a sum over rows: each range gets a zeroed partial result
// of size values (allocated per call), which f adds its rows into; Reduce
// returns the partials, one per range, in row order.
func Reduce[T Float](m, workers, minRows, size int, f func(part []T, lo, hi int)) [][]T {
	parts := max(1, split(m, workers, minRows))
	out := make([][]T, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*m/parts, (p+1)*m/parts
		out[p] = make([]T, size)
		if p == parts-1 {
			f(out[p], lo, hi)
			continue
		}
		wg.Go(func() { f(out[p], lo, hi) })
	}
	wg.Wait()
	return out
}

// split returns how many ranges m rows make for workers goroutines of at least minRows each.
func split(m, workers, minRows int) int {
	return max(1, min(workers, m/max(1, minRows)))
}

// checkLen panics when a slice is shorter than its dimensions say.
func checkLen(what string, have, want int) {
	if have < want {
		panic(fmt.Sprintf("kernel: %s has %d values, want %d", what, have, want))
	}
}
