package dataset

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"papscope/nn"
)

// Split divides d.Items into train, validation and test sets in the given
// fractions (non-negative, summing to 1; a zero fraction gives an empty set),
// stratified by class, seeded and deterministic: the same items and seed give
// the same split whatever order the file system listed them in.
//
// Without groups, each class is shuffled on its own (items sorted by path,
// then a PCG stream seeded by seed and the class) and cut by the
// largest-remainder method: each set gets floor(n·f) items and the leftover
// items go to the largest fractional parts (ties: train, then val, then test),
// so each count is within one item of n·f. Then, when a class has at least as
// many items as there are non-empty sets (3 for the usual split), every such
// set gets at least one item of the class, taken from the largest set; only
// this step can move a count further than one item from n·f.
//
// When the items carry groups (see SetGroups), whole groups are assigned, so
// the images of one slide or patient never straddle two sets; items with no
// group but an original are grouped by their original, so the copies of one
// image never straddle two sets. Each group is
// given its majority class (ties: the lower class index) and the groups of
// each class are assigned greedily, largest first (ties in seeded random
// order), to the set furthest below its target n·f images for that class.
// Every class that is the majority of at least as many groups as there are
// non-empty sets appears in each of them; and every non-empty set gets at
// least one group, moving the smallest group of the set with the most groups
// if needed. It is an error if there are fewer groups than non-empty sets, or
// if some items have a group and others do not.
//
// Each returned set keeps the dataset's order (class, then path).
func Split(d *Dataset, fractions [3]float64, seed uint64) (train, val, test []Item, err error) {
	sum := 0.0
	for _, f := range fractions {
		if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, nil, nil, fmt.Errorf("split: fractions %v: each must be a number ≥ 0", fractions)
		}
		sum += f
	}
	if math.Abs(sum-1) > 1e-6 {
		return nil, nil, nil, fmt.Errorf("split: fractions %v sum to %.6g, want 1", fractions, sum)
	}
	if len(d.Items) == 0 {
		return nil, nil, nil, fmt.Errorf("split: dataset %s has no items", d.Root)
	}
	grouped := 0
	for _, it := range d.Items {
		if groupKey(it) != "" {
			grouped++
		}
	}
	var set []int // item index → set 0, 1, 2
	switch grouped {
	case 0:
		set = splitItems(d, fractions, seed)
	case len(d.Items):
		if set, err = splitGroups(d, fractions, seed); err != nil {
			return nil, nil, nil, err
		}
	default:
		return nil, nil, nil, fmt.Errorf("split: %d of %d items have a group: set a group for every item or none", grouped, len(d.Items))
	}
	var out [3][]Item
	for i, it := range d.Items {
		out[set[i]] = append(out[set[i]], it)
	}
	return out[0], out[1], out[2], nil
}

// groupKey is what keeps an item with others in a split: its group, else its
// original, else "".
func groupKey(it Item) string {
	if it.Group != "" {
		return "group:" + it.Group
	}
	if it.Original != "" {
		return "original:" + it.Original
	}
	return ""
}

// splitItems assigns each item to a set, class by class.
func splitItems(d *Dataset, fractions [3]float64, seed uint64) []int {
	set := make([]int, len(d.Items))
	byClass := make(map[int][]int)
	for i, it := range d.Items {
		byClass[it.Class] = append(byClass[it.Class], i)
	}
	for c, idx := range byClass {
		slices.SortFunc(idx, func(a, b int) int { return strings.Compare(d.Rel(d.Items[a]), d.Rel(d.Items[b])) })
		rand.New(rand.NewPCG(seed, uint64(c))).Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		counts := Apportion(len(idx), fractions)
		k := 0
		for s, n := range counts {
			for range n {
				set[idx[k]] = s
				k++
			}
		}
	}
	return set
}

// Apportion divides n items into three sets in the given fractions by the
// largest-remainder method, then gives every set with a non-zero fraction at
// least one item when n allows it, taking from the largest set.
func Apportion(n int, fractions [3]float64) [3]int {
	var counts [3]int
	var rem [3]float64
	left := n
	for s, f := range fractions {
		exact := float64(n) * f
		counts[s] = int(math.Floor(exact + 1e-9))
		rem[s] = exact - float64(counts[s])
		left -= counts[s]
	}
	order := []int{0, 1, 2}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
	for i := 0; left > 0; i++ {
		counts[order[i%3]]++
		left--
	}
	for left < 0 { // only from float rounding: take back from the largest
		counts[largest(counts[:])]--
		left++
	}
	nonEmpty := 0
	for _, f := range fractions {
		if f > 0 {
			nonEmpty++
		}
	}
	if n < nonEmpty {
		return counts
	}
	for s, f := range fractions {
		if f > 0 && counts[s] == 0 {
			counts[largest(counts[:])]--
			counts[s]++
		}
	}
	return counts
}

// largest returns the index of the largest count (the first, on ties).
func largest(counts []int) int {
	best := 0
	for i, c := range counts {
		if c > counts[best] {
			best = i
		}
	}
	return best
}

// group is a slide or patient: its items and majority class.
type group struct {
	name  string
	items []int
	class int
	set   int
}

// splitGroups assigns whole groups to sets, stratified by majority class.
func splitGroups(d *Dataset, fractions [3]float64, seed uint64) ([]int, error) {
	byName := map[string]*group{}
	var groups []*group
	for i, it := range d.Items {
		key := groupKey(it)
		g := byName[key]
		if g == nil {
			g = &group{name: key}
			byName[key] = g
			groups = append(groups, g)
		}
		g.items = append(g.items, i)
	}
	var nonEmpty []int
	for s, f := range fractions {
		if f > 0 {
			nonEmpty = append(nonEmpty, s)
		}
	}
	if len(groups) < len(nonEmpty) {
		return nil, fmt.Errorf("split: only %d %s for %d non-empty sets: each set needs at least one whole group",
			len(groups), plural(len(groups), "group", "groups"), len(nonEmpty))
	}
	slices.SortFunc(groups, func(a, b *group) int { return strings.Compare(a.name, b.name) })
	byClass := map[int][]*group{}
	for _, g := range groups {
		counts := make([]int, nn.NumClasses)
		for _, i := range g.items {
			counts[d.Items[i].Class]++
		}
		g.class = largest(counts)
		byClass[g.class] = append(byClass[g.class], g)
	}
	for c, gs := range byClass {
		rand.New(rand.NewPCG(seed, uint64(c))).Shuffle(len(gs), func(a, b int) { gs[a], gs[b] = gs[b], gs[a] })
		slices.SortStableFunc(gs, func(a, b *group) int { return len(b.items) - len(a.items) })
		total := 0
		for _, g := range gs {
			total += len(g.items)
		}
		var have [3]int
		var nGroups [3]int
		for k, g := range gs {
			// While groups remain for every still-empty set, fill those first:
			// this guarantees a class with enough groups appears in every set.
			empty := 0
			for _, s := range nonEmpty {
				if nGroups[s] == 0 {
					empty++
				}
			}
			best := -1
			for _, s := range nonEmpty {
				if empty > 0 && len(gs)-k <= empty && nGroups[s] > 0 {
					continue
				}
				deficit := float64(total)*fractions[s] - float64(have[s])
				if best < 0 || deficit > float64(total)*fractions[best]-float64(have[best]) {
					best = s
				}
			}
			g.set = best
			have[best] += len(g.items)
			nGroups[best]++
		}
	}
	// Every non-empty set gets at least one group overall.
	for _, s := range nonEmpty {
		var nGroups [3]int
		for _, g := range groups {
			nGroups[g.set]++
		}
		if nGroups[s] > 0 {
			continue
		}
		donor := largest(nGroups[:])
		var move *group
		for _, g := range groups {
			if g.set == donor && (move == nil || len(g.items) < len(move.items)) {
				move = g
			}
		}
		move.set = s
	}
	set := make([]int, len(d.Items))
	for _, g := range groups {
		for _, i := range g.items {
			set[i] = g.set
		}
	}
	return set, nil
}
