// Package lbctest finds the real LBC fields for tests: $LBC_DATA, else
// shared/data/lbc beside the repository. Tests that need them skip when the
// folder is absent and LBC_DATA is unset; CI sets LBC_DATA, so there they run
// or fail.
package lbctest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the real LBC folder for a test in a package folder pkgDepth
// folders below the repository root (1 for dataset/, 2 for cmd/papscope/), or
// skips t when there is none and LBC_DATA is not set.
func Dir(t testing.TB, pkgDepth int) string {
	t.Helper()
	if dir := os.Getenv("LBC_DATA"); dir != "" {
		return dir
	}
	parts := []string{}
	for range pkgDepth + 1 {
		parts = append(parts, "..")
	}
	dir := filepath.Join(append(parts, "shared", "data", "lbc")...)
	if _, err := os.Stat(filepath.Join(dir, "manifest.csv")); err != nil {
		t.Skipf("no real LBC data at %s (set LBC_DATA): %v", dir, err)
	}
	return dir
}
