package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"papscope/internal/imagefile"
	"papscope/internal/results"
	"papscope/nn"
)

// withOOD writes a copy of the weights at path with out-of-distribution
// statistics: every class mean at the pooled vector of image, identity
// precision, so image scores 0 and others score their distance to it.
func withOOD(t *testing.T, path, image string, threshold float64) string {
	t.Helper()
	w, err := loadWeights(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := nn.NewModel(w)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imagefile.Read(image)
	if err != nil {
		t.Fatal(err)
	}
	o, err := m.ClassifyImage(img)
	if err != nil {
		t.Fatal(err)
	}
	means := make([]float32, 0, nn.NumClasses*nn.OODDim)
	for range nn.NumClasses {
		means = append(means, o.Pooled...)
	}
	precision := make([]float32, nn.OODDim*nn.OODDim)
	for i := range nn.OODDim {
		precision[i*nn.OODDim+i] = 1
	}
	w, err = w.WithTrust(0, means, precision, threshold)
	if err != nil {
		t.Fatal(err)
	}
	return writeWeights(t, w, "ood.safetensors")
}

// writeWeights encodes w into a file name in a temporary folder and returns its path.
func writeWeights(t *testing.T, w *nn.Weights, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := w.Encode(f); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestClassifyOOD(t *testing.T) {
	t.Parallel()
	plain := importFixture(t)
	near, far := filepath.Join(fixture, "input_0.png"), filepath.Join(fixture, "input_1.png")
	ood := withOOD(t, plain, near, 1e-3)

	classify := func(weights string) []map[string]json.RawMessage {
		stdout, stderr, st := runCLI(t, "classify", "-json", "-weights", weights, near, far)
		if st != 0 {
			t.Fatalf("status %d: %s", st, stderr)
		}
		var lines []map[string]json.RawMessage
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, m)
		}
		return lines
	}
	for _, l := range classify(plain) {
		for _, key := range []string{"ood_score", "in_distribution"} {
			if v, ok := l[key]; !ok || string(v) != "null" {
				t.Errorf("weights without statistics: %s = %s (present %v), want null", key, v, ok)
			}
		}
		for _, key := range []string{"file", "top", "classes", "probs", "logits"} {
			if _, ok := l[key]; !ok {
				t.Errorf("key %q missing", key)
			}
		}
	}
	lines := classify(ood)
	var scores [2]float64
	var in [2]bool
	for i, l := range lines {
		if err := json.Unmarshal(l["ood_score"], &scores[i]); err != nil {
			t.Fatalf("ood_score %s: %v", l["ood_score"], err)
		}
		if err := json.Unmarshal(l["in_distribution"], &in[i]); err != nil {
			t.Fatalf("in_distribution %s: %v", l["in_distribution"], err)
		}
	}
	if scores[0] > 1e-3 || !in[0] || scores[1] <= 1e-3 || in[1] {
		t.Errorf("scores %v, in distribution %v: want ≈0 and in for the image the means came from, > threshold and out for the other", scores, in)
	}

	stdout, _, _ := runCLI(t, "classify", "-weights", plain, near)
	if header, row, _ := strings.Cut(stdout, "\n"); !strings.Contains(header, "OOD") || !strings.Contains(row, "n/a") {
		t.Errorf("table without statistics:\n%s", stdout)
	}
	if strings.Contains(stdout, "OUT") {
		t.Errorf("table without statistics flags an outlier:\n%s", stdout)
	}
	stdout, _, _ = runCLI(t, "classify", "-weights", ood, near, far)
	table := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(table) != 4 {
		t.Fatalf("table with statistics: want a header, 2 rows and the outlier line, got:\n%s", stdout)
	}
	for _, tc := range []struct{ line, want string }{
		{table[1], " in "},
		{table[2], " OUT "},
		{table[3], "OUT: 1 of the images are unlike the fields these weights were trained on (OOD score above 0.001)"},
	} {
		if !strings.Contains(tc.line+" ", tc.want) {
			t.Errorf("table with statistics: %q does not contain %q\n%s", tc.line, tc.want, stdout)
		}
	}
}

// TestClassifyCSV: -csv writes the page's export columns: the same
// probabilities and OOD verdicts as -json, a row with its error for a file
// that failed, and the weights, input size and date on every row.
func TestClassifyCSV(t *testing.T) {
	t.Parallel()
	plain := importFixture(t)
	near, far := filepath.Join(fixture, "input_0.png"), filepath.Join(fixture, "input_1.png")
	ood := withOOD(t, plain, near, 1e-3)
	bad := filepath.Join(t.TempDir(), "notes.png")
	if err := os.WriteFile(bad, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, st := runCLI(t, "classify", "-csv", "-weights", ood, near, bad, far)
	if st != 1 {
		t.Errorf("status %d with a bad file, want 1; stderr %s", st, stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(recs) != 4 || !slices.Equal(recs[0], results.Header) {
		t.Fatalf("want the header %v and 3 rows, got\n%s", results.Header, stdout)
	}
	jsonOut, _, _ := runCLI(t, "classify", "-json", "-weights", ood, near, far)
	var want []classification
	dec := json.NewDecoder(strings.NewReader(jsonOut))
	for dec.More() {
		var c classification
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		want = append(want, c)
	}
	col := func(name string) int { return slices.Index(results.Header, name) }
	for i, rec := range [][]string{recs[1], recs[3]} {
		c := want[i]
		if rec[col("file")] != c.File || rec[col("top_class")] != c.Top {
			t.Errorf("row %v, -json says file %s top %s", rec, c.File, c.Top)
		}
		for k, p := range c.Probs {
			if rec[2+k] != results.FormatProb(p) {
				t.Errorf("%s: %s = %s, -json says %v", c.File, results.Header[2+k], rec[2+k], p)
			}
		}
		if rec[col("ood_score")] != results.FormatProb(*c.OODScore) || rec[col("in_distribution")] != map[bool]string{true: "yes", false: "no"}[*c.InDistribution] {
			t.Errorf("%s: ood_score %s in_distribution %s, -json says %v %v", c.File, rec[col("ood_score")], rec[col("in_distribution")], *c.OODScore, *c.InDistribution)
		}
	}
	if recs[1][col("in_distribution")] != "yes" || recs[3][col("in_distribution")] != "no" {
		t.Errorf("in_distribution %q and %q, want yes for the image the means came from and no for the other", recs[1][col("in_distribution")], recs[3][col("in_distribution")])
	}
	failed := recs[2]
	if failed[col("file")] != bad || !strings.Contains(failed[col("error")], "not a recognised image") || failed[col("top_class")] != "" {
		t.Errorf("failed file's row %q: want its name, an error and no class", failed)
	}
	for _, rec := range recs[1:] {
		if rec[col("weights")] != "ood.safetensors" || rec[col("input_size")] == "" {
			t.Errorf("row %q: weights %q input %q, want ood.safetensors and a size", rec, rec[col("weights")], rec[col("input_size")])
		}
		if _, err := time.Parse(time.RFC3339, rec[col("classified_at")]); err != nil {
			t.Errorf("classified_at %q: %v", rec[col("classified_at")], err)
		}
	}
}
