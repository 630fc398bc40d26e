package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	if err := os.WriteFile(path, make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		limit   int64
		wantLen int
		wantErr func(error) bool
	}{
		{"at the limit", path, 100, 100, nil},
		{"over the limit", path, 99, 0, func(err error) bool { return errors.Is(err, ErrTooLarge) }},
		{"directory", dir, 100, 0, func(err error) bool { return err != nil && strings.Contains(err.Error(), "directory") }},
		{"missing", filepath.Join(dir, "none"), 100, 0, func(err error) bool { return errors.Is(err, os.ErrNotExist) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Read(tt.path, tt.limit)
			if tt.wantErr == nil {
				if err != nil || len(data) != tt.wantLen {
					t.Fatalf("Read = %d bytes, %v; want %d bytes", len(data), err, tt.wantLen)
				}
				return
			}
			if !tt.wantErr(err) {
				t.Fatalf("Read error = %v", err)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.bin")
	for _, content := range []string{"first", "second, longer"} {
		if err := Write(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("after Write(%q): %q, %v", content, got, err)
		}
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the folder, want 1: temporary files must not remain", len(entries))
	}
	if err := Write(filepath.Join(dir, "no-such-dir", "x"), []byte("x")); err == nil {
		t.Error("Write into a missing folder succeeded")
	}
}
