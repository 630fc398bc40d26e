package nn

import (
	"testing"
	"time"
)

func TestForwardTimedChargesEveryLayerKind(t *testing.T) {
	in := Dims{128, 96}
	m, err := NewModel(testWeights(t, in, 5))
	if err != nil {
		t.Fatal(err)
	}
	x := testInput(in, 5)
	want, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	times := LayerTimes{Head: time.Hour} // stale figures must be cleared, not added to
	start := time.Now()
	got, err := m.ForwardTimed(x, &times)
	wall := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if got.Logits != want.Logits {
		t.Errorf("ForwardTimed logits %v, Forward %v", got.Logits, want.Logits)
	}
	for _, k := range []struct {
		name string
		d    time.Duration
	}{
		{"conv1", times.Conv1}, {"depthwise", times.Depthwise}, {"pointwise", times.Pointwise},
		{"pool", times.Pool}, {"head", times.Head},
	} {
		if k.d <= 0 {
			t.Errorf("%s: %v, want > 0", k.name, k.d)
		}
	}
	// The laps are taken inside the pass, so together they cannot exceed it.
	// (How they share it depends on the machine and its load: not asserted.)
	if total := times.Total(); total > wall {
		t.Errorf("layer times total %v for a forward pass of %v", total, wall)
	}
	t.Logf("%+v", times)
}

// TestClassifyRGBATimed: the timed classification gives ClassifyRGBA's result,
// times preprocessing and every layer kind, and replaces stale figures.
func TestClassifyRGBATimed(t *testing.T) {
	in := Dims{32, 24}
	m, err := NewModel(testWeights(t, in, 6))
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 40, 30
	pix := make([]byte, 4*w*h)
	for i := range pix {
		pix[i] = byte(i * 7)
	}
	want, err := m.ClassifyRGBA(pix, w, h)
	if err != nil {
		t.Fatal(err)
	}
	times := ClassifyTimes{Preprocess: time.Hour, Layers: LayerTimes{Head: time.Hour}}
	got, err := m.ClassifyRGBATimed(pix, w, h, &times)
	if err != nil {
		t.Fatal(err)
	}
	if got.Logits != want.Logits {
		t.Errorf("ClassifyRGBATimed logits %v, ClassifyRGBA %v", got.Logits, want.Logits)
	}
	if times.Preprocess <= 0 || times.Preprocess >= time.Hour || times.Layers.Head <= 0 || times.Layers.Head >= time.Hour {
		t.Errorf("times %+v: want fresh positive preprocess and head times", times)
	}
	if _, err := m.ClassifyRGBATimed(pix[:4], w, h, &times); err == nil {
		t.Error("short pixels: no error")
	}
}
