package kernel

// Widen returns v as a new slice of float64s (nil for nil).
func Widen(v []float32) []float64 {
	if v == nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// Narrow returns v as a new slice of float32s, each rounded to the nearest (nil for nil).
func Narrow(v []float64) []float32 {
	if v == nil {
		return nil
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
