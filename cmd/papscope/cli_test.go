package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"papscope/nn"
)

// withMeta writes a copy of the weights at path with metadata changed by edit.
func withMeta(t *testing.T, path string, edit func(*nn.Metadata)) string {
	t.Helper()
	w, err := loadWeights(path)
	if err != nil {
		t.Fatal(err)
	}
	meta := w.Meta()
	edit(&meta)
	if w, err = w.WithMeta(meta); err != nil {
		t.Fatal(err)
	}
	return writeWeights(t, w, "meta.safetensors")
}

// TestInfoWeights checks that info shows the weights classify and eval use
// by default, and their data and evaluation fields, "unknown" when missing.
func TestInfoWeights(t *testing.T) {
	plain := importFixture(t)
	described := withMeta(t, plain, func(m *nn.Metadata) {
		m.Data, m.Evaluation = nn.SyntheticData, "held-out test split, 12 images"
	})
	bare := withMeta(t, plain, func(m *nn.Metadata) { m.Source, m.TrainingData, m.Data, m.Evaluation = "", "", "", "" })
	withDefault := t.TempDir() // a directory holding the default weights path
	if err := os.MkdirAll(filepath.Join(withDefault, filepath.Dir(defaultWeights)), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(described)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(withDefault, defaultWeights), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string // working directory; "" stays in the package's
		args    []string
		status  int
		want    []string // in stdout, or stderr when status is not 0
		notWant []string
	}{
		{"default weights used", withDefault, []string{"info"}, 0,
			[]string{"Weights: " + defaultWeights, "  data: synthetic\n", "  evaluation: held-out test split, 12 images\n"}, []string{"none"}},
		{"default weights in JSON", withDefault, []string{"info", "-json"}, 0,
			[]string{`"path": "` + defaultWeights + `"`, `"data": "synthetic"`, `"evaluation": "held-out test split, 12 images"`}, nil},
		{"no default weights", "", []string{"info"}, 0,
			[]string{"Weights: none", defaultWeights}, []string{"  data:"}},
		{"explicit weights", "", []string{"info", "-weights", described}, 0,
			[]string{"  data: synthetic\n", "  evaluation: held-out test split, 12 images\n"}, nil},
		{"missing fields", "", []string{"info", "-weights", bare}, 0,
			[]string{"  source: unknown\n", "  training data: unknown\n", "  data: unknown\n", "  evaluation: unknown\n"}, []string{"not recorded"}},
		{"explicit weights missing", "", []string{"info", "-weights", filepath.Join(t.TempDir(), "none.safetensors")}, 1,
			[]string{"no weights at"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.dir != "" {
				t.Chdir(tt.dir)
			}
			stdout, stderr, st := runCLI(t, tt.args...)
			out := stdout
			if tt.status != 0 {
				out = stderr
			}
			if st != tt.status {
				t.Fatalf("%v: status %d, want %d: %s", tt.args, st, tt.status, stderr)
			}
			checkSays(t, fmt.Sprint(tt.args), out, tt.want, tt.notWant)
		})
	}
}

// TestParseFlagsInterspersed checks that flags are read before, between and
// after positional arguments, and that "--" ends them.
func TestParseFlagsInterspersed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args       []string
		positional []string
		json       bool
		out        string
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, false, ""},
		{[]string{"-json", "a"}, []string{"a"}, true, ""},
		{[]string{"a", "-json"}, []string{"a"}, true, ""},
		{[]string{"a", "-o", "x", "b", "-json", "c"}, []string{"a", "b", "c"}, true, "x"},
		{[]string{"a", "--", "-json"}, []string{"a", "-json"}, false, ""},
		{[]string{"--", "-json", "-o", "x"}, []string{"-json", "-o", "x"}, false, ""},
		{[]string{"a", "-o", "--", "b", "-json"}, []string{"a", "b"}, true, "--"}, // "--" as a flag's value
		{[]string{"a", "-o=--", "-json", "--", "-b"}, []string{"a", "-b"}, true, "--"},
		{[]string{"-", "-json"}, []string{"-"}, true, ""},
		{nil, nil, false, ""},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		asJSON := fs.Bool("json", false, "")
		out := fs.String("o", "", "")
		if err := parseFlags(fs, tt.args); err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if !slices.Equal(fs.Args(), tt.positional) || *asJSON != tt.json || *out != tt.out {
			t.Errorf("%q: positional %q, -json %v, -o %q; want %q, %v, %q", tt.args, fs.Args(), *asJSON, *out, tt.positional, tt.json, tt.out)
		}
	}
}

// TestFlagsAfterFiles checks the commands that take files read flags placed after them.
func TestFlagsAfterFiles(t *testing.T) {
	t.Parallel()
	w := importFixture(t)
	img0, img1 := filepath.Join(fixture, "input_0.png"), filepath.Join(fixture, "input_1.png")
	imported := filepath.Join(t.TempDir(), "again.safetensors")
	tests := []struct {
		name   string
		args   []string
		status int
		lines  int    // lines of stdout
		want   string // in stdout, or stderr when status is not 0
	}{
		{"classify flags after", []string{"classify", img0, "-json", "-weights", w}, 0, 1, `"file":`},
		{"classify flags between", []string{"classify", img0, "-weights", w, img1, "-json"}, 0, 2, `"top":`},
		{"classify file after --", []string{"classify", "-weights", w, img0, "--", "-json"}, 1, 0, "-json"},
		{"import flags after", []string{"import", filepath.Join(fixture, "model.json"), "-format", "tfjs", "-o", imported}, 0, 1, "imported"},
		{"eval unexpected argument", []string{"eval", "-weights", w, "stray", "-data", t.TempDir()}, 2, 0, `unexpected arguments ["stray"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, st := runCLI(t, tt.args...)
			if st != tt.status {
				t.Fatalf("%v: status %d, want %d: %s", tt.args, st, tt.status, stderr)
			}
			out := stdout
			if tt.status != 0 {
				out = stderr
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, tt.want, out)
			}
			if tt.status == 0 && strings.Count(stdout, "\n") != tt.lines {
				t.Errorf("%v: %d lines, want %d:\n%s", tt.args, strings.Count(stdout, "\n"), tt.lines, stdout)
			}
		})
	}
}

// TestVersionText checks the version's wording from build information, present or not.
func TestVersionText(t *testing.T) {
	t.Parallel()
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want []string
	}{
		{"tagged, clean", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Path: "papscope", Version: "v1.2.0"},
			Settings: settings("vcs.revision", "0123456789abcdef", "vcs.time", "2026-01-02T03:04:05Z", "vcs.modified", "false")}, true,
			[]string{"papscope v1.2.0\n", "revision: 0123456789abcdef\n", "commit time: 2026-01-02T03:04:05Z\n", "go: go1.27.3\n"}},
		{"modified", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Path: "papscope", Version: "(devel)"},
			Settings: settings("vcs.revision", "abc", "vcs.modified", "true")}, true,
			[]string{"papscope (devel)\n", "revision: abc (modified: uncommitted changes)\n", "go: go1.27.3\n"}},
		{"no VCS", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Path: "papscope"}}, true,
			[]string{"papscope (devel)\n", "revision: unknown\n"}},
		{"no build information", nil, false,
			[]string{"papscope: version unknown (no build information)\n", "go: " + runtime.Version() + "\n"}},
	}
	for _, tt := range tests {
		got := versionText(tt.bi, tt.ok)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tt.name, got, w)
			}
		}
	}
}

// TestVersionCommand checks both spellings print the version and the usage names them.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args   []string
		status int
		stdout string
		stderr string
	}{
		{[]string{"version"}, 0, "go: ", ""},
		{[]string{"-version"}, 0, "go: ", ""},
		{[]string{"--version"}, 0, "go: ", ""},
		{[]string{"version", "extra"}, 2, "", "unexpected argument"},
		{[]string{"help"}, 0, "", "papscope version"},
	}
	for _, tt := range tests {
		stdout, stderr, st := runCLI(t, tt.args...)
		if st != tt.status || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("papscope %v: status %d, stdout %q, stderr %q; want %d, %q, %q", tt.args, st, stdout, stderr, tt.status, tt.stdout, tt.stderr)
		}
	}
}

// TestClassifyHeaderOnlyWithResults checks the table's header is printed
// only when at least one file was classified.
func TestClassifyHeaderOnlyWithResults(t *testing.T) {
	t.Parallel()
	w := importFixture(t)
	dir := t.TempDir()
	notImage := filepath.Join(dir, "notes.png")
	if err := os.WriteFile(notImage, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.png")
	good := filepath.Join(fixture, "input_0.png")
	tests := []struct {
		name   string
		files  []string
		status int
		stdout int // lines
		stderr string
	}{
		{"all fail", []string{notImage, missing}, 1, 0, "2 of 2 images could not be classified"},
		{"one fails", []string{notImage, good}, 1, 2, "1 of 2 images could not be classified"},
		{"none fails", []string{good}, 0, 2, ""},
	}
	for _, tt := range tests {
		stdout, stderr, st := runCLI(t, append([]string{"classify", "-weights", w}, tt.files...)...)
		if st != tt.status || strings.Count(stdout, "\n") != tt.stdout || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%s: status %d, stdout %q, stderr %q; want status %d, %d lines, stderr with %q",
				tt.name, st, stdout, stderr, tt.status, tt.stdout, tt.stderr)
		}
	}
}

// checkSays reports each of want that text lacks and each of notWant it has;
// what names the text in the messages.
func checkSays(t *testing.T, what, text string, want, notWant []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s: lacks %q:\n%s", what, w, text)
		}
	}
	for _, w := range notWant {
		if strings.Contains(text, w) {
			t.Errorf("%s: has %q:\n%s", what, w, text)
		}
	}
}
