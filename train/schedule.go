package train

import (
	"fmt"
	"math"
)

// Schedule is how Adam's step size changes over a run.
type Schedule int

const (
	// Constant keeps FitConfig.LearnRate for every step.
	Constant Schedule = iota
	// Cosine decays it from FitConfig.LearnRate at the first step to
	// CosineFloor of it at the last, along half a cosine wave, so the last
	// epochs take small steps and the final weights settle.
	Cosine
)

// CosineFloor is the share of the learning rate the Cosine schedule ends at.
const CosineFloor = 0.01

// ParseSchedule reads a schedule's name as String writes it.
func ParseSchedule(name string) (Schedule, error) {
	for _, s := range []Schedule{Constant, Cosine} {
		if s.String() == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown learning-rate schedule %q: want constant or cosine", name)
}

// String names s.
func (s Schedule) String() string {
	switch s {
	case Constant:
		return "constant"
	case Cosine:
		return "cosine"
	}
	return fmt.Sprintf("Schedule(%d)", int(s))
}

// rate returns the step size of step (0-based) of steps in all, for base.
func (s Schedule) rate(base float64, step, steps int) float64 {
	if s != Cosine || steps <= 1 {
		return base
	}
	f := float64(step) / float64(steps-1)
	return base * (CosineFloor + (1-CosineFloor)*0.5*(1+math.Cos(math.Pi*f)))
}
