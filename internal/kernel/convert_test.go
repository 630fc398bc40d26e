package kernel

import (
	"slices"
	"testing"
)

func TestConvert(t *testing.T) {
	if Convert[float64]([]float32(nil)) != nil || Convert[float32]([]float64(nil)) != nil {
		t.Error("nil did not stay nil")
	}
	v := []float32{0, -1.5, 3.25, 1e-7}
	w := Convert[float64](v)
	if !slices.Equal(w, []float64{0, -1.5, 3.25, float64(float32(1e-7))}) {
		t.Errorf("Convert[float64](%v) = %v", v, w)
	}
	if back := Convert[float32](w); !slices.Equal(back, v) {
		t.Errorf("Convert[float32](Convert[float64](%v)) = %v", v, back)
	}
	if got := Convert[float32]([]float64{0.1}); got[0] != float32(0.1) {
		t.Errorf("Convert[float32](0.1) = %v", got)
	}
	if got := Convert[float64]([]float32{}); got == nil || len(got) != 0 {
		t.Errorf("Convert of an empty slice = %#v, want empty, not nil", got)
	}
}
