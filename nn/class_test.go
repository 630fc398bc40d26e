package nn

import (
	"math"
	"testing"
)

func TestParseClass(t *testing.T) {
	tests := []struct {
		in   string
		want Class
		ok   bool
	}{
		{"HSIL", HSIL, true}, {"lsil", LSIL, true}, {"Nilm", NILM, true}, {"NIML", NILM, true}, {"niml", NILM, true}, {"SCC", SCC, true},
		{"ASCUS", 0, false}, {"", 0, false}, {"NILM ", 0, false}, {" scc", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseClass(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseClass(%q) = %v, %v", tt.in, got, err)
		}
	}
	names := ClassNames()
	for c := range Class(NumClasses) {
		if back, err := ParseClass(c.String()); err != nil || back != c || names[c] != c.String() {
			t.Errorf("round trip %v: %v %v (ClassNames %q)", c, back, err, names)
		}
	}
	names[0] = "changed"
	if ClassNames()[0] != "HSIL" {
		t.Error("changing what ClassNames returned changed the class names")
	}
	if s := Class(NumClasses).String(); s != "Class(4)" {
		t.Errorf("Class(4).String() = %q", s)
	}
}

func TestArgmax(t *testing.T) {
	tests := []struct {
		in   []float32
		want Class
	}{
		{[]float32{0.1, 0.2, 0.6, 0.1}, NILM},
		{[]float32{0.4, 0.1, 0.1, 0.4}, HSIL}, // the first on ties
		{[]float32{-3, -1, -2, -5}, LSIL},     // logits too
		{[]float32{0.2, 0.8}, 1},              // any number of classes
	}
	for _, tt := range tests {
		if got := Argmax(tt.in); got != tt.want {
			t.Errorf("Argmax(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestProbs(t *testing.T) {
	logits := []float32{1, 2, 3, -1}
	for _, temp := range []float64{0, 1, 0.5, 3} {
		dst := make([]float32, len(logits))
		got := Probs(dst, logits, temp)
		if &got[0] != &dst[0] {
			t.Fatal("Probs did not return dst")
		}
		tt := temp
		if tt == 0 {
			tt = 1
		}
		sum := 0.0
		for _, l := range logits {
			sum += math.Exp(float64(l) / tt)
		}
		for i, l := range logits {
			if want := math.Exp(float64(l)/tt) / sum; math.Abs(float64(got[i])-want) > 1e-6 {
				t.Errorf("T=%g: prob %d = %g, want %g", temp, i, got[i], want)
			}
		}
	}
	big := Probs(make([]float32, 2), []float32{1e30, 0}, 1) // stable: no overflow
	if big[0] != 1 || big[1] != 0 {
		t.Errorf("Probs of huge logits = %v", big)
	}
}

func TestProbsPanics(t *testing.T) {
	tests := []struct {
		name        string
		dst, logits []float32
		temperature float64
	}{
		{"lengths differ", make([]float32, 3), make([]float32, 4), 1},
		{"empty", nil, nil, 1},
		{"negative temperature", make([]float32, 4), make([]float32, 4), -1},
		{"NaN temperature", make([]float32, 4), make([]float32, 4), math.NaN()},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Probs did not panic", tt.name)
				}
			}()
			Probs(tt.dst, tt.logits, tt.temperature)
		}()
	}
}
