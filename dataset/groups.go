package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"papscope/nn"
)

// fileColumns and groupColumns are the accepted CSV header names, lower case,
// in order of preference.
var (
	fileColumns     = []string{"file", "filename", "file_name", "path", "filepath", "file_path", "image", "image_path"}
	groupColumns    = []string{"group", "slide", "slide_id", "patient", "patient_id", "group_id"}
	originalColumns = []string{"original", "original_id", "source_image", "parent"}
	classColumns    = []string{"class", "label"}
)

// Groups maps a file, as written in a groups CSV (a path relative to the
// dataset root, or a bare file name), to its group: a slide or patient id;
// and, when the CSV has the columns, to the original image it was made from
// and to its class.
type Groups struct {
	Source   string            // the CSV file, for messages
	Column   string            // the header of the group column used
	ByFile   map[string]string // normalised file entry → group
	Original map[string]string // normalised file entry → original image; nil without an original column
	Class    map[string]string // normalised file entry → class name as written; nil without a class column
	Line     map[string]int    // normalised file entry → CSV line, for messages
}

// LoadGroups reads a CSV file with a header row naming a file column (file,
// filename, path, image, …) and a group column (group, slide, patient, …),
// case-insensitively, and optionally an original column (original,
// original_id, source_image, parent: the image a copy was made from) and a
// class column (class, label); other columns are ignored. The LBC data's
// manifest.csv is such a file.
func LoadGroups(csvPath string) (*Groups, error) {
	f, err := os.Open(csvPath)
	if err != nil {
		return nil, fmt.Errorf("load groups: %w", err)
	}
	defer f.Close()
	g, err := ReadGroups(f, csvPath)
	if err != nil {
		return nil, fmt.Errorf("load groups: %w", err)
	}
	return g, nil
}

// ReadGroups reads a groups CSV (see LoadGroups) from r; name is used in messages.
func ReadGroups(r io.Reader, name string) (*Groups, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file, want a header row with a file column and a group column", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff")))
	}
	fileCol, groupCol := findColumn(header, fileColumns), findColumn(header, groupColumns)
	if fileCol < 0 || groupCol < 0 {
		var want []string
		if fileCol < 0 {
			want = append(want, "a file column ("+strings.Join(fileColumns, ", ")+")")
		}
		if groupCol < 0 {
			want = append(want, "a group column ("+strings.Join(groupColumns, ", ")+")")
		}
		return nil, fmt.Errorf("%s: header %q lacks %s", name, strings.Join(header, ","), strings.Join(want, " and "))
	}
	g := &Groups{Source: name, Column: header[groupCol], ByFile: map[string]string{}, Line: map[string]int{}}
	origCol, classCol := findColumn(header, originalColumns), findColumn(header, classColumns)
	if origCol >= 0 {
		g.Original = map[string]string{}
	}
	if classCol >= 0 {
		g.Class = map[string]string{}
	}
	need := max(fileCol, groupCol, origCol, classCol)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) <= need {
			return nil, fmt.Errorf("%s:%d: %d fields, want at least %d", name, line, len(rec), need+1)
		}
		file, group := normFile(rec[fileCol]), strings.TrimSpace(rec[groupCol])
		if file == "" {
			return nil, fmt.Errorf("%s:%d: empty file name", name, line)
		}
		if group == "" {
			return nil, fmt.Errorf("%s:%d: empty %s for %s", name, line, g.Column, file)
		}
		if prev, dup := g.Line[file]; dup {
			return nil, fmt.Errorf("%s:%d: duplicate entry for %s (first on line %d)", name, line, file, prev)
		}
		g.ByFile[file], g.Line[file] = group, line
		if origCol >= 0 {
			orig := strings.TrimSpace(rec[origCol])
			if orig == "" {
				return nil, fmt.Errorf("%s:%d: empty %s for %s", name, line, header[origCol], file)
			}
			g.Original[file] = orig
		}
		if classCol >= 0 {
			g.Class[file] = strings.TrimSpace(rec[classCol])
		}
	}
	if len(g.ByFile) == 0 {
		return nil, fmt.Errorf("%s: no rows after the header", name)
	}
	return g, nil
}

// findColumn returns the index of the first preferred name present in header, or -1.
func findColumn(header, preferred []string) int {
	for _, want := range preferred {
		if i := slices.Index(header, want); i >= 0 {
			return i
		}
	}
	return -1
}

// normFile cleans a CSV file entry to a slash-separated path with no leading "./".
func normFile(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, `\`, "/"))
	if s == "" {
		return ""
	}
	return strings.TrimPrefix(path.Clean(s), "./")
}

// SetGroups sets the Group of every item from g, and its Original when g has
// originals. An entry with a slash matches the item's path relative to the
// root; a bare file name matches the item's base name and must be
// unambiguous. It fails when a dataset file has no entry (listing the first
// few), when a bare name matches several files, when two entries name the
// same file, when an entry's class differs from its folder's, or when the
// copies of one original are given different groups (they could then
// straddle a split); entries that match no file are returned as warnings.
func (d *Dataset) SetGroups(g *Groups) (unused []string, err error) {
	byRel := make(map[string]int, len(d.Items))
	byBase := make(map[string][]int, len(d.Items))
	for i, it := range d.Items {
		rel := d.Rel(it)
		byRel[rel] = i
		byBase[path.Base(rel)] = append(byBase[path.Base(rel)], i)
	}
	groups := make([]string, len(d.Items))
	from := make([]string, len(d.Items))
	entries := make([]string, 0, len(g.ByFile))
	for e := range g.ByFile {
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b string) int { return g.Line[a] - g.Line[b] })
	for _, e := range entries {
		var idx []int
		if strings.Contains(e, "/") {
			if i, ok := byRel[e]; ok {
				idx = []int{i}
			}
		} else {
			idx = byBase[e]
		}
		switch {
		case len(idx) == 0:
			unused = append(unused, fmt.Sprintf("%s:%d: %s is not in the dataset %s", g.Source, g.Line[e], e, d.Root))
			continue
		case len(idx) > 1:
			return nil, fmt.Errorf("%s:%d: bare file name %s matches %d files (%s, …): use paths relative to %s",
				g.Source, g.Line[e], e, len(idx), d.Rel(d.Items[idx[0]]), d.Root)
		}
		i := idx[0]
		if from[i] != "" {
			return nil, fmt.Errorf("%s:%d: %s names the same file as %s on line %d", g.Source, g.Line[e], e, from[i], g.Line[from[i]])
		}
		if name, ok := g.Class[e]; ok {
			if c, err := nn.ParseClass(name); err != nil || int(c) != d.Items[i].Class {
				return nil, fmt.Errorf("%s:%d: %s has class %q, but it is in the %s folder: correct the CSV or move the file",
					g.Source, g.Line[e], e, name, nn.ClassNames()[d.Items[i].Class])
			}
		}
		groups[i], from[i] = g.ByFile[e], e
	}
	var missing []string
	for i, it := range d.Items {
		if groups[i] == "" {
			missing = append(missing, d.Rel(it))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: %d dataset %s no %s: %s", g.Source, len(missing),
			plural(len(missing), "file has", "files have"), g.Column, listFew(missing, 5))
	}
	if g.Original != nil {
		groupOf := map[string]int{} // original → first item
		for i := range d.Items {
			o := g.Original[from[i]]
			if j, seen := groupOf[o]; seen && groups[j] != groups[i] {
				return nil, fmt.Errorf("%s:%d: %s is a copy of %s, like %s on line %d, but its %s is %s, not %s: copies of one original must share it",
					g.Source, g.Line[from[i]], from[i], o, from[j], g.Line[from[j]], g.Column, groups[i], groups[j])
			} else if !seen {
				groupOf[o] = i
			}
		}
	}
	for i := range d.Items {
		d.Items[i].Group = groups[i]
		d.Items[i].Original = g.Original[from[i]]
	}
	return unused, nil
}
