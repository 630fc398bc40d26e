package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"papscope/nn"
)

// synthetic builds a dataset in memory with n[c] items of class c.
func synthetic(n [nn.NumClasses]int) *Dataset {
	d := &Dataset{Root: "/data"}
	for c, k := range n {
		for i := range k {
			d.Items = append(d.Items, Item{Path: filepath.Join("/data", nn.ClassNames()[c], fmt.Sprintf("img%03d.png", i)), Class: c})
		}
	}
	return d
}

func TestApportion(t *testing.T) {
	tests := []struct {
		n    int
		f    [3]float64
		want [3]int
	}{
		{10, [3]float64{0.7, 0.15, 0.15}, [3]int{7, 2, 1}}, // 7, 1.5, 1.5: tie goes to val
		{100, [3]float64{0.7, 0.15, 0.15}, [3]int{70, 15, 15}},
		{3, [3]float64{0.7, 0.15, 0.15}, [3]int{1, 1, 1}}, // 2.1, .45, .45 → 3,0,0 → at least one each
		{2, [3]float64{0.7, 0.15, 0.15}, [3]int{2, 0, 0}}, // too few to give every set one
		{4, [3]float64{0.8, 0, 0.2}, [3]int{3, 0, 1}},
		{1, [3]float64{0, 0, 1}, [3]int{0, 0, 1}},
		{7, [3]float64{1. / 3, 1. / 3, 1. / 3}, [3]int{3, 2, 2}},
		{0, [3]float64{0.5, 0.25, 0.25}, [3]int{0, 0, 0}},
	}
	for _, tt := range tests {
		if got := Apportion(tt.n, tt.f); got != tt.want {
			t.Errorf("Apportion(%d, %v) = %v, want %v", tt.n, tt.f, got, tt.want)
		}
	}
}

func TestSplitGolden(t *testing.T) {
	d := synthetic([4]int{5, 4, 6, 3})
	train, val, test, err := Split(d, [3]float64{0.6, 0.2, 0.2}, 42)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "split.txt", "train\n"+listing(d, train)+"val\n"+listing(d, val)+"test\n"+listing(d, test))
}

func TestSplitDeterministic(t *testing.T) {
	f := [3]float64{0.7, 0.15, 0.15}
	for _, grouped := range []bool{false, true} {
		d := synthetic([4]int{30, 20, 50, 12})
		if grouped {
			for i := range d.Items {
				d.Items[i].Group = fmt.Sprintf("slide%d", i/3)
			}
		}
		a1, b1, c1, err := Split(d, f, 7)
		if err != nil {
			t.Fatal(err)
		}
		want := listing(d, a1) + "|" + listing(d, b1) + "|" + listing(d, c1)

		// Same seed, items listed in another order: same split.
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(d.Items), func(i, j int) { d.Items[i], d.Items[j] = d.Items[j], d.Items[i] })
		a2, b2, c2, err := Split(d, f, 7)
		if err != nil {
			t.Fatal(err)
		}
		got := sortedListing(d, a2) + "|" + sortedListing(d, b2) + "|" + sortedListing(d, c2)
		if got != want {
			t.Errorf("grouped=%v: split depends on the item order", grouped)
		}
		a3, b3, c3, _ := Split(d, f, 8)
		if sortedListing(d, a3)+"|"+sortedListing(d, b3)+"|"+sortedListing(d, c3) == want {
			t.Errorf("grouped=%v: seeds 7 and 8 gave the same split", grouped)
		}
	}
}

// sortedListing lists items sorted, whatever order they come in.
func sortedListing(d *Dataset, items []Item) string {
	if len(items) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSuffix(listing(d, items), "\n"), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

func TestSplitStratified(t *testing.T) {
	fractions := [][3]float64{{0.7, 0.15, 0.15}, {0.8, 0.1, 0.1}, {0.6, 0.2, 0.2}, {0.5, 0.25, 0.25}, {0.8, 0, 0.2}}
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		var n [4]int
		for c := range n {
			n[c] = 7 + r.IntN(60)
		}
		f := fractions[trial%len(fractions)]
		d := synthetic(n)
		sets := [3][]Item{}
		var err error
		sets[0], sets[1], sets[2], err = Split(d, f, uint64(trial))
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for s, items := range sets {
			counts := countClasses(items)
			total += len(items)
			for c := range n {
				exact := float64(n[c]) * f[s]
				if math.Abs(float64(counts[c])-exact) >= 1 {
					t.Fatalf("trial %d: set %d has %d of class %d, want %.2f ± 1", trial, s, counts[c], c, exact)
				}
				if f[s] > 0 && counts[c] == 0 {
					t.Fatalf("trial %d: set %d has no class %d", trial, s, c)
				}
			}
		}
		if total != len(d.Items) {
			t.Fatalf("trial %d: %d items split, want %d", trial, total, len(d.Items))
		}
	}
}

func TestSplitSmallClasses(t *testing.T) {
	d := synthetic([4]int{3, 3, 2, 40})
	train, val, test, err := Split(d, [3]float64{0.8, 0.1, 0.1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for s, items := range [][]Item{train, val, test} {
		counts := countClasses(items)
		if counts[0] != 1 || counts[1] != 1 {
			t.Errorf("set %d: counts %v: a class of 3 must have one item in each set", s, counts)
		}
	}
	if countClasses(train)[2] != 2 {
		t.Errorf("a class of 2 should stay in train under 0.8/0.1/0.1: %v", countClasses(train))
	}
}

func TestSplitGroupsProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	fractions := [][3]float64{{0.7, 0.15, 0.15}, {0.6, 0.2, 0.2}, {0.8, 0, 0.2}, {0.34, 0.33, 0.33}}
	for trial := range 300 {
		var n [4]int
		for c := range n {
			n[c] = 1 + r.IntN(40)
		}
		d := synthetic(n)
		nGroups := 3 + r.IntN(25)
		for i := range d.Items {
			if r.IntN(4) == 0 { // a mixed slide: any group
				d.Items[i].Group = fmt.Sprintf("g%d", r.IntN(nGroups))
			} else { // mostly one class per slide
				d.Items[i].Group = fmt.Sprintf("g%d", (d.Items[i].Class+4*r.IntN(nGroups))%nGroups)
			}
		}
		f := fractions[trial%len(fractions)]
		train, val, test, err := Split(d, f, uint64(trial))
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		where := map[string]int{}
		total := 0
		for s, items := range [][]Item{train, val, test} {
			total += len(items)
			if f[s] > 0 && len(items) == 0 {
				t.Fatalf("trial %d: set %d is empty", trial, s)
			}
			if f[s] == 0 && len(items) > 0 {
				t.Fatalf("trial %d: set %d has fraction 0 but %d items", trial, s, len(items))
			}
			for _, it := range items {
				if prev, ok := where[it.Group]; ok && prev != s {
					t.Fatalf("trial %d: group %s straddles sets %d and %d", trial, it.Group, prev, s)
				}
				where[it.Group] = s
			}
		}
		if total != len(d.Items) {
			t.Fatalf("trial %d: %d items split, want %d", trial, total, len(d.Items))
		}
		// A class that is the majority of ≥ 3 groups is in every non-empty set.
		majority := majorityGroups(d)
		for c := range n {
			if majority[c] < 3 {
				continue
			}
			for s, items := range [][]Item{train, val, test} {
				if f[s] > 0 && countClasses(items)[c] == 0 {
					t.Fatalf("trial %d: class %d (majority of %d groups) missing from set %d", trial, c, majority[c], s)
				}
			}
		}
	}
}

// majorityGroups counts, per class, the groups whose majority class it is.
func majorityGroups(d *Dataset) []int {
	per := map[string][]int{}
	for _, it := range d.Items {
		if per[it.Group] == nil {
			per[it.Group] = make([]int, nn.NumClasses)
		}
		per[it.Group][it.Class]++
	}
	out := make([]int, nn.NumClasses)
	for _, counts := range per {
		out[largest(counts)]++
	}
	return out
}

func TestSplitGroupsBalance(t *testing.T) {
	// 20 slides of 5 images per class: a 0.6/0.2/0.2 split is exact in slides.
	d := synthetic([4]int{100, 100, 100, 100})
	for i := range d.Items {
		d.Items[i].Group = fmt.Sprintf("%d-%d", d.Items[i].Class, i/5)
	}
	train, val, test, err := Split(d, [3]float64{0.6, 0.2, 0.2}, 9)
	if err != nil {
		t.Fatal(err)
	}
	for s, items := range [][]Item{train, val, test} {
		want := []int{60, 20, 20}[s]
		for c, got := range countClasses(items) {
			if got != want {
				t.Errorf("set %d class %d: %d items, want %d", s, c, got, want)
			}
		}
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		name   string
		f      [3]float64
		groups []string // per item; nil: no groups
		want   string
	}{
		{"sum", [3]float64{0.7, 0.2, 0.2}, nil, "sum to 1.1, want 1"},
		{"negative", [3]float64{1.2, -0.1, -0.1}, nil, "each must be a number ≥ 0"},
		{"NaN", [3]float64{math.NaN(), 0, 1}, nil, "each must be a number ≥ 0"},
		{"too few groups", [3]float64{0.8, 0.1, 0.1}, []string{"a", "a", "b", "b", "a", "b", "a", "b"}, "only 2 groups for 3 non-empty sets"},
		{"partial groups", [3]float64{0.8, 0.1, 0.1}, []string{"a", "", "b", "b", "a", "b", "c", "d"}, "7 of 8 items have a group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := synthetic([4]int{2, 2, 2, 2})
			for i, g := range tt.groups {
				d.Items[i].Group = g
			}
			_, _, _, err := Split(d, tt.f, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, _, _, err := Split(&Dataset{Root: "r"}, [3]float64{1, 0, 0}, 1); err == nil || !strings.Contains(err.Error(), "no items") {
		t.Errorf("empty dataset: err = %v", err)
	}
}
