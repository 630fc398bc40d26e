package dataset

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"papscope/internal/imagefile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// tinyPNG returns the bytes of a real 2×2 PNG.
func tinyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.NRGBA{200, 100, 50, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// makeTree creates files under a new temp dir: a name ending in "/" is a
// folder; image extensions get a real PNG, others a few bytes.
func makeTree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	data := tinyPNG(t)
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		content := []byte("not an image")
		if slices.Contains(imagefile.Extensions(), strings.ToLower(filepath.Ext(f))) {
			content = data
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update if the change is intended):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func listing(d *Dataset, items []Item) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, "%d %s %s\n", it.Class, d.Rel(it), it.Group)
	}
	return b.String()
}

func TestScan(t *testing.T) {
	root := makeTree(t,
		"hsil/b.PNG", "hsil/a.jpg", "hsil/sub/deeper/c.TIFF", "hsil/.hidden.png", "hsil/.cache/x.png",
		"LSIL/x.jpeg", "LSIL/y.GIF", "LSIL/notes.txt",
		"NIML/n1.bmp", "NIML/n2.tif",
		"Scc/s.png", "Scc/t.webp",
		"README.md", "extra/e.png", ".git/config",
	)
	d, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(listing(d, d.Items))
	fmt.Fprintf(&b, "counts %v\nignored %q\nunknown %q\n", d.Counts(), d.Ignored, d.Unknown)
	golden(t, "scan.txt", b.String())
	if w := d.Warnings(); len(w) != 2 || !strings.Contains(w[0], "README.md, extra") || !strings.Contains(w[1], "LSIL/notes.txt") {
		t.Errorf("Warnings() = %q", w)
	}
	if d.Items[0].Path != filepath.Join(root, "hsil", "a.jpg") {
		t.Errorf("Items[0].Path = %s, want it joined to the root", d.Items[0].Path)
	}
}

func TestScanErrors(t *testing.T) {
	all := []string{"HSIL/a.png", "LSIL/a.png", "NILM/a.png", "SCC/a.png"}
	tests := []struct {
		name  string
		files []string
		sub   string // scanned path inside the temp dir
		want  string
	}{
		{"missing dir", all, "nope", "does not exist"},
		{"not a dir", all, "HSIL/a.png", "is not a folder"},
		{"missing SCC", all[:3], "", "no folder for class SCC in "},
		{"missing two", all[:2], "", "no folders for classes NILM, SCC in "},
		{"want list", all[:3], "", "want folders HSIL, LSIL, NILM, SCC (case-insensitive)"},
		{"SCC is a file", append(all[:3:3], "SCC"), "", "no folder for class SCC"},
		{"empty class", append(all[:3:3], "SCC/"), "", "SCC has no images with extension .jpg"},
		{"only junk", append(all[:3:3], "SCC/x.txt", "SCC/.y.png"), "", "(2 other files ignored)"},
		{"NILM and NIML", append(all, "NIML/b.png"), "", "folders NILM and NIML in"},
		{"case duplicate", append(all, "hsil/b.png"), "", "both map to class HSIL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := makeTree(t, tt.files...)
			if entries, _ := os.ReadDir(root); tt.name == "case duplicate" && len(entries) < 5 {
				// A case-insensitive file system made hsil/ and HSIL/ one
				// folder: there is no duplicate, and Scan must accept it.
				if _, err := Scan(root); err != nil {
					t.Fatalf("hsil/ and HSIL/ are one folder here, yet Scan fails: %v", err)
				}
				return
			}
			_, err := Scan(filepath.Join(root, tt.sub))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Scan error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	root := makeTree(t, "HSIL/a.png", "HSIL/b.png", "LSIL/a.png", "NILM/a.png", "SCC/a.png", "SCC/b.png")
	d, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{0, 1, 3, 100} {
		var calls atomic.Int32
		bad := d.Check(func(p string) error {
			calls.Add(1)
			if filepath.Base(p) == "b.png" {
				return fmt.Errorf("broken %s", p)
			}
			return nil
		}, workers)
		if calls.Load() != 6 || len(bad) != 2 || !strings.HasSuffix(bad[0].Path, filepath.Join("HSIL", "b.png")) ||
			!strings.HasSuffix(bad[1].Path, filepath.Join("SCC", "b.png")) {
			t.Errorf("workers %d: %d calls, bad %v", workers, calls.Load(), bad)
		}
		if s := bad[0].String(); strings.Count(s, bad[0].Path) != 1 {
			t.Errorf("BadFile.String() = %q, want the path once", s)
		}
	}
}

func TestDropUnreadable(t *testing.T) {
	root := makeTree(t, "HSIL/a.png", "LSIL/a.png", "NILM/a.png", "SCC/a.png", "SCC/b.png")
	if err := os.WriteFile(filepath.Join(root, "SCC", "b.png"), []byte("\x89PNG\r\n\x1a\ntruncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := d.DropUnreadable(2)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || filepath.Base(bad[0].Path) != "b.png" || len(d.Items) != 4 {
		t.Fatalf("bad = %v, %d items left", bad, len(d.Items))
	}

	// Dropping the only image of a class is an error naming the class.
	if err := os.WriteFile(filepath.Join(root, "LSIL", "a.png"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad, err = d.DropUnreadable(2)
	if err == nil || !strings.Contains(err.Error(), "no readable images left for class LSIL") || len(bad) != 1 {
		t.Fatalf("bad = %v, err = %v", bad, err)
	}
}
