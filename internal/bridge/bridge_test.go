package bridge

import (
	"bytes"
	"encoding/json"
	"image"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"papscope/nn"
)

// weightsFile returns encoded fresh weights at a small input size.
func weightsFile(t *testing.T, seed uint64, in nn.Dims) []byte {
	t.Helper()
	m := nn.DefaultMetadata(in)
	m.TrainingData, m.Data = "fields drawn by papscope synth", nn.SyntheticData
	w, err := nn.InitWeights(m, seed)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := w.Encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pixels(w, h int, seed byte) []byte {
	p := make([]byte, w*h*4)
	for i := range p {
		p[i] = byte(i*31) ^ seed
		if i%4 == 3 {
			p[i] = 255
		}
	}
	return p
}

func TestLoadAndClassifyMatchesModel(t *testing.T) {
	data := weightsFile(t, 3, nn.Dims{Height: 32, Width: 32})
	e := NewEngine()
	resp := e.Handle(Request{Kind: Load, ID: 1, Files: []string{"w.safetensors"}}, [][]byte{data})
	if resp.Error != "" || resp.ID != 1 || resp.Kind != Load {
		t.Fatalf("load: %+v", resp)
	}
	if resp.Model.Name != "w.safetensors" || !resp.Model.Synthetic || *resp.Input != (nn.Dims{Height: 32, Width: 32}) {
		t.Errorf("load: card %+v input %v", resp.Model, resp.Input)
	}

	w, _ := nn.DecodeWeights(data)
	m, _ := nn.NewModel(w)
	pix := pixels(50, 40, 9)
	want, err := m.ClassifyRGBA(pix, 50, 40)
	if err != nil {
		t.Fatal(err)
	}
	resp = e.Handle(Request{Kind: Classify, ID: 2, Name: "x.png", Width: 50, Height: 40, CAM: true}, [][]byte{pix})
	if resp.Error != "" {
		t.Fatal(resp.Error)
	}
	if resp.Probs != want.Probs || resp.Top != nn.ClassNames()[want.Top()] || resp.Name != "x.png" {
		t.Errorf("classify = %v %s, want %v %s", resp.Probs, resp.Top, want.Probs, nn.ClassNames()[want.Top()])
	}
	if resp.OOD != nil {
		t.Errorf("OOD = %+v for weights without statistics", resp.OOD)
	}
	d := want.FeatureDims
	if resp.CAM == nil || resp.CAM.Class != resp.Top || resp.CAM.Width != d.Width || resp.CAM.Height != d.Height || len(resp.CAM.Values) != d.Width*d.Height {
		t.Fatalf("CAM = %+v, want the top class at %v", resp.CAM, d)
	}

	// The JSON the worker posts carries the probabilities exactly.
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var back Response
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Probs != resp.Probs || back.CAM.Values[0] != resp.CAM.Values[0] {
		t.Errorf("JSON round trip changed the probabilities: %v → %v", resp.Probs, back.Probs)
	}

	// A classification without CAM (a batch) does not disturb the kept features.
	wantCAM, _ := m.GradCAM(nil, &want, 1)
	if r := e.Handle(Request{Kind: Classify, ID: 3, Width: 8, Height: 8}, [][]byte{pixels(8, 8, 1)}); r.Error != "" || r.CAM != nil {
		t.Fatalf("batch classify: %+v", r)
	}
	r := e.Handle(Request{Kind: GradCAM, ID: 4, Class: "LSIL"}, nil)
	if r.Error != "" || r.CAM.Class != "LSIL" {
		t.Fatalf("gradcam: %+v", r)
	}
	for i := range wantCAM {
		if r.CAM.Values[i] != wantCAM[i] {
			t.Fatalf("gradcam LSIL[%d] = %g, want %g (of the kept image)", i, r.CAM.Values[i], wantCAM[i])
		}
	}
}

func TestFailedLoadKeepsModel(t *testing.T) {
	e := NewEngine()
	good := weightsFile(t, 3, nn.Dims{Height: 16, Width: 16})
	if r := e.Handle(Request{Kind: Load, Files: []string{"good.safetensors"}}, [][]byte{good}); r.Error != "" {
		t.Fatal(r.Error)
	}
	for _, tc := range []struct {
		name   string
		files  []string
		bufs   [][]byte
		errSub string
	}{
		{"garbage", []string{"bad.safetensors"}, [][]byte{[]byte("not weights")}, "bad.safetensors"},
		{"empty", []string{"e.safetensors"}, [][]byte{{}}, "e.safetensors"},
		{"truncated", []string{"t.safetensors"}, [][]byte{good[:len(good)/2]}, "t.safetensors"},
		{"image instead", []string{"cells.png"}, [][]byte{{1, 2}}, "choose one .safetensors"},
		{"two safetensors", []string{"a.safetensors", "b.safetensors"}, [][]byte{good, good}, "choose one .safetensors"},
		{"names mismatch", []string{"a.safetensors", "b"}, [][]byte{good}, "2 file names for 1 files"},
		{"nothing", nil, nil, "0 file names"},
		{"bad model.json", []string{"model.json"}, [][]byte{[]byte("{")}, "model.json: tfjs"},
	} {
		r := e.Handle(Request{Kind: Load, ID: 7, Files: tc.files}, tc.bufs)
		if !strings.Contains(r.Error, tc.errSub) || r.Model != nil {
			t.Errorf("%s: response %+v, want an error containing %q", tc.name, r, tc.errSub)
		}
	}
	r := e.Handle(Request{Kind: Classify, Width: 4, Height: 4, CAM: true}, [][]byte{pixels(4, 4, 0)})
	if r.Error != "" || r.CAM.Width != e.camOut.FeatureDims.Width {
		t.Fatalf("classify after failed loads: %+v", r)
	}
	if e.card.Name != "good.safetensors" {
		t.Errorf("model in use is %q, want good.safetensors", e.card.Name)
	}
}

func TestLoadTFJS(t *testing.T) {
	dir := filepath.Join("..", "..", "nn", "testdata", "tfjs", "seed7_160x120")
	modelJSON, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	shard, err := os.ReadFile(filepath.Join(dir, "group1-shard1of1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine()
	r := e.Handle(Request{Kind: Load, Files: []string{"group1-shard1of1.bin", "model.json"}}, [][]byte{shard, modelJSON})
	if r.Error != "" || r.Model.Name != "model.json" || *r.Input != (nn.Dims{Height: 120, Width: 160}) {
		t.Fatalf("load tfjs: %+v", r)
	}
	r = e.Handle(Request{Kind: Load, Files: []string{"model.json"}}, [][]byte{modelJSON})
	if !strings.Contains(r.Error, "was not among the files chosen") {
		t.Errorf("model.json without its shard: error %q", r.Error)
	}
}

func TestRequestErrors(t *testing.T) {
	e := NewEngine()
	if r := e.Handle(Request{Kind: Classify, Width: 2, Height: 2}, [][]byte{pixels(2, 2, 0)}); !strings.Contains(r.Error, "no model") {
		t.Errorf("classify without a model: %q", r.Error)
	}
	e.Handle(Request{Kind: Load, Files: []string{"w.safetensors"}}, [][]byte{weightsFile(t, 1, nn.Dims{Height: 16, Width: 16})})
	for _, tc := range []struct {
		name   string
		req    Request
		bufs   [][]byte
		errSub string
	}{
		{"unknown kind", Request{Kind: "dance"}, nil, "unknown request kind"},
		{"short pixels", Request{Kind: Classify, Width: 3, Height: 2}, [][]byte{make([]byte, 20)}, "want 24"},
		{"no pixels", Request{Kind: Classify, Width: 3, Height: 2}, nil, "want 1 pixel buffer"},
		{"zero size", Request{Kind: Classify}, [][]byte{{}}, "no pixels"},
		{"huge", Request{Kind: Classify, Width: 100000, Height: 100000}, [][]byte{{}}, "too large"},
		{"gradcam before classify", Request{Kind: GradCAM, Class: "HSIL"}, nil, "no image classified"},
		{"gradcam bad class", Request{Kind: GradCAM, Class: "NIML"}, nil, "unknown class"},
	} {
		if r := e.Handle(tc.req, tc.bufs); !strings.Contains(r.Error, tc.errSub) {
			t.Errorf("%s: error %q, want one containing %q", tc.name, r.Error, tc.errSub)
		}
	}
}

// TestClassifyTiming checks the phase split: the bridge's clock, whose n-th
// reading is n ms after the one before, times nn's one classification call (2 ms)
// and Grad-CAM (3 ms); preprocessing and the forward pass by layer kind are
// nn's, on the real clock, and the forward pass is the sum of its layer kinds.
func TestClassifyTiming(t *testing.T) {
	e := NewEngine()
	if r := e.Handle(Request{Kind: Load, Files: []string{"w.safetensors"}}, [][]byte{weightsFile(t, 3, nn.Dims{Height: 16, Width: 16})}); r.Error != "" {
		t.Fatal(r.Error)
	}
	for _, tc := range []struct {
		cam     bool
		wantCAM float64
	}{
		{false, 0},
		{true, 3},
	} {
		clock, step := time.Unix(0, 0), time.Duration(0)
		e.now = func() time.Time {
			step += time.Millisecond
			clock = clock.Add(step)
			return clock
		}
		r := e.Handle(Request{Kind: Classify, Width: 20, Height: 10, CAM: tc.cam}, [][]byte{pixels(20, 10, 2)})
		if r.Error != "" {
			t.Fatal(r.Error)
		}
		if r.Timing == nil {
			t.Fatalf("cam %v: no timing", tc.cam)
		}
		p := *r.Timing
		if r.Ms != 2 || p.CAM != tc.wantCAM || p.Copy != 0 {
			t.Errorf("cam %v: ms %v, cam %v ms, copy %v ms; want 2, %v, 0", tc.cam, r.Ms, p.CAM, p.Copy, tc.wantCAM)
		}
		layers := []float64{p.Conv1, p.Depthwise, p.Pointwise, p.Pool, p.Head}
		sum := 0.0
		for i, ms := range layers {
			sum += ms
			if ms <= 0 {
				t.Errorf("cam %v: layer kind %d took %v ms, want > 0 (conv1, depthwise, pointwise, pool, head)", tc.cam, i, ms)
			}
		}
		if p.Preprocess <= 0 {
			t.Errorf("cam %v: preprocessing took %v ms, want > 0", tc.cam, p.Preprocess)
		}
		if math.Abs(p.Forward-sum) > 1e-9*sum {
			t.Errorf("cam %v: forward %v ms, want the layer kinds' sum %v", tc.cam, p.Forward, sum)
		}
	}
	if r := e.Handle(Request{Kind: GradCAM, Class: "HSIL"}, nil); r.Timing != nil {
		t.Errorf("gradcam response has timing %+v", r.Timing)
	}
}

// TestWorkerFatalKind: web/worker.js declares the fatal kind once, as FATAL,
// and it is Fatal; the page's Go side matches Fatal.
func TestWorkerFatalKind(t *testing.T) {
	js, err := os.ReadFile(filepath.Join("..", "..", "web", "worker.js"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^const FATAL = '([^']*)';$`).FindAllSubmatch(js, -1)
	if len(m) != 1 {
		t.Fatalf("web/worker.js declares FATAL %d times, want once", len(m))
	}
	if got := Kind(m[0][1]); got != Fatal {
		t.Errorf("web/worker.js: FATAL is %q, want %q (bridge.Fatal)", got, Fatal)
	}
	if n := strings.Count(string(js), "'"+string(Fatal)+"'"); n != 1 {
		t.Errorf("web/worker.js spells %q %d times, want once (in FATAL)", Fatal, n)
	}
}

// TestClassifyCropsAsCLI: the worker classifies with the weights' centre crop
// exactly as nn.Model.ClassifyImage (papscope classify's path) does, which is
// the plain model on the centred sub-image, for any crop the weights carry.
func TestClassifyCropsAsCLI(t *testing.T) {
	const w, h = 61, 45
	pix := pixels(w, h, 5)
	for i := range pix { // a border unlike the centre, as an augmented copy's fill
		x, y := i/4%w, i/4/w
		if c := i % 4; c != 3 && (x < w/4 || x >= w-w/4 || y < h/4 || y >= h-h/4) {
			pix[i] = byte(250 * (x % 2))
		}
	}
	img := &image.NRGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	in := nn.Dims{Height: 32, Width: 32}
	for _, crop := range []float64{0, 1, 0.5, 0.75, 0.33} {
		meta := nn.DefaultMetadata(in)
		meta.Crop = crop
		weights, err := nn.InitWeights(meta, 4)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := weights.Encode(&b); err != nil {
			t.Fatal(err)
		}
		e := NewEngine()
		if r := e.Handle(Request{Kind: Load, ID: 1, Files: []string{"crop.safetensors"}}, [][]byte{b.Bytes()}); r.Error != "" || r.Model.Crop != crop {
			t.Fatalf("crop %g: load: %+v", crop, r)
		}
		resp := e.Handle(Request{Kind: Classify, ID: 2, Width: w, Height: h}, [][]byte{pix})
		if resp.Error != "" {
			t.Fatal(resp.Error)
		}

		decoded, _ := nn.DecodeWeights(b.Bytes())
		m, err := nn.NewModel(decoded)
		if err != nil {
			t.Fatal(err)
		}
		cli, err := m.ClassifyImage(img)
		if err != nil {
			t.Fatal(err)
		}
		meta = weights.Meta()
		meta.Crop = 0
		uncropped, err := weights.WithMeta(meta)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := nn.NewModel(uncropped)
		if err != nil {
			t.Fatal(err)
		}
		centre, err := plain.ClassifyImage(img.SubImage(nn.CropRect(img.Bounds(), crop)))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Probs != cli.Probs || resp.Probs != centre.Probs {
			t.Errorf("crop %g: worker %v, nn.Model.ClassifyImage %v, the centre without a crop %v: want all equal", crop, resp.Probs, cli.Probs, centre.Probs)
		}
	}
}
