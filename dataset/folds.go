package dataset

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"papscope/nn"
)

// Folds assigns every item of d to one of k cross-validation folds, seeded
// and deterministic, and returns the fold of each item (in d.Items order).
//
// Items are kept together as Split keeps them: by group (slide), else by
// original, else each item on its own. Each unit is given its majority class
// (ties: the lower index), and the units of each class are dealt, largest
// first (ties in seeded random order), to the fold holding the fewest images
// of that class so far (ties: the fold with fewer images overall, then the
// lower fold). So a class with at least k units appears in every fold's
// test split, and the folds are as even as whole units allow. It is an error
// if k < 2 or there are fewer units than folds.
func Folds(d *Dataset, k int, seed uint64) ([]int, error) {
	if k < 2 {
		return nil, fmt.Errorf("folds: %d folds, want at least 2", k)
	}
	units := map[string]*group{}
	var order []*group
	for i, it := range d.Items {
		key := groupKey(it)
		if key == "" {
			key = "file:" + d.Rel(it)
		}
		g := units[key]
		if g == nil {
			g = &group{name: key}
			units[key] = g
			order = append(order, g)
		}
		g.items = append(g.items, i)
	}
	if len(order) < k {
		return nil, fmt.Errorf("folds: only %d %s for %d folds: use fewer folds", len(order), plural(len(order), "slide or image", "slides or images"), k)
	}
	slices.SortFunc(order, func(a, b *group) int { return strings.Compare(a.name, b.name) })
	byClass := make([][]*group, nn.NumClasses)
	for _, g := range order {
		counts := make([]int, nn.NumClasses)
		for _, i := range g.items {
			counts[d.Items[i].Class]++
		}
		g.class = largest(counts)
		byClass[g.class] = append(byClass[g.class], g)
	}
	total := make([]int, k)
	for c, gs := range byClass {
		rand.New(rand.NewPCG(seed, 0x6f6c6473^uint64(c))).Shuffle(len(gs), func(a, b int) { gs[a], gs[b] = gs[b], gs[a] })
		slices.SortStableFunc(gs, func(a, b *group) int { return len(b.items) - len(a.items) })
		have := make([]int, k)
		for _, g := range gs {
			best := 0
			for f := 1; f < k; f++ {
				if have[f] < have[best] || (have[f] == have[best] && total[f] < total[best]) {
					best = f
				}
			}
			g.set = best
			have[best] += len(g.items)
			total[best] += len(g.items)
		}
	}
	fold := make([]int, len(d.Items))
	for _, g := range order {
		for _, i := range g.items {
			fold[i] = g.set
		}
	}
	return fold, nil
}

// Subset returns a dataset with the same root holding only the given items.
func (d *Dataset) Subset(items []Item) *Dataset {
	return &Dataset{Root: d.Root, Items: items, Grouping: d.Grouping}
}
