// Package dataset reads an image-classification dataset laid out one folder
// per class — the layout of the Mendeley LBC Pap-smear dataset and of
// `papscope synth` — and splits it into seeded, stratified train, validation
// and test sets, optionally keeping the images of one slide or patient together.
//
// The layout is DIR/<class>/…/<image>, with class folders named after
// nn.ClassNames() (HSIL, LSIL, NILM, SCC), matched case-insensitively; the
// common misspelling "NIML" is accepted for NILM. Images are found recursively
// inside a class folder. Scan lists files without decoding them; Check and
// DropUnreadable find the files that do not decode. LoadGroups and SetGroups
// attach slide or patient ids, and the original each augmented copy was made
// from, from a CSV file; Load does it from manifest.csv beside the class
// folders. Split and Folds then keep each slide (or, without slides, each
// original) whole.
package dataset

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"papscope/internal/imagefile"
	"papscope/internal/parallel"
	"papscope/nn"
)

// ManifestName is the file beside the class folders that Load reads for
// each file's slide and original (a groups CSV, see LoadGroups).
const ManifestName = "manifest.csv"

// Item is one image of the dataset.
type Item struct {
	Path     string // file path: the dataset root joined with the path inside it
	Class    int    // class index into nn.ClassNames()
	Group    string // slide or patient id, "" unless set by SetGroups
	Original string // the image this file is a copy of (augmented or not), "" unless set by SetGroups
}

// Unit returns what the item is counted as when evaluating: its original
// when known (so copies of one image count once), else its path.
func (it Item) Unit() string {
	if it.Original != "" {
		return "original:" + it.Original
	}
	return "file:" + it.Path
}

// Dataset is the list of images found under a root folder, in a deterministic order.
type Dataset struct {
	Root     string   // the folder given to Scan
	Items    []Item   // images sorted by class, then by path inside the root (slash-separated, byte order)
	Ignored  []string // files inside class folders that are hidden or not images, and hidden folders (ending in "/"), relative to Root
	Unknown  []string // top-level entries that are not class folders (other folders, loose files), relative to Root
	Grouping string   // where the items' groups came from, e.g. "slide from DIR/manifest.csv"; "" when they have none
}

// Rel returns the slash-separated path of it inside the dataset root.
func (d *Dataset) Rel(it Item) string {
	rel, err := filepath.Rel(d.Root, it.Path)
	if err != nil {
		return filepath.ToSlash(it.Path)
	}
	return filepath.ToSlash(rel)
}

// Warnings returns human-readable warnings about ignored files and unknown top-level entries.
func (d *Dataset) Warnings() []string {
	var w []string
	if n := len(d.Unknown); n > 0 {
		w = append(w, fmt.Sprintf("%s: ignored %d top-level %s that %s not a class folder: %s",
			d.Root, n, plural(n, "entry", "entries"), plural(n, "is", "are"), listFew(d.Unknown, 5)))
	}
	if n := len(d.Ignored); n > 0 {
		w = append(w, fmt.Sprintf("%s: ignored %d hidden or non-image %s in class folders (want %s): %s",
			d.Root, n, plural(n, "file", "files"), strings.Join(imagefile.Extensions(), " "), listFew(d.Ignored, 5)))
	}
	return w
}

// Counts returns the number of items of each class.
func (d *Dataset) Counts() []int {
	return countClasses(d.Items)
}

// Scan lists the images under dir without decoding them. It fails when dir is
// missing, when a class has no folder or an empty folder, or when two folders
// map to the same class; unknown top-level entries and non-image files are
// recorded in Unknown and Ignored instead.
func Scan(dir string) (*Dataset, error) {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("dataset folder %s does not exist", dir)
		}
		return nil, fmt.Errorf("dataset folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("dataset folder %s is not a folder", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read dataset folder: %w", err)
	}
	names := nn.ClassNames()
	d := &Dataset{Root: dir}
	folder := make([]string, len(names)) // class → folder name
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // hidden top-level entries (.DS_Store, .git) are not worth a warning
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(filepath.Join(dir, name)); err == nil {
				isDir = st.IsDir()
			}
		}
		c, err := nn.ParseClass(name)
		ok := err == nil
		if name == ManifestName && !isDir {
			continue // read by Load
		}
		if !isDir || !ok {
			d.Unknown = append(d.Unknown, name)
			continue
		}
		if folder[c] != "" {
			return nil, fmt.Errorf("folders %s and %s in %s both map to class %s: keep one", folder[c], name, dir, names[c])
		}
		folder[c] = name
	}
	var missing []string
	for c, f := range folder {
		if f == "" {
			missing = append(missing, names[c])
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no %s for %s %s in %s: want folders %s (case-insensitive)",
			plural(len(missing), "folder", "folders"), plural(len(missing), "class", "classes"),
			strings.Join(missing, ", "), dir, strings.Join(names, ", "))
	}
	for c, f := range folder {
		n, ignored := len(d.Items), len(d.Ignored)
		if err := d.walkClass(f, c); err != nil {
			return nil, err
		}
		if len(d.Items) == n {
			hint := ""
			if k := len(d.Ignored) - ignored; k > 0 {
				hint = fmt.Sprintf(" (%d other %s ignored)", k, plural(k, "file", "files"))
			}
			return nil, fmt.Errorf("class folder %s has no images with extension %s%s",
				filepath.Join(dir, f), strings.Join(imagefile.Extensions(), " "), hint)
		}
	}
	slices.SortFunc(d.Items, func(a, b Item) int {
		if a.Class != b.Class {
			return a.Class - b.Class
		}
		return strings.Compare(d.Rel(a), d.Rel(b))
	})
	slices.Sort(d.Ignored)
	slices.Sort(d.Unknown)
	return d, nil
}

// Load scans dir (see Scan) and sets every item's slide and original from
// groupsCSV, or, when groupsCSV is "", from dir/manifest.csv if there is one.
// It returns the CSV entries that match no file as warnings.
func Load(dir, groupsCSV string) (d *Dataset, unused []string, err error) {
	if d, err = Scan(dir); err != nil {
		return nil, nil, err
	}
	if groupsCSV == "" {
		m := filepath.Join(dir, ManifestName)
		if _, err := os.Stat(m); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return d, nil, nil
			}
			return nil, nil, fmt.Errorf("dataset manifest: %w", err)
		}
		groupsCSV = m
	}
	g, err := LoadGroups(groupsCSV)
	if err != nil {
		return nil, nil, err
	}
	if unused, err = d.SetGroups(g); err != nil {
		return nil, nil, err
	}
	d.Grouping = fmt.Sprintf("%s from %s", g.Column, groupsCSV)
	return d, unused, nil
}

// walkClass appends the images found recursively under Root/folder as class c.
func (d *Dataset) walkClass(folder string, c int) error {
	top := filepath.Join(d.Root, folder)
	err := filepath.WalkDir(top, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		hidden := strings.HasPrefix(e.Name(), ".") && path != top
		if e.IsDir() {
			if hidden {
				rel, _ := filepath.Rel(d.Root, path)
				d.Ignored = append(d.Ignored, filepath.ToSlash(rel)+"/")
				return filepath.SkipDir
			}
			return nil
		}
		regular := e.Type().IsRegular()
		if e.Type()&fs.ModeSymlink != 0 {
			st, err := os.Stat(path)
			regular = err == nil && st.Mode().IsRegular()
		}
		if hidden || !regular || !slices.Contains(imagefile.Extensions(), strings.ToLower(filepath.Ext(path))) {
			rel, _ := filepath.Rel(d.Root, path)
			d.Ignored = append(d.Ignored, filepath.ToSlash(rel))
			return nil
		}
		d.Items = append(d.Items, Item{Path: path, Class: c})
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan class folder %s: %w", top, err)
	}
	return nil
}

// BadFile is an image that could not be decoded, with the reason.
type BadFile struct {
	Path string // the Item's Path
	Err  error  // the decoder's error
}

// String formats the file and reason for a warning.
func (b BadFile) String() string {
	msg := b.Err.Error()
	if strings.Contains(msg, b.Path) {
		return msg
	}
	return b.Path + ": " + msg
}

// Check calls decode on every item, using up to workers goroutines (at least
// one), and returns the items it failed on, in dataset order.
func (d *Dataset) Check(decode func(path string) error, workers int) []BadFile {
	errs := make([]error, len(d.Items))
	// Every item is tried: a failure is recorded, not returned, so nothing stops the loop.
	_ = parallel.For(context.Background(), len(d.Items), workers, func(_ context.Context, _, i int) error {
		errs[i] = decode(d.Items[i].Path)
		return nil
	})
	var bad []BadFile
	for i, err := range errs {
		if err != nil {
			bad = append(bad, BadFile{Path: d.Items[i].Path, Err: err})
		}
	}
	return bad
}

// DropUnreadable decodes every image with imagefile.Read (workers goroutines),
// removes the ones that fail from d.Items and returns them. It returns an
// error, after removing them, when a class is left with no readable image.
func (d *Dataset) DropUnreadable(workers int) ([]BadFile, error) {
	bad := d.Check(func(path string) error {
		_, err := imagefile.Read(path)
		return err
	}, workers)
	if len(bad) == 0 {
		return nil, nil
	}
	drop := make(map[string]bool, len(bad))
	for _, b := range bad {
		drop[b.Path] = true
	}
	d.Items = slices.DeleteFunc(d.Items, func(it Item) bool { return drop[it.Path] })
	names := nn.ClassNames()
	for c, n := range d.Counts() {
		if n == 0 {
			return bad, fmt.Errorf("%s: no readable images left for class %s (%d unreadable)", d.Root, names[c], len(bad))
		}
	}
	return bad, nil
}

// countClasses counts items per class.
func countClasses(items []Item) []int {
	n := make([]int, nn.NumClasses)
	for _, it := range items {
		n[it.Class]++
	}
	return n
}

// plural picks the singular or plural form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// listFew joins up to k strings, noting how many more there are.
func listFew(s []string, k int) string {
	if len(s) <= k {
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(s[:k], ", "), len(s)-k)
}
