package main

import (
	"bytes"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"papscope/nn"
)

func TestRunSynth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		counts [nn.NumClasses]int
		w, h   int
	}{
		{"balanced", []string{"-n", "2", "-seed", "5", "-size", "64x48"}, [4]int{2, 2, 2, 2}, 64, 48},
		{"counts", []string{"-n", "1", "-size", "80x60", "-counts", "HSIL=3,niml=0,SCC=2"}, [4]int{3, 1, 0, 2}, 80, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			if err := runSynth(append(tt.args, "-o", dir), &stdout, &stderr); err != nil {
				t.Fatalf("runSynth: %v (%s)", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), "wrote ") {
				t.Errorf("stdout %q", stdout.String())
			}
			for c := range nn.Class(nn.NumClasses) {
				ents, err := os.ReadDir(filepath.Join(dir, c.String()))
				if err != nil {
					t.Fatal(err)
				}
				if len(ents) != tt.counts[c] {
					t.Fatalf("%s: %d files, want %d", c, len(ents), tt.counts[c])
				}
				for _, e := range ents {
					if !strings.HasPrefix(e.Name(), c.String()+"_") || filepath.Ext(e.Name()) != ".png" {
						t.Errorf("unexpected file %s", e.Name())
					}
					f, err := os.Open(filepath.Join(dir, c.String(), e.Name()))
					if err != nil {
						t.Fatal(err)
					}
					cfg, err := png.DecodeConfig(f)
					f.Close()
					if err != nil {
						t.Fatal(err)
					}
					if cfg.Width != tt.w || cfg.Height != tt.h {
						t.Errorf("%s: %dx%d, want %dx%d", e.Name(), cfg.Width, cfg.Height, tt.w, tt.h)
					}
				}
			}
		})
	}
}

func TestRunSynthDeterministic(t *testing.T) {
	t.Parallel()
	read := func(dir string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, "LSIL", "LSIL_0000.png"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, run := range []struct {
		dir, seed string
	}{{a, "3"}, {b, "3"}, {c, "4"}} {
		if err := runSynth([]string{"-n", "1", "-size", "64x48", "-seed", run.seed, "-o", run.dir}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(read(a), read(b)) {
		t.Error("same seed wrote different files")
	}
	if bytes.Equal(read(a), read(c)) {
		t.Error("different seeds wrote the same file")
	}
}

func TestRunSynthUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
	}{
		{"no output", []string{"-n", "1"}},
		{"bad size", []string{"-size", "64", "-o", dir}},
		{"tiny size", []string{"-size", "4x4", "-o", dir}},
		{"bad counts", []string{"-counts", "HSIL", "-o", dir}},
		{"unknown class", []string{"-counts", "ASCUS=3", "-o", dir}},
		{"negative count", []string{"-counts", "SCC=-1", "-o", dir}},
		{"negative n", []string{"-n", "-2", "-o", dir}},
		{"bad flag", []string{"-bogus", "-o", dir}},
		{"extra arg", []string{"-o", dir, "extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runSynth(tt.args, &bytes.Buffer{}, &bytes.Buffer{})
			if !errors.Is(err, errUsage) {
				t.Errorf("err = %v, want a usage error", err)
			}
		})
	}
}
