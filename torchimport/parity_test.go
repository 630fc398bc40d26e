package torchimport_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"papscope/nn"
	"papscope/safetensors"
	"papscope/torchimport"
	"papscope/torchimport/torchtest"
)

// python returns the interpreter with PyTorch (see torchtest.Python).
func python(t *testing.T) string { return torchtest.Python(t, "..") }

// runPython runs Python with the twin on its path (see torchtest.Run).
func runPython(t *testing.T, args ...string) { torchtest.Run(t, "..", args...) }

// farWeights are seeded weights with batch norm, biases and moving statistics
// far from their initial values, so a layout error anywhere shows.
func farWeights(t *testing.T, seed uint64) *nn.Weights {
	t.Helper()
	w, err := nn.InitWeights(nn.DefaultMetadata(nn.Dims{Height: 96, Width: 96}), seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	tensors := map[string][]float32{}
	for _, p := range nn.Params() {
		v := slices.Clone(w.Tensor(p.Name))
		for i := range v {
			switch suffix := p.Name[strings.LastIndexByte(p.Name, '/')+1:]; suffix {
			case "bias", "beta":
				v[i] = float32(rng.Float64()-0.5) * 0.2
			case "gamma":
				v[i] = 0.5 + float32(rng.Float64())
			case "moving_mean":
				v[i] = float32(rng.Float64()-0.5) * 0.4
			case "moving_variance":
				v[i] = 0.3 + float32(rng.Float64())
			}
			if strings.HasPrefix(p.Name, "dense") && strings.HasSuffix(p.Name, "/kernel") {
				v[i] *= 5 // logits spread over several units, so probabilities are far from uniform
			}
		}
		tensors[p.Name] = v
	}
	w, err = nn.NewWeights(w.Meta(), tensors)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// atSize returns w declaring another input size (nn runs at the declared size).
func atSize(t *testing.T, w *nn.Weights, d nn.Dims) *nn.Weights {
	t.Helper()
	tensors := map[string][]float32{}
	for _, p := range nn.Params() {
		tensors[p.Name] = w.Tensor(p.Name)
	}
	meta := w.Meta()
	meta.Input = d
	w2, err := nn.NewWeights(meta, tensors)
	if err != nil {
		t.Fatal(err)
	}
	return w2
}

func readFile(t *testing.T, path string) *safetensors.File {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Decode(data, safetensors.Limits{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

func floats(t *testing.T, f *safetensors.File, name string) []float32 {
	t.Helper()
	tn, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("no tensor %q", name)
	}
	v, err := tn.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// inputSizes are the parity inputs: square, and odd and non-square (Keras's
// valid padding then drops a row and a column at conv1 and at the max-pool).
var inputSizes = []struct {
	name string
	dims nn.Dims
	n    int
}{
	{"96x96", nn.Dims{Height: 96, Width: 96}, 3},
	{"61x75", nn.Dims{Height: 61, Width: 75}, 2},
}

// TestTwinMatchesNN runs the PyTorch twin and nn on the same weights and
// inputs, both ways through the converters: papscope weights into the twin
// (convert.from_papscope), and a twin's state_dict into papscope (this
// package's Import, and convert.to_papscope, which must agree bit for bit).
// Probabilities must agree within 1e-4.
func TestTwinMatchesNN(t *testing.T) {
	dir := t.TempDir()
	w := farWeights(t, 21)
	var buf bytes.Buffer
	if err := w.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	wPath := filepath.Join(dir, "papscope.safetensors")
	os.WriteFile(wPath, buf.Bytes(), 0o644)
	rng := rand.New(rand.NewPCG(4, 5))
	images := map[string][]float32{}
	in := &safetensors.File{}
	for _, s := range inputSizes {
		v := make([]float32, s.n*s.dims.Height*s.dims.Width*3)
		for i := range v {
			v[i] = rng.Float32()
		}
		images[s.name] = v
		st, err := safetensors.F32("images."+s.name, []int{s.n, s.dims.Height, s.dims.Width, 3}, v)
		if err != nil {
			t.Fatal(err)
		}
		in.Tensors = append(in.Tensors, st)
	}
	buf.Reset()
	if err := safetensors.Encode(&buf, in); err != nil {
		t.Fatal(err)
	}
	inPath := filepath.Join(dir, "inputs.safetensors")
	os.WriteFile(inPath, buf.Bytes(), 0o644)

	runPython(t, "-m", "papscope_torch.parity", "--papscope", wPath, "--inputs", inPath, "--out", dir, "--seed", "3")

	twinData, err := os.ReadFile(filepath.Join(dir, "twin.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	imported, err := torchimport.Import(twinData, torchimport.Options{Input: nn.Dims{Height: 96, Width: 96}})
	if err != nil {
		t.Fatalf("import the twin's state_dict: %v", err)
	}
	pyConverted := readFile(t, filepath.Join(dir, "twin_papscope.safetensors"))
	for _, p := range nn.Params() {
		if got, want := imported.Tensor(p.Name), floats(t, pyConverted, p.Name); !slices.Equal(got, want) {
			t.Errorf("%s: torchimport.Import and convert.to_papscope disagree", p.Name)
		}
	}
	pyW, err := nn.DecodeWeights(mustRead(t, filepath.Join(dir, "twin_papscope.safetensors")))
	if err != nil {
		t.Fatalf("nn cannot load convert.to_papscope's output: %v", err)
	}

	directions := []struct {
		name    string
		weights *nn.Weights
		ref     string // file of the twin's outputs on the same weights
	}{
		{"papscope→torch (convert.from_papscope)", w, "from_papscope.safetensors"},
		{"torch→papscope (torchimport.Import)", imported, "twin_probs.safetensors"},
		{"torch→papscope (convert.to_papscope)", pyW, "twin_probs.safetensors"},
	}
	for _, d := range directions {
		ref := readFile(t, filepath.Join(dir, d.ref))
		for _, s := range inputSizes {
			m, err := nn.NewModel(atSize(t, d.weights, s.dims))
			if err != nil {
				t.Fatal(err)
			}
			probs, logits := floats(t, ref, "probs."+s.name), floats(t, ref, "logits."+s.name)
			size := s.dims.Height * s.dims.Width * 3
			var maxProb, maxLogit float64
			for i := range s.n {
				out, err := m.Forward(images[s.name][i*size : (i+1)*size])
				if err != nil {
					t.Fatal(err)
				}
				for c := range nn.NumClasses {
					dp := math.Abs(float64(out.Probs[c]) - float64(probs[i*nn.NumClasses+c]))
					maxProb = math.Max(maxProb, dp)
					maxLogit = math.Max(maxLogit, math.Abs(float64(out.Logits[c])-float64(logits[i*nn.NumClasses+c])))
					if dl := math.Abs(float64(out.Logits[c]) - float64(logits[i*nn.NumClasses+c])); dl > 1e-3*math.Max(1, math.Abs(float64(out.Logits[c]))) {
						t.Errorf("%s, %s image %d: logit[%s] nn %.6g, twin %.6g (diff %.2g)", d.name, s.name, i, nn.ClassNames()[c], out.Logits[c], logits[i*nn.NumClasses+c], dl)
					}
					if dp > 1e-4 {
						t.Errorf("%s, %s image %d: prob[%s] nn %.7f, twin %.7f (diff %.2g > 1e-4)", d.name, s.name, i, nn.ClassNames()[c], out.Probs[c], probs[i*nn.NumClasses+c], dp)
					}
				}
			}
			t.Logf("%s, %s (%d images): max |Δprob| %.3g, max |Δlogit| %.3g; twin's logits span %.3g", d.name, s.name, s.n, maxProb, maxLogit, spread(logits))
			if spread(logits) < 1 {
				t.Errorf("%s, %s: the twin's logits span only %.3g: inputs this alike do not test the layouts", d.name, s.name, spread(logits))
			}
			if maxLogit == 0 && maxProb == 0 {
				// Two independent implementations in float32 never agree to the last bit on this network.
				t.Errorf("%s, %s: nn and the twin agree exactly: is the comparison comparing anything?", d.name, s.name)
			}
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// spread returns max(v) - min(v).
func spread(v []float32) float64 {
	return float64(slices.Max(v) - slices.Min(v))
}
