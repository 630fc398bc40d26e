package torchimport_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestTwinPythonUnitTests runs the PyTorch twin's own unit tests
// (torch/tests: parameter counts, Keras padding and batch norm, the
// converters, safetensors files, the split by slide, bench/torch/step.py), so
// that `make test`, and CI with it, runs them. Python's unittest exits 0 when
// it finds no tests, so the test also requires that it ran some.
func TestTwinPythonUnitTests(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python(t), "-m", "unittest", "discover", "-v", "-s", filepath.Join(root, "torch", "tests"), "-t", filepath.Join(root, "torch", "tests"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "torch"), "OMP_NUM_THREADS=2")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 -m unittest discover -s torch/tests: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^Ran (\d+) tests? in .*\n\s*\nOK`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("python3 -m unittest did not report a passing run:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n < 10 {
		t.Fatalf("python3 -m unittest ran %d tests, want the 13 or so of torch/tests:\n%s", n, out)
	}
	t.Logf("torch/tests: ran %s tests, OK", m[1])
}
