package train

import (
	"math"
	"testing"
)

func TestScheduleRate(t *testing.T) {
	const base, steps = 2e-3, 101
	for _, tc := range []struct {
		s    Schedule
		step int
		want float64
	}{
		{Constant, 0, base},
		{Constant, 100, base},
		{Cosine, 0, base},
		{Cosine, 50, base * (CosineFloor + (1-CosineFloor)/2)},
		{Cosine, 100, base * CosineFloor},
	} {
		if got := tc.s.rate(base, tc.step, steps); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s step %d of %d: rate %g, want %g", tc.s, tc.step, steps, got, tc.want)
		}
	}
	prev := math.Inf(1)
	for step := range steps {
		r := Cosine.rate(base, step, steps)
		if r > prev {
			t.Fatalf("cosine rate rises at step %d: %g after %g", step, r, prev)
		}
		prev = r
	}
}

func TestParseSchedule(t *testing.T) {
	for _, s := range []Schedule{Constant, Cosine} {
		got, err := ParseSchedule(s.String())
		if err != nil || got != s {
			t.Errorf("ParseSchedule(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseSchedule("linear"); err == nil {
		t.Error("ParseSchedule accepted an unknown name")
	}
}

func TestAugmentLevels(t *testing.T) {
	prev := -1.0
	for _, name := range AugmentLevels() {
		a, err := AugmentLevel(name)
		if err != nil {
			t.Fatal(err)
		}
		if a.Color < prev {
			t.Errorf("%s: colour jitter %g is weaker than the level before (%g)", name, a.Color, prev)
		}
		prev = a.Color
	}
	if a, _ := AugmentLevel("light"); a != DefaultAugment {
		t.Errorf("light is %+v, want DefaultAugment %+v", a, DefaultAugment)
	}
	if _, err := AugmentLevel("wild"); err == nil {
		t.Error("AugmentLevel accepted an unknown name")
	}
}
