package kernel

// Convert returns v as a new slice of To (nil for nil), each value rounded to
// the nearest when To is narrower: Convert[float64](v) widens, Convert[float32](v) narrows.
func Convert[To, From Float](v []From) []To {
	if v == nil {
		return nil
	}
	out := make([]To, len(v))
	for i, x := range v {
		out[i] = To(x)
	}
	return out
}
