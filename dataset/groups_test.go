package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadGroups(t *testing.T) {
	tests := []struct {
		name, csv string
		want      map[string]string // nil: want an error
		column    string
		err       string
	}{
		{"basic", "file,group\nHSIL/a.png,s1\nb.png,s2\n", map[string]string{"HSIL/a.png": "s1", "b.png": "s2"}, "group", ""},
		{"case and extra columns", "ID,Filename,Patient_ID\n1,./HSIL/a.png,p1\n", map[string]string{"HSIL/a.png": "p1"}, "patient_id", ""},
		{"BOM and backslashes", "\ufeffPath, Slide\nHSIL\\a.png, s 1\n", map[string]string{"HSIL/a.png": "s 1"}, "slide", ""},
		{"group preferred to slide", "slide,file,group\nx,a.png,g\n", map[string]string{"a.png": "g"}, "group", ""},
		{"blank lines skipped", "file,group\n\na.png,g\n\n", map[string]string{"a.png": "g"}, "group", ""},
		{"empty", "", nil, "", "empty file"},
		{"no file column", "name,group\na,b\n", nil, "", "lacks a file column (file, filename"},
		{"no group column", "file,label\na,b\n", nil, "", "lacks a group column (group, slide"},
		{"neither", "x,y\n", nil, "", "a file column (file, filename, file_name, path, filepath, file_path, image, image_path) and a group column"},
		{"duplicate", "file,group\na.png,1\nb.png,2\n./a.png,3\n", nil, "", "g.csv:4: duplicate entry for a.png (first on line 2)"},
		{"empty group", "file,group\na.png,\n", nil, "", "g.csv:2: empty group for a.png"},
		{"empty file", "file,group\n ,x\n", nil, "", "g.csv:2: empty file name"},
		{"short row", "file,x,group\na.png,1\n", nil, "", "g.csv:2: 2 fields, want at least 3"},
		{"header only", "file,group\n", nil, "", "no rows after the header"},
		{"bad quoting", "file,group\n\"a.png,1\n", nil, "", "g.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := ReadGroups(strings.NewReader(tt.csv), "g.csv")
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g.Column != tt.column || len(g.ByFile) != len(tt.want) {
				t.Fatalf("got column %q, %v; want %q, %v", g.Column, g.ByFile, tt.column, tt.want)
			}
			for k, v := range tt.want {
				if g.ByFile[k] != v {
					t.Errorf("ByFile[%q] = %q, want %q", k, g.ByFile[k], v)
				}
			}
		})
	}
}

func TestLoadGroupsFile(t *testing.T) {
	if _, err := LoadGroups(filepath.Join(t.TempDir(), "none.csv")); err == nil || !strings.Contains(err.Error(), "load groups") {
		t.Errorf("missing file: err = %v", err)
	}
	p := filepath.Join(t.TempDir(), "g.csv")
	if err := os.WriteFile(p, []byte("file,slide\na.png,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := LoadGroups(p)
	if err != nil || g.ByFile["a.png"] != "1" || g.Source != p {
		t.Errorf("LoadGroups = %+v, %v", g, err)
	}
}

func TestSetGroups(t *testing.T) {
	files := []string{"HSIL/a.png", "HSIL/sub/b.png", "LSIL/c.png", "NILM/d.png", "SCC/e.png", "SCC/a.png"}
	tests := []struct {
		name, csv string
		groups    []string // per item in dataset order; nil: want an error
		unused    int
		err       string
	}{
		{"paths and bare names", "file,group\nHSIL/a.png,1\nsub/b.png,x\nHSIL/sub/b.png,2\nc.png,3\nd.png,4\ne.png,5\nSCC/a.png,6\nz.png,7\n",
			[]string{"1", "2", "3", "4", "5", "6"}, 2, ""},
		{"ambiguous bare name", "file,group\na.png,1\n", nil, 0, "g.csv:2: bare file name a.png matches 2 files (HSIL/a.png, …)"},
		{"same file twice", "file,group\nc.png,1\nLSIL/c.png,2\n", nil, 0, "g.csv:3: LSIL/c.png names the same file as c.png on line 2"},
		{"missing files", "file,group\nc.png,1\n", nil, 0, "g.csv: 5 dataset files have no group: HSIL/a.png, HSIL/sub/b.png, NILM/d.png, SCC/a.png, SCC/e.png"},
		{"missing many", "file,group\nzz.png,1\n", nil, 0, "6 dataset files have no group: HSIL/a.png, HSIL/sub/b.png, LSIL/c.png, NILM/d.png, SCC/a.png and 1 more"},
	}
	root := makeTree(t, files...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Scan(root)
			if err != nil {
				t.Fatal(err)
			}
			g, err := ReadGroups(strings.NewReader(tt.csv), "g.csv")
			if err != nil {
				t.Fatal(err)
			}
			unused, err := d.SetGroups(g)
			if tt.groups == nil {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.err)
				}
				for _, it := range d.Items {
					if it.Group != "" {
						t.Fatalf("a failed SetGroups changed the items: %+v", d.Items)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(unused) != tt.unused {
				t.Errorf("unused = %q, want %d", unused, tt.unused)
			}
			// Dataset order: HSIL/a, HSIL/sub/b, LSIL/c, NILM/d, SCC/a, SCC/e.
			want := []string{tt.groups[0], tt.groups[1], tt.groups[2], tt.groups[3], tt.groups[5], tt.groups[4]}
			for i, it := range d.Items {
				if it.Group != want[i] {
					t.Errorf("%s: group %q, want %q", d.Rel(it), it.Group, want[i])
				}
			}
		})
	}
}
