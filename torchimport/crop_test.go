package torchimport_test

import (
	"encoding/json"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"papscope/nn"
)

// TestCropBoxMatchesNN checks that the twin's data.crop_box keeps the same
// pixels as nn.CropRect, rounding halves included (Python's round() would
// round 2.5 to 2, Go's math.Round to 3), so train.py --crop trains on what
// papscope classify and the browser later see.
func TestCropBoxMatchesNN(t *testing.T) {
	type box struct {
		W, H int
		Crop float64
	}
	var cases []box
	for _, side := range [][2]int{{1, 1}, {2, 3}, {5, 5}, {7, 9}, {96, 96}, {512, 512}, {2048, 1536}, {75, 61}} {
		for _, c := range []float64{0, 0.1, 0.3, 0.5, 0.7, 0.99, 1} {
			cases = append(cases, box{side[0], side[1], c})
		}
	}
	js, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python(t), "-c", `import json, sys
from papscope_torch import data
print(json.dumps([data.crop_box(c["W"], c["H"], c["Crop"]) for c in json.loads(sys.argv[1])]))`, string(js))
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "torch"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 data.crop_box: %v\n%s", err, out)
	}
	var got [][4]int
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(cases) {
		t.Fatalf("python3 printed %q (%v), want %d boxes", out, err, len(cases))
	}
	var halves int
	for i, c := range cases {
		r := nn.CropRect(image.Rect(0, 0, c.W, c.H), c.Crop)
		if want := [4]int{r.Min.X, r.Min.Y, r.Max.X, r.Max.Y}; got[i] != want {
			t.Errorf("%dx%d crop %g: twin keeps %v, nn %v", c.W, c.H, c.Crop, got[i], want)
		}
		if s := fmt.Sprint(float64(c.W) * c.Crop); strings.HasSuffix(s, ".5") {
			halves++
		}
	}
	if halves == 0 {
		t.Error("no case rounds a half: the test does not tell Go's rounding from Python's")
	}
}
