package golden

import (
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Fatal(...any)          { r.failed = true }

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden")
	tests := []struct {
		name       string
		got        string
		update     bool
		wantFailed bool
	}{
		{"missing file", "a\n", false, true},
		{"update writes", "a\n", true, false},
		{"same", "a\n", false, false},
		{"different", "b\n", false, true},
	}
	for _, tt := range tests { // in order: each step sees the file the one before left
		r := &recorder{TB: t}
		Check(r, path, tt.got, tt.update)
		if r.failed != tt.wantFailed {
			t.Errorf("%s: failed = %v, want %v", tt.name, r.failed, tt.wantFailed)
		}
	}
}
