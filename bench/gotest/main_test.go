package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunReportsOutputAndExitCode runs a small wasm test binary in Chromium,
// passing and failing, and checks the exit code and the output that came back.
func TestRunReportsOutputAndExitCode(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("go is not on PATH: the test builds a wasm test binary with it")
	}
	bin := filepath.Join(t.TempDir(), "probe.test.wasm")
	build := exec.Command("go", "test", "-c", "-o", bin, "./testdata/probe")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-test.v"}, 0, "--- PASS: TestProbe"},
		{[]string{"-test.v", "-fail"}, 1, "failing as asked"},
	} {
		var buf bytes.Buffer
		code, err := run(bin, tc.args, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if out := buf.String(); code != tc.code || !strings.Contains(out, tc.want) || !strings.Contains(out, "probe ran in the browser") {
			t.Errorf("args %v: exit %d, output:\n%s\nwant exit %d and %q", tc.args, code, out, tc.code, tc.want)
		}
	}
}
