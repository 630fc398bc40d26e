package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"papscope/internal/imagehead"
	"papscope/internal/safefile"
	"papscope/nn"
)

// siteCase is one teaching case as the page reads it from samples/samples.json.
type siteCase struct {
	ID         string `json:"name"`  // the case's ID, in #case=ID links
	Class      string `json:"class"` // the expected class
	File       string `json:"file"`  // under samples/
	Note       string `json:"note,omitempty"`
	Difficulty string `json:"difficulty,omitempty"`

	src string // the image it was copied from
}

// caseImageExts are the formats the page can show (it cannot decode TIFF).
var caseImageExts = []string{".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}

func runSite(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("site", stderr)
	casesDir := fs.String("cases", "", "the teaching cases: a folder per class (HSIL/ LSIL/ NILM/ SCC/) or a folder with a cases.csv (file,class,note,difficulty,id); none: a site without bundled examples")
	list := fs.String("list", "", "the cases CSV to read instead of DIR/cases.csv, its file paths relative to the -cases folder")
	web := fs.String("web", "web", "the built site to copy (make build makes it)")
	out := fs.String("o", "", "the folder to write the site into (it may be the -web folder itself)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *out == "" {
		return fmt.Errorf("%w: -o OUT is required: the folder to write the site into", errUsage)
	}
	if *list != "" && *casesDir == "" {
		return fmt.Errorf("%w: -list needs -cases DIR, the folder its paths are relative to", errUsage)
	}
	if err := checkSite(*web); err != nil {
		return err
	}
	var cases []siteCase
	if *casesDir != "" {
		var err error
		if cases, err = readCases(*casesDir, *list); err != nil {
			return err
		}
	}
	if err := buildSite(*web, *out, cases); err != nil {
		return err
	}
	if len(cases) == 0 {
		fmt.Fprintf(stdout, "site: %s, without teaching cases: the page says it has no bundled examples\n", *out)
		return nil
	}
	counts := map[string]int{}
	for _, c := range cases {
		counts[c.Class]++
	}
	var per []string
	for _, c := range nn.ClassNames() {
		per = append(per, fmt.Sprintf("%s %d", c, counts[c]))
	}
	fmt.Fprintf(stdout, "site: %s with %d teaching cases (%s). Links, once served (papscope serve -dir %s):\n", *out, len(cases), strings.Join(per, ", "), *out)
	for _, c := range cases {
		fmt.Fprintf(stdout, "  #case=%-24s %-4s  %s\n", c.ID, c.Class, c.src)
	}
	fmt.Fprintln(stdout, "  #quiz                          every case, shuffled; #case=ID&quiz for one")
	return nil
}

// readCases reads the cases of dir: from a CSV (list, or dir/cases.csv when
// it exists), or else from a folder per class.
func readCases(dir, list string) ([]siteCase, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("cases: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("cases: %s is not a folder: give the folder that holds the class folders or cases.csv", dir)
	}
	if list == "" {
		if _, err := os.Stat(filepath.Join(dir, "cases.csv")); err == nil {
			list = filepath.Join(dir, "cases.csv")
		}
	}
	var cases []siteCase
	if list != "" {
		cases, err = readCasesCSV(dir, list)
	} else {
		cases, err = readCaseFolders(dir)
	}
	if err != nil {
		return nil, err
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("cases: no images in %s: want a folder per class (HSIL/ LSIL/ NILM/ SCC/) or a cases.csv", dir)
	}
	return cases, assignIDs(cases)
}

// readCasesCSV reads a cases CSV: a header naming the columns file and class
// (required) and note, difficulty and id (optional), in any order.
func readCasesCSV(dir, list string) ([]siteCase, error) {
	data, err := safefile.Read(list, 16<<20)
	if err != nil {
		return nil, fmt.Errorf("cases: %w", err)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))) // spreadsheets write a BOM
	r.FieldsPerRecord = -1
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("cases: %s: %w", list, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("cases: %s is empty: want a header line file,class,note,difficulty,id and a line per case", list)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"file", "class"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("cases: %s: the header %q has no %q column: want file,class and optionally note,difficulty,id", list, strings.Join(recs[0], ","), need)
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var cases []siteCase
	for n, rec := range recs[1:] {
		line := n + 2
		file := get(rec, "file")
		if file == "" {
			return nil, fmt.Errorf("cases: %s line %d: no file", list, line)
		}
		class, err := nn.ParseClass(strings.TrimSpace(get(rec, "class")))
		if err != nil {
			return nil, fmt.Errorf("cases: %s line %d (%s): %w", list, line, file, err)
		}
		src := filepath.Join(dir, filepath.FromSlash(file))
		if err := checkCaseImage(src); err != nil {
			return nil, fmt.Errorf("cases: %s line %d: %w", list, line, err)
		}
		cases = append(cases, siteCase{ID: get(rec, "id"), Class: class.String(), Note: get(rec, "note"), Difficulty: get(rec, "difficulty"), src: src})
	}
	return cases, nil
}

// readCaseFolders reads a folder per class; a NAME.txt beside NAME.jpg is its note.
func readCaseFolders(dir string) ([]siteCase, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cases: %w", err)
	}
	var cases []siteCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		class, err := nn.ParseClass(e.Name())
		if err != nil {
			continue // a folder that is not a class: not ours
		}
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("cases: %w", err)
		}
		for _, f := range files {
			ext := strings.ToLower(filepath.Ext(f.Name()))
			if f.IsDir() || strings.HasPrefix(f.Name(), ".") || ext == ".txt" {
				continue
			}
			src := filepath.Join(dir, e.Name(), f.Name())
			if err := checkCaseImage(src); err != nil {
				return nil, fmt.Errorf("cases: %w", err)
			}
			c := siteCase{Class: class.String(), src: src}
			if note, err := os.ReadFile(strings.TrimSuffix(src, filepath.Ext(src)) + ".txt"); err == nil {
				c.Note = strings.TrimSpace(string(note))
			}
			cases = append(cases, c)
		}
	}
	return cases, nil
}

// checkCaseImage checks that path is an image the page can show.
func checkCaseImage(path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	if !slices.Contains(caseImageExts, ext) {
		if ext == ".tif" || ext == ".tiff" {
			return fmt.Errorf("%s: the page cannot show TIFF images: convert it to PNG first", path)
		}
		return fmt.Errorf("%s: not an image the page can show (want %s)", path, strings.Join(caseImageExts, ", "))
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	prefix := make([]byte, imagehead.PrefixBytes)
	n, err := io.ReadFull(f, prefix)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := imagehead.Read(prefix[:n], st.Size()); err != nil && !errors.Is(err, imagehead.ErrNeedMore) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// assignIDs gives each case without an ID one made from its file name, and
// refuses two cases whose IDs differ only in case (links ignore case).
func assignIDs(cases []siteCase) error {
	seen := map[string]string{}
	for i := range cases {
		c := &cases[i]
		if c.ID != "" {
			if !validID(c.ID) {
				return fmt.Errorf("cases: id %q (%s): use letters, digits, '-' and '_' only, so that the link #case=%s can be typed", c.ID, c.src, c.ID)
			}
			continue
		}
		stem := strings.TrimSuffix(filepath.Base(c.src), filepath.Ext(c.src))
		base := slug(stem)
		if base == "" {
			base = c.Class
		}
		id := base
		for n := 2; seen[strings.ToLower(id)] != "" || clashes(cases, i, id); n++ {
			id = fmt.Sprintf("%s-%d", base, n)
		}
		c.ID = id
		seen[strings.ToLower(id)] = c.src
	}
	byID := map[string]string{}
	for i, c := range cases {
		k := strings.ToLower(c.ID)
		if other, ok := byID[k]; ok {
			return fmt.Errorf("cases: two cases with the id %q (links ignore case): %s and %s", c.ID, other, c.src)
		}
		byID[k] = c.src
		cases[i].File = c.ID + strings.ToLower(filepath.Ext(c.src))
	}
	return nil
}

// clashes says whether id is the explicit ID of another case than i.
func clashes(cases []siteCase, i int, id string) bool {
	for j, c := range cases {
		if j != i && c.ID != "" && strings.EqualFold(c.ID, id) {
			return true
		}
	}
	return false
}

func validID(id string) bool {
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return id != ""
}

// slug makes a link-friendly ID of a file name: runs of other characters become one '-'.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// buildSite writes the site of web into out (copying it unless out is web),
// with cases in out/samples/ and the service worker's cache version.
func buildSite(web, out string, cases []siteCase) error {
	same, err := sameDir(web, out)
	if err != nil {
		return err
	}
	if !same {
		if err := copySite(web, out); err != nil {
			return err
		}
	}
	samples := filepath.Join(out, "samples")
	if err := os.RemoveAll(samples); err != nil {
		return fmt.Errorf("site: %w", err)
	}
	if err := os.MkdirAll(samples, 0o755); err != nil {
		return fmt.Errorf("site: %w", err)
	}
	for _, c := range cases {
		data, err := safefile.Read(c.src, 64<<20)
		if err != nil {
			return fmt.Errorf("site: %w", err)
		}
		if err := safefile.Write(filepath.Join(samples, c.File), data); err != nil {
			return fmt.Errorf("site: %w", err)
		}
	}
	if cases == nil {
		cases = []siteCase{}
	}
	js, err := json.MarshalIndent(cases, "", " ")
	if err != nil {
		return err
	}
	if err := safefile.Write(filepath.Join(samples, "samples.json"), append(js, '\n')); err != nil {
		return fmt.Errorf("site: %w", err)
	}
	version, err := siteVersion(out)
	if err != nil {
		return err
	}
	return safefile.Write(filepath.Join(out, "version.js"), fmt.Appendf(nil, "self.PAPSCOPE_VERSION = %q;\n", version))
}

// sameDir says whether a and b name the same folder (b may not exist yet).
func sameDir(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, fmt.Errorf("site: %w", err)
	}
	sb, err := os.Stat(b)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("site: %w", err)
	}
	return os.SameFile(sa, sb), nil
}

// copySite copies the built site's files from web to out, except its cases
// (samples/), the list of default cases and the cache version, which
// buildSite writes.
func copySite(web, out string) error {
	return filepath.WalkDir(web, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(web, path)
		if err != nil {
			return err
		}
		switch {
		case rel == "samples" && d.IsDir():
			return filepath.SkipDir
		case rel == "version.js" || rel == "samples.csv" || strings.HasPrefix(d.Name(), ".") && rel != ".":
			return nil
		case d.IsDir():
			return os.MkdirAll(filepath.Join(out, rel), 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		data, err := safefile.Read(path, 256<<20)
		if err != nil {
			return err
		}
		return safefile.Write(filepath.Join(out, rel), data)
	})
}

// siteVersion hashes every file of the site but version.js: the service
// worker's cache name, so that a new build replaces the cached one.
func siteVersion(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "version.js" {
			return err
		}
		data, err := safefile.Read(path, 256<<20)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(h, "%s  %s\n", hex.EncodeToString(sum[:]), filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("site: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
