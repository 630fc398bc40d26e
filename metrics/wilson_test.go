package metrics

import (
	"math"
	"testing"
)

func TestWilson(t *testing.T) {
	// Reference values: Wilson's formula evaluated independently (Python,
	// float64), the last one also a textbook example.
	tests := []struct {
		k, n   int
		lo, hi float64
	}{
		{0, 10, 0, 0.2775328},
		{5, 10, 0.2365931, 0.7634069},
		{10, 10, 0.7224672, 1},
		{81, 263, 0.2552885, 0.3662096}, // published to four places as [0.2553, 0.3662]
	}
	for _, tt := range tests {
		lo, hi := Wilson(tt.k, tt.n)
		if math.Abs(lo-tt.lo) > 1e-6 || math.Abs(hi-tt.hi) > 1e-6 {
			t.Errorf("Wilson(%d, %d) = [%.7f, %.7f], want [%.7f, %.7f]", tt.k, tt.n, lo, hi, tt.lo, tt.hi)
		}
	}
	if lo, hi := Wilson(0, 0); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("Wilson(0, 0) = %g, %g, want NaN", lo, hi)
	}
}
