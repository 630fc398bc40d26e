package tfjs

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus under testdata/fuzz/FuzzImport and the error message golden")

// fuzzSeeds are the valid models of the seed corpus; their shards are distinct files.
func fuzzSeeds() map[string]*fixture {
	return map[string]*fixture{
		"valid_tfjs_save":      newFixture(fixtureOptions{dialect: tfjsSave, names: tfjsNames, seed: 11}),
		"valid_keras2_sharded": newFixture(fixtureOptions{dialect: keras2, names: secondSession, seed: 12, shuffle: true, shardSize: 100003}),
		"valid_keras3_quantized": newFixture(fixtureOptions{dialect: keras3, seed: 13, input: []any{nil, 120, 160, 3}, shardSize: 4 << 20,
			quant: map[string]string{"conv2d/kernel": "uint8", "dense/kernel": "float16"}}),
	}
}

// corpusFile is the content of a seed corpus file holding one []byte.
func corpusFile(b []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n")
}

// FuzzImport checks that Import never panics and either fails or returns weights, whatever the model.json.
func FuzzImport(f *testing.F) {
	files := map[string][]byte{}
	for _, fx := range fuzzSeeds() {
		_, shards := fx.encode()
		maps.Copy(files, shards)
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"modelTopology": null}`,
		`{"format":"layers-model","modelTopology":{"class_name":"Sequential","config":{"layers":[]}},"weightsManifest":[]}`,
		`{"format":"layers-model","modelTopology":{"class_name":"Model","config":{"layers":[{"class_name":"InputLayer","config":{"name":"in","batch_input_shape":[null,9,9,3]},"inbound_nodes":[]}]}},"weightsManifest":[{"paths":["model.weights.bin"],"weights":[{"name":"x/kernel","shape":[1e9,1e9],"dtype":"float32"}]}]}`,
	} {
		f.Add([]byte(s))
	}
	open := opener(files)
	f.Fuzz(func(t *testing.T, model []byte) {
		w, err := Import(model, open)
		if (err == nil) == (w == nil) {
			t.Fatalf("Import returned weights %v and error %v", w != nil, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "tfjs: ") {
			t.Fatalf("error %q does not start with \"tfjs: \"", err)
		}
	})
}

// TestFuzzCorpus checks that the valid seeds of the fuzz corpus are current and import.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzImport")
	files := map[string][]byte{}
	for name, fx := range fuzzSeeds() {
		model, shards := fx.encode()
		maps.Copy(files, shards)
		path := filepath.Join(dir, name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, corpusFile(model), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestFuzzCorpus -update)", err)
		}
		if string(got) != string(corpusFile(model)) {
			t.Errorf("%s is stale (run go test -run TestFuzzCorpus -update)", path)
		}
	}
	for name, fx := range fuzzSeeds() {
		model, _ := fx.encode()
		if _, err := Import(model, opener(files)); err != nil {
			t.Errorf("seed %s: %v", name, err)
		}
	}
}
