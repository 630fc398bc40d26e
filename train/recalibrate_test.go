package train

import (
	"context"
	"math"
	"testing"

	"papscope/nn"
)

// TestRecalibrateSetsPopulationStatistics checks every batch-normalization
// layer's moving statistics after Recalibrate against the float64
// training-mode reference, run chunk by chunk and combined by hand.
func TestRecalibrateSetsPopulationStatistics(t *testing.T) {
	in := nn.Dims{Height: 15, Width: 18}
	size := in.Height * in.Width * 3
	for _, tc := range []struct {
		name                   string
		images, batch, workers int
		chunks                 int // whole chunks the statistics come from
	}{
		{"one chunk", 4, 4, 1, 1},
		{"two chunks on two workers", 4, 2, 2, 2},
		{"three chunks on two workers, remainder left out", 7, 2, 2, 3},
		{"fewer images than a batch", 3, 8, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := testWeights(t, in, 11)
			net, err := New(w)
			if err != nil {
				t.Fatal(err)
			}
			images := randImages(4, tc.images, in)
			if err := net.Recalibrate(context.Background(), images, in, tc.batch, tc.workers); err != nil {
				t.Fatal(err)
			}
			got, err := net.Weights()
			if err != nil {
				t.Fatal(err)
			}
			per := tc.images / tc.chunks
			mean, square := map[string][]float64{}, map[string][]float64{}
			for c := range tc.chunks {
				for name, st := range referenceBatchStats(w, images[c*per*size:(c+1)*per*size], per, in) {
					if mean[name] == nil {
						mean[name], square[name] = make([]float64, len(st[0])), make([]float64, len(st[0]))
					}
					for i, u := range st[0] {
						mean[name][i] += u / float64(tc.chunks)
						square[name][i] += (st[1][i] + u*u) / float64(tc.chunks)
					}
				}
			}
			if len(mean) != 17 {
				t.Fatalf("reference found %d batch-normalization layers, want 17", len(mean))
			}
			for name, u := range mean {
				gm, gv := got.Tensor(name+"/moving_mean"), got.Tensor(name+"/moving_variance")
				for i := range u {
					wantVar := square[name][i] - u[i]*u[i]
					if d := math.Abs(float64(gm[i]) - u[i]); d > 1e-4*math.Max(1, math.Abs(u[i])) {
						t.Fatalf("%s channel %d: moving mean %g, want %g", name, i, gm[i], u[i])
					}
					if d := math.Abs(float64(gv[i]) - wantVar); d > 1e-4*math.Max(1, wantVar) {
						t.Fatalf("%s channel %d: moving variance %g, want %g", name, i, gv[i], wantVar)
					}
				}
			}
		})
	}
}

func TestRecalibrateRefusesBadInput(t *testing.T) {
	in := nn.Dims{Height: 9, Width: 9}
	net, err := New(testWeights(t, in, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 100, 9*9*3 + 1} {
		if err := net.Recalibrate(context.Background(), make([]float32, n), in, 2, 1); err == nil {
			t.Errorf("%d values: no error", n)
		}
	}
}
