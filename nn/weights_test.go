package nn

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"papscope/safetensors"
)

func encodeWeights(t testing.TB, w *Weights) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := w.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// changeMeta returns w with its metadata changed by change, through WithMeta.
func changeMeta(t *testing.T, w *Weights, change func(*Metadata)) *Weights {
	t.Helper()
	m := w.Meta()
	change(&m)
	w, err := w.WithMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestMetaIsACopy: changing what Meta returns changes nothing in the weights.
func TestMetaIsACopy(t *testing.T) {
	w := changeMeta(t, testWeights(t, Dims{32, 32}, 1), func(m *Metadata) { m.Extra = map[string]string{"k": "v"} })
	m := w.Meta()
	m.Classes[0], m.Extra["k"], m.Crop = "X", "changed", 0.5
	if got := w.Meta(); got.Classes[0] != "HSIL" || got.Extra["k"] != "v" || got.Crop != 0 {
		t.Errorf("Meta after changing a copy: %+v", got)
	}
	if _, err := w.WithMeta(m); err == nil {
		t.Error("WithMeta accepted class names that are not the network's")
	}
}

func TestWeightsRoundTrip(t *testing.T) {
	w := changeMeta(t, testWeights(t, Dims{120, 160}, 5), func(m *Metadata) {
		m.TrainingData = "synthetic fields, seed 5"
		m.Metrics = `{"accuracy":0.97}`
		m.Source = "test"
		m.Data, m.Evaluation = SyntheticData, "held-out test split"
		m.Extra = map[string]string{"note": "kept"}
	})
	data := encodeWeights(t, w)
	got, err := DecodeWeights(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta().Input != (Dims{120, 160}) || got.Meta().TrainingData != w.Meta().TrainingData ||
		got.Meta().Metrics != w.Meta().Metrics || got.Meta().Source != "test" || got.Meta().Extra["note"] != "kept" ||
		got.Meta().Data != SyntheticData || got.Meta().Evaluation != w.Meta().Evaluation ||
		got.Meta().Preprocessing != Preprocessing {
		t.Errorf("metadata %+v, want %+v", got.Meta(), w.Meta())
	}
	for _, p := range Params() {
		a, b := w.Tensor(p.Name), got.Tensor(p.Name)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d] = %g after round trip, want %g", p.Name, i, b[i], a[i])
			}
		}
	}
	if again := encodeWeights(t, got); !bytes.Equal(again, data) {
		t.Error("re-encoding decoded weights gives different bytes: encoding is not deterministic")
	}
}

// mutate decodes a valid weights file, lets edit change it, and re-encodes it
// with the generic safetensors writer (bypassing nn's validation).
func mutate(t *testing.T, valid []byte, edit func(f *safetensors.File)) []byte {
	t.Helper()
	f, err := safetensors.Decode(valid, safetensors.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	edit(f)
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeWeightsErrors(t *testing.T) {
	valid := encodeWeights(t, testWeights(t, Dims{299, 299}, 1))
	setValue := func(name string, v float32) func(f *safetensors.File) {
		return func(f *safetensors.File) {
			tt, _ := f.Tensor(name)
			vals, _ := tt.Float32s()
			vals[3] = v
			nt, _ := safetensors.F32(name, tt.Shape, vals)
			*tt = nt
		}
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr string // in the message
		tensor  string // the *TensorError's Name, "" when the error is not about one tensor
		is      error  // what the TensorError wraps, nil when not one of the sentinels
	}{
		{"empty", nil, "weights: safetensors", "", nil},
		{"garbage", []byte("this is not a weights file at all"), "weights: safetensors", "", nil},
		{"truncated", valid[:len(valid)-100], "weights: safetensors", "", nil},
		{"missing tensor", mutate(t, valid, func(f *safetensors.File) {
			f.Tensors = f.Tensors[:len(f.Tensors)-1]
		}), `tensor "dense_1/bias" is missing`, "dense_1/bias", ErrMissingTensor},
		{"wrong shape", mutate(t, valid, func(f *safetensors.File) {
			tt, _ := f.Tensor("separable_conv2d_3/pointwise_kernel")
			tt.Shape = []int{1, 1, 128 * 128}
		}), `tensor "separable_conv2d_3/pointwise_kernel" has shape [1 1 16384], want [1 1 128 128]`, "separable_conv2d_3/pointwise_kernel", ErrTensorShape},
		{"wrong dtype", mutate(t, valid, func(f *safetensors.File) {
			tt, _ := f.Tensor("dense/bias")
			tt.DType, tt.Shape = "I32", []int{256}
		}), `tensor "dense/bias" has dtype I32, want F32`, "dense/bias", ErrTensorDType},
		{"unknown tensor", mutate(t, valid, func(f *safetensors.File) {
			extra, _ := safetensors.F32("dense_2/kernel", []int{2}, []float32{1, 2})
			f.Tensors = append(f.Tensors, extra)
		}), `tensor "dense_2/kernel" is not part of the architecture`, "dense_2/kernel", ErrUnknownTensor},
		{"NaN", mutate(t, valid, setValue("conv2d/kernel", float32(math.NaN()))), `tensor "conv2d/kernel" has non-finite value NaN at index 3`, "conv2d/kernel", ErrNonFinite},
		{"Inf", mutate(t, valid, setValue("batch_normalization_4/gamma", float32(math.Inf(1)))), `tensor "batch_normalization_4/gamma" has non-finite value +Inf`, "batch_normalization_4/gamma", ErrNonFinite},
		{"negative variance", mutate(t, valid, setValue("batch_normalization/moving_variance", -1)), `negative variance`, "batch_normalization/moving_variance", nil},
		{"classes reordered", mutate(t, valid, func(f *safetensors.File) {
			f.Metadata["classes"] = `["LSIL","HSIL","NILM","SCC"]`
		}), "do not match the network's", "", nil},
		{"not papscope", mutate(t, valid, func(f *safetensors.File) {
			delete(f.Metadata, "format")
		}), "not papscope weights", "", nil},
		{"bad input shape", mutate(t, valid, func(f *safetensors.File) {
			f.Metadata["input_shape"] = "[299,299]"
		}), "want [height, width, 3]", "", nil},
		{"tiny input", mutate(t, valid, func(f *safetensors.File) {
			f.Metadata["input_shape"] = "[5,5,3]"
		}), "too small", "", nil},
		{"bad metrics", mutate(t, valid, func(f *safetensors.File) {
			f.Metadata["metrics"] = "{accuracy"
		}), "metrics metadata is not valid JSON", "", nil},
		{"unknown data kind", mutate(t, valid, func(f *safetensors.File) {
			f.Metadata["data"] = "drawn"
		}), `data kind "drawn"`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := DecodeWeights(tt.data)
			if err == nil {
				t.Fatalf("DecodeWeights succeeded (%v), want error containing %q", w.Meta(), tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("DecodeWeights error = %q, want it to contain %q", err, tt.wantErr)
			}
			checkTensorError(t, err, tt.tensor, tt.is)
		})
	}
}

// checkTensorError checks that err is a *TensorError naming tensor and
// wrapping is (when not nil), or, for tensor "", that it is no TensorError.
func checkTensorError(t *testing.T, err error, tensor string, is error) {
	t.Helper()
	var te *TensorError
	if !errors.As(err, &te) {
		if tensor != "" {
			t.Fatalf("error %q is not a *TensorError, want one naming %q", err, tensor)
		}
		return
	}
	if tensor == "" || te.Name != tensor {
		t.Fatalf("error %q names tensor %q, want %q", err, te.Name, tensor)
	}
	if is != nil && !errors.Is(err, is) {
		t.Fatalf("error %q does not wrap %q", err, is)
	}
}

func TestInitWeights(t *testing.T) {
	a, err := InitWeights(DefaultMetadata(Dims{64, 64}), 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := InitWeights(DefaultMetadata(Dims{64, 64}), 7)
	c, _ := InitWeights(DefaultMetadata(Dims{64, 64}), 8)
	k := "separable_conv2d_5/pointwise_kernel"
	if a.Tensor(k)[10] != b.Tensor(k)[10] || a.Tensor(k)[10] == c.Tensor(k)[10] {
		t.Errorf("InitWeights is not seeded: %g %g %g", a.Tensor(k)[10], b.Tensor(k)[10], c.Tensor(k)[10])
	}
	limit := math.Sqrt(6.0 / (128 + 128))
	for _, v := range a.Tensor(k) {
		if math.Abs(float64(v)) > limit {
			t.Fatalf("Glorot-uniform value %g outside ±%g", v, limit)
		}
	}
	if a.Tensor("batch_normalization_2/gamma")[0] != 1 || a.Tensor("batch_normalization_2/moving_variance")[0] != 1 {
		t.Error("batch normalization should start as the identity")
	}
}

// FuzzDecodeWeights checks that no input makes DecodeWeights panic, and that
// whatever it accepts is complete, finite and re-encodes to a file it accepts again.
func FuzzDecodeWeights(f *testing.F) {
	w, err := InitWeights(DefaultMetadata(Dims{32, 32}), 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(encodeWeights(f, w))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := DecodeWeights(data)
		if err != nil {
			return
		}
		for _, p := range Params() {
			if len(w.Tensor(p.Name)) != p.Size() {
				t.Fatalf("accepted weights with %q of %d values", p.Name, len(w.Tensor(p.Name)))
			}
		}
		if _, err := DecodeWeights(encodeWeights(t, w)); err != nil {
			t.Fatalf("re-encoded accepted weights fail to decode: %v", err)
		}
	})
}
