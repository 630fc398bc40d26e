package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"papscope/dataset/lbctest"
	"papscope/nn"
)

// listingFull lists items with class, path, group and original.
func listingFull(d *Dataset, items []Item) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, "%d %q slide=%q original=%q\n", it.Class, d.Rel(it), it.Group, it.Original)
	}
	return b.String()
}

func TestLoadManifestFixture(t *testing.T) {
	d, unused, err := Load(filepath.Join("testdata", "manifest"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(unused) != 0 || len(d.Unknown) != 0 || len(d.Ignored) != 0 {
		t.Errorf("unused %q, unknown %q, ignored %q: want none (manifest.csv is not an unknown entry)", unused, d.Unknown, d.Ignored)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "grouping %s\n", filepath.ToSlash(d.Grouping))
	b.WriteString(listingFull(d, d.Items))
	for _, k := range []int{2, 3} {
		fold, err := Folds(d, k, 1)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "folds k=%d: %v\n", k, fold)
	}
	train, val, test, err := Split(d, [3]float64{0.5, 0.25, 0.25}, 1)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "split train:\n%sval:\n%stest:\n%s", listingFull(d, train), listingFull(d, val), listingFull(d, test))
	golden(t, "manifest.txt", b.String())
}

func TestLoadGroupsOverridesManifest(t *testing.T) {
	root := filepath.Join("testdata", "manifest")
	csv := filepath.Join(t.TempDir(), "g.csv")
	var b strings.Builder
	b.WriteString("file,patient\n")
	d, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range d.Items {
		fmt.Fprintf(&b, "%q,p%d\n", d.Rel(it), i%2)
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	d, _, err = Load(root, csv)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range d.Items {
		if want := fmt.Sprintf("p%d", i%2); it.Group != want || it.Original != "" {
			t.Errorf("%s: group %q original %q, want %q and no original", d.Rel(it), it.Group, it.Original, want)
		}
	}
	if !strings.HasPrefix(d.Grouping, "patient from ") {
		t.Errorf("Grouping = %q", d.Grouping)
	}
}

func TestManifestErrors(t *testing.T) {
	files := []string{"HSIL/a (1).png", "HSIL/a (1)_2.png", "LSIL/b.png", "NILM/c.png", "SCC/d.png"}
	tests := []struct{ name, csv, err string }{
		{"class differs from folder", "file,class,slide,original\nHSIL/a (1).png,HSIL,s1,a\nHSIL/a (1)_2.png,HSIL,s1,a\nLSIL/b.png,NILM,s2,b\nNILM/c.png,NILM,s3,c\nSCC/d.png,SCC,s4,d\n",
			`m.csv:4: LSIL/b.png has class "NILM", but it is in the LSIL folder`},
		{"copies on two slides", "file,class,slide,original\nHSIL/a (1).png,HSIL,s1,a\nHSIL/a (1)_2.png,HSIL,s9,a\nLSIL/b.png,LSIL,s2,b\nNILM/c.png,NILM,s3,c\nSCC/d.png,SCC,s4,d\n",
			"m.csv:3: HSIL/a (1)_2.png is a copy of a, like HSIL/a (1).png on line 2, but its slide is s9, not s1"},
		{"empty original", "file,slide,original\nHSIL/a (1).png,s1,\n", "m.csv:2: empty original for HSIL/a (1).png"},
	}
	root := makeTree(t, files...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := ReadGroups(strings.NewReader(tt.csv), "m.csv")
			if err == nil {
				d, serr := Scan(root)
				if serr != nil {
					t.Fatal(serr)
				}
				_, err = d.SetGroups(g)
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.err)
			}
		})
	}
}

// checkUnits fails when a slide or an original straddles two folds, or when
// a class with at least k slides is missing from a fold.
func checkUnits(t *testing.T, d *Dataset, fold []int, k int) {
	t.Helper()
	slideFold, origFold := map[string]int{}, map[string]int{}
	slides := make([]map[string]bool, nn.NumClasses)
	for c := range slides {
		slides[c] = map[string]bool{}
	}
	present := make([][]bool, k)
	for f := range present {
		present[f] = make([]bool, nn.NumClasses)
	}
	for i, it := range d.Items {
		f := fold[i]
		if f < 0 || f >= k {
			t.Fatalf("%s: fold %d", d.Rel(it), f)
		}
		if g, ok := slideFold[it.Group]; ok && g != f {
			t.Errorf("slide %s straddles folds %d and %d", it.Group, g, f)
		}
		if g, ok := origFold[it.Original]; ok && g != f {
			t.Errorf("original %s straddles folds %d and %d", it.Original, g, f)
		}
		slideFold[it.Group], origFold[it.Original] = f, f
		slides[it.Class][it.Group] = true
		present[f][it.Class] = true
	}
	for c := range slides {
		if len(slides[c]) < k {
			continue
		}
		for f := range k {
			if !present[f][c] {
				t.Errorf("class %s (%d slides) is missing from fold %d", nn.ClassNames()[c], len(slides[c]), f)
			}
		}
	}
}

func TestFoldsProperties(t *testing.T) {
	d, _, err := Load(filepath.Join("testdata", "manifest"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{2, 3, 4} {
		fold, err := Folds(d, k, 7)
		if err != nil {
			t.Fatal(err)
		}
		checkUnits(t, d, fold, k)
	}
	if _, err := Folds(d, 1, 1); err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Errorf("k=1: err = %v", err)
	}
	if _, err := Folds(d, 12, 1); err == nil || !strings.Contains(err.Error(), "only 9 slides or images for 12 folds") {
		t.Errorf("k=12: err = %v", err)
	}
}

func TestRealLBCManifest(t *testing.T) {
	dir := lbctest.Dir(t, 1)
	d, unused, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(unused) > 0 {
		t.Errorf("%d manifest entries match no file, e.g. %s", len(unused), unused[0])
	}
	// The data README's table: files, originals and slides per class.
	want := map[string][3]int{"HSIL": {489, 163, 10}, "LSIL": {565, 113, 4}, "NILM": {600, 600, 43}, "SCC": {592, 74, 4}}
	originals := make([]map[string]bool, nn.NumClasses)
	slides := make([]map[string]bool, nn.NumClasses)
	for c := range originals {
		originals[c], slides[c] = map[string]bool{}, map[string]bool{}
	}
	spaces := 0
	for _, it := range d.Items {
		if it.Group == "" || it.Original == "" {
			t.Fatalf("%s has no slide or original", d.Rel(it))
		}
		if strings.ContainsAny(d.Rel(it), " ()") {
			spaces++
		}
		originals[it.Class][it.Original] = true
		slides[it.Class][it.Group] = true
	}
	if spaces == 0 {
		t.Error("no file name with spaces or parentheses: the test does not exercise them")
	}
	for c, name := range nn.ClassNames() {
		got := [3]int{d.Counts()[c], len(originals[c]), len(slides[c])}
		if got != want[name] {
			t.Errorf("%s: files, originals, slides = %v, want %v", name, got, want[name])
		}
	}
	for _, k := range []int{2, 4} {
		fold, err := Folds(d, k, 1)
		if err != nil {
			t.Fatal(err)
		}
		checkUnits(t, d, fold, k)
	}
	train, val, test, err := Split(d, [3]float64{0.7, 0.15, 0.15}, 1)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]int{}
	for s, items := range [][]Item{train, val, test} {
		for _, it := range items {
			if prev, ok := set[it.Group]; ok && prev != s {
				t.Errorf("slide %s straddles sets %d and %d", it.Group, prev, s)
			}
			set[it.Group] = s
		}
	}
}
