package nn

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Class is a Bethesda category, numbered in the network's output order.
type Class int

// The four classes, in output order: alphabetical, as Keras's
// flow_from_directory orders the folders HSIL/ LSIL/ NILM/ SCC/.
const (
	HSIL Class = iota // high-grade squamous intraepithelial lesion
	LSIL              // low-grade squamous intraepithelial lesion
	NILM              // negative for intraepithelial lesion or malignancy
	SCC               // squamous cell carcinoma
)

// NumClasses is the number of output classes.
const NumClasses = 4

var classNames = [NumClasses]string{"HSIL", "LSIL", "NILM", "SCC"}

// String returns the class's name ("HSIL", "LSIL", "NILM", "SCC"), the name of its folder.
func (c Class) String() string {
	if c < 0 || c >= NumClasses {
		return fmt.Sprintf("Class(%d)", int(c))
	}
	return classNames[c]
}

// ClassNames returns the class names in output order, a new slice each call.
func ClassNames() []string { return slices.Clone(classNames[:]) }

// ParseClass returns the class named name, ignoring case; "NIML", a common
// misspelling in folder names, is NILM. Any other name, spaces included, is an error.
func ParseClass(name string) (Class, error) {
	u := strings.ToUpper(name)
	if u == "NIML" {
		return NILM, nil
	}
	for i, n := range classNames {
		if n == u {
			return Class(i), nil
		}
	}
	return 0, fmt.Errorf("class %q is not one of %s", name, strings.Join(classNames[:], ", "))
}

// Argmax returns the class of the largest of probs (or logits), the first on
// ties: the index of the largest value, for any number of classes. It panics
// when probs is empty.
func Argmax(probs []float32) Class {
	if len(probs) == 0 {
		panic("nn: Argmax of no values")
	}
	best := 0
	for i, p := range probs {
		if p > probs[best] {
			best = i
		}
	}
	return Class(best)
}

// Probs writes into dst the probabilities of logits at a softmax temperature:
// the normalised exponentials of logits / temperature, computed stably in
// float64, exactly as the network computes Output.Probs; a temperature of 0 means 1. It allocates nothing and returns dst. It panics
// when dst and logits differ in length, when they are empty, or when the
// temperature is negative or not a number.
func Probs(dst, logits []float32, temperature float64) []float32 {
	if len(dst) != len(logits) || len(logits) == 0 {
		panic(fmt.Sprintf("nn: Probs of %d logits into %d values", len(logits), len(dst)))
	}
	if !(temperature >= 0) {
		panic(fmt.Sprintf("nn: Probs at temperature %g", temperature))
	}
	if temperature == 0 {
		temperature = 1
	}
	mx := logits[0]
	for _, v := range logits {
		mx = max(mx, v)
	}
	exp := func(v float32) float64 {
		z := float64(v - mx)
		if temperature != 1 {
			z /= temperature
		}
		return math.Exp(z)
	}
	sum := 0.0
	for _, v := range logits {
		sum += exp(v)
	}
	for i, v := range logits {
		dst[i] = float32(exp(v) / sum)
	}
	return dst
}
