// Package golden compares test output with a file under testdata/, or
// rewrites the file when the test runs with -update.
package golden

import (
	"os"
	"testing"
)

// Check fails t when got differs from the file at path; with update it
// writes got to the file instead.
func Check(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update if the change is intended):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
