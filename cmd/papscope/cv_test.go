package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"papscope/nn"
)

// writeManifest gives the tiny dataset in dir a manifest: slides of two
// images each, every image its own original, file names with spaces and
// parentheses.
func writeManifest(t *testing.T, dir string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("file,class,slide,original\n")
	for _, name := range nn.ClassNames() {
		entries, err := os.ReadDir(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range entries {
			renamed := fmt.Sprintf("%s_%d (%d).png", name, i/2, i)
			if err := os.Rename(filepath.Join(dir, name, e.Name()), filepath.Join(dir, name, renamed)); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s/%s,%s,%s_%d,%s_%d (%d)\n", name, renamed, name, strings.ToLower(name), i/2, name, i/2, i)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCVEndToEnd(t *testing.T) {
	data := writeTinyDataset(t, 8)
	writeManifest(t, data)
	work := filepath.Join(t.TempDir(), "work")
	args := []string{"-data", data, "-folds", "2", "-size", "16", "-epochs", "1", "-batch", "4", "-patience", "0", "-val", "0.3", "-work", work, "-json"}
	stdout, stderr, err := callCmd(runCV, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var got struct {
		BySlide struct {
			Split   string `json:"split"`
			Metrics struct {
				N         int     `json:"n"`
				Confusion [][]int `json:"confusion"`
			} `json:"metrics"`
			Recall [][2]float64 `json:"recall_95ci"`
			Folds  []struct {
				HeldOut []string `json:"held_out_slides"`
			} `json:"folds"`
		} `json:"by_slide"`
		ByImage *struct {
			Metrics struct {
				N int `json:"n"`
			} `json:"metrics"`
		} `json:"by_image"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	s := got.BySlide
	if s.Split != "slide" || s.Metrics.N != 32 || len(s.Recall) != 4 || len(s.Folds) != 2 || got.ByImage == nil || got.ByImage.Metrics.N != 32 {
		t.Fatalf("unexpected result: %s", stdout)
	}
	seen := map[string]bool{}
	for _, f := range s.Folds {
		for _, sl := range f.HeldOut {
			if seen[sl] {
				t.Errorf("slide %s held out by two folds", sl)
			}
			seen[sl] = true
		}
	}
	if len(seen) != 16 {
		t.Errorf("%d slides held out, want all 16", len(seen))
	}
	// A rerun reuses every fold's result.
	_, stderr2, err := callCmd(runCV, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stderr2, "reusing it"); n != 4 {
		t.Errorf("rerun reused %d fold results, want 4:\n%s", n, stderr2)
	}
}
