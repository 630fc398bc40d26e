package kernel

import (
	"slices"
	"testing"
)

func TestWidenNarrow(t *testing.T) {
	if Widen(nil) != nil || Narrow(nil) != nil {
		t.Error("nil did not stay nil")
	}
	v := []float32{0, -1.5, 3.25, 1e-7}
	w := Widen(v)
	if !slices.Equal(w, []float64{0, -1.5, 3.25, float64(float32(1e-7))}) {
		t.Errorf("Widen(%v) = %v", v, w)
	}
	if back := Narrow(w); !slices.Equal(back, v) {
		t.Errorf("Narrow(Widen(%v)) = %v", v, back)
	}
	if got := Narrow([]float64{0.1}); got[0] != float32(0.1) {
		t.Errorf("Narrow(0.1) = %v", got)
	}
	if got := Widen([]float32{}); got == nil || len(got) != 0 {
		t.Errorf("Widen of an empty slice = %#v, want empty, not nil", got)
	}
}
