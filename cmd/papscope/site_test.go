package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSite writes a built-looking site (what checkSite wants, and a stale
// samples folder) and returns its folder.
func fakeSite(t *testing.T) string {
	t.Helper()
	web := t.TempDir()
	files := map[string]string{
		"index.html":           "<!doctype html><title>papscope</title>",
		"papscope.wasm":        "\x00asm\x01\x00\x00\x00",
		"samples.csv":          "file,class\n",
		"samples/old.png":      "stale",
		"samples/samples.json": "[]",
	}
	for name, data := range files {
		p := filepath.Join(web, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return web
}

// writeCaseImage writes a small PNG at dir/name.
func writeCaseImage(t *testing.T, dir, name string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 8, 6))
	img.Set(1, 1, color.NRGBA{200, 100, 50, 255})
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// readSiteCases reads what the page reads: out/samples/samples.json.
func readSiteCases(t *testing.T, out string) []siteCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "samples", "samples.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs []siteCase
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatalf("samples.json: %v\n%s", err, data)
	}
	return cs
}

// TestSiteFolders: a teacher's folder per class (any case, NIML for NILM)
// becomes cases with IDs from the file names, a NAME.txt beside an image is
// its note, and other files and folders are left out.
func TestSiteFolders(t *testing.T) {
	t.Parallel()
	web := fakeSite(t)
	cases := t.TempDir()
	writeCaseImage(t, cases, "hsil/Koilocyte field 1.png")
	writeCaseImage(t, cases, "NIML/normal.png")
	if err := os.WriteFile(filepath.Join(cases, "NIML", "normal.txt"), []byte("  Superficial cells, clean background.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeCaseImage(t, cases, "other/ignored.png")
	out := filepath.Join(t.TempDir(), "site")
	stdout, stderr, st := runCLI(t, "site", "-web", web, "-o", out, "-cases", cases)
	if st != 0 {
		t.Fatalf("papscope site: status %d: %s", st, stderr)
	}
	got := readSiteCases(t, out)
	want := []siteCase{ // in the folders' name order: NIML before hsil
		{ID: "normal", Class: "NILM", File: "normal.png", Note: "Superficial cells, clean background."},
		{ID: "Koilocyte-field-1", Class: "HSIL", File: "Koilocyte-field-1.png"},
	}
	if len(got) != len(want) {
		t.Fatalf("samples.json lists %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("case %d is %+v, want %+v", i, got[i], want[i])
		}
		if _, err := os.Stat(filepath.Join(out, "samples", want[i].File)); err != nil {
			t.Errorf("case %s: %v", want[i].ID, err)
		}
	}
	for _, name := range []string{"index.html", "papscope.wasm", "version.js"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("the site lacks %s: %v", name, err)
		}
	}
	for _, name := range []string{"samples/old.png", "samples.csv"} {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(name))); err == nil {
			t.Errorf("the site carries %s from the built site", name)
		}
	}
	for _, link := range []string{"#case=Koilocyte-field-1", "#case=normal", "#quiz"} {
		if !strings.Contains(stdout, link) {
			t.Errorf("the output does not list the link %s:\n%s", link, stdout)
		}
	}
}

// TestSiteCSV: a cases.csv (a BOM, columns in any order, a comment) gives the
// cases its IDs, notes and difficulties; a case without an ID gets one.
func TestSiteCSV(t *testing.T) {
	t.Parallel()
	web := fakeSite(t)
	cases := t.TempDir()
	writeCaseImage(t, cases, "img/a.png")
	writeCaseImage(t, cases, "img/b.png")
	csv := "\xef\xbb\xbfclass,file,note,difficulty,id\n# a comment\nscc,img/a.png,\"Tadpole cells, keratin.\",hard,Tadpole\nLSIL,img/b.png,,,\n"
	if err := os.WriteFile(filepath.Join(cases, "cases.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, stderr, st := runCLI(t, "site", "-web", web, "-o", out, "-cases", cases); st != 0 {
		t.Fatalf("papscope site: status %d: %s", st, stderr)
	}
	got := readSiteCases(t, out)
	want := []siteCase{
		{ID: "Tadpole", Class: "SCC", File: "Tadpole.png", Note: "Tadpole cells, keratin.", Difficulty: "hard"},
		{ID: "b", Class: "LSIL", File: "b.png"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("samples.json lists %+v, want %+v", got, want)
	}
}

// TestSiteInPlace: -o the built site itself replaces its cases, and a site
// without -cases has none.
func TestSiteInPlace(t *testing.T) {
	t.Parallel()
	web := fakeSite(t)
	if _, stderr, st := runCLI(t, "site", "-web", web, "-o", web); st != 0 {
		t.Fatalf("papscope site: status %d: %s", st, stderr)
	}
	if got := readSiteCases(t, web); len(got) != 0 {
		t.Errorf("samples.json lists %+v, want none", got)
	}
	if _, err := os.Stat(filepath.Join(web, "samples", "old.png")); err == nil {
		t.Errorf("the old case samples/old.png is still there")
	}
}

// TestSiteBadCases: what a teacher gets wrong is refused with the file, the
// line and what to do.
func TestSiteBadCases(t *testing.T) {
	t.Parallel()
	web := fakeSite(t)
	tests := []struct {
		name  string
		files map[string]string // name: "png" for an image, else the content
		want  string
	}{
		{"unknown class", map[string]string{"cases.csv": "file,class\na.png,ASCUS\n", "a.png": "png"}, `line 2 (a.png): class "ASCUS" is not one of HSIL, LSIL, NILM, SCC`},
		{"missing file", map[string]string{"cases.csv": "file,class\nnope.png,HSIL\n"}, "line 2: "},
		{"no class column", map[string]string{"cases.csv": "file,label\na.png,HSIL\n", "a.png": "png"}, `has no "class" column`},
		{"TIFF", map[string]string{"HSIL/a.tif": "II*\x00"}, "the page cannot show TIFF images: convert it to PNG first"},
		{"not an image", map[string]string{"HSIL/a.png": "text"}, "not an image papscope can read"},
		{"IDs that differ in case", map[string]string{"cases.csv": "file,class,id\na.png,HSIL,One\nb.png,LSIL,one\n", "a.png": "png", "b.png": "png"}, `two cases with the id "one" (links ignore case)`},
		{"an ID one cannot type", map[string]string{"cases.csv": "file,class,id\na.png,HSIL,a b\n", "a.png": "png"}, `id "a b"`},
		{"no images", map[string]string{"notes.md": "x"}, "no images in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cases := t.TempDir()
			for name, data := range tt.files {
				if data == "png" {
					writeCaseImage(t, cases, name)
					continue
				}
				p := filepath.Join(cases, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(t.TempDir(), "site")
			_, stderr, st := runCLI(t, "site", "-web", web, "-o", out, "-cases", cases)
			if st != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("status %d, stderr %q; want 1 and %q", st, stderr, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a site was written to %s despite the error", out)
			}
		})
	}
}
