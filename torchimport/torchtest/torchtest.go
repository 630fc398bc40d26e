// Package torchtest runs the PyTorch twin (torch/) for the tests of
// torchimport and cmd/papscope: it finds a Python with PyTorch and runs it
// with the twin on its path.
//
// PAPSCOPE_PYTHON names the interpreter (default /usr/bin/python3, Debian's
// python3-torch); PAPSCOPE_NO_TORCH=1 skips the tests that need it.
// Otherwise a missing PyTorch fails the test: CI must not pass by running
// nothing.
package torchtest

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Python returns the interpreter, skipping t under PAPSCOPE_NO_TORCH=1 and
// failing it when the interpreter cannot import torch and PIL. root is the
// repository's root, relative to the test's package.
func Python(t testing.TB, root string) string {
	t.Helper()
	if os.Getenv("PAPSCOPE_NO_TORCH") == "1" {
		t.Skip("PAPSCOPE_NO_TORCH=1: the PyTorch twin's tests are skipped")
	}
	py := os.Getenv("PAPSCOPE_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			py = "python3"
		}
	}
	openSources(t, root)
	if out, err := exec.Command(py, "-c", "import torch, PIL").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import torch and PIL (%v: %s): run `make torch` (apt-get install python3-torch python3-pil), "+
			"set PAPSCOPE_PYTHON to a Python with PyTorch, or PAPSCOPE_NO_TORCH=1 to skip these tests", py, err, bytes.TrimSpace(out))
	}
	return py
}

// Run runs Python with args in root, with the twin (root/torch) on its
// path and one OpenMP thread, failing t on a non-zero exit; it returns the
// output.
func Run(t testing.TB, root string, args ...string) string {
	t.Helper()
	cmd := exec.Command(Python(t, root), args...)
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(abs, "torch"), "OMP_NUM_THREADS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// openSources opens every Python file of the twin (torch/, bench/torch/
// under root). go test caches a passing result keyed by the files the test
// process opens, not those its child processes read: without this, a change
// to the twin's Python code would leave the tests passing from the cache.
func openSources(t testing.TB, root string) {
	t.Helper()
	for _, dir := range []string{"torch", filepath.Join("bench", "torch")} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".py") {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			return f.Close()
		})
		if err != nil {
			t.Fatalf("the twin's Python sources: %v", err)
		}
	}
}
