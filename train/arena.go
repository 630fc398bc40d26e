package train

import (
	"gorgonia.org/tensor"

	G "gorgonia.org/gorgonia"
)

// arena lends the papscope ops of one graph the arrays their outputs are
// written to, for one run of the graph at a time, and takes an array back as
// soon as every op that reads it has run: outputs that are never alive at
// once share memory, while nothing is allocated from run to run.
//
// Only arrays read by papscope ops alone are taken back early. gorgonia's own
// ops (the residual additions, the sums of gradients) may write their result
// into an input they are the last to read, so an output that one of them
// reads is kept until the run ends; so is an output nothing in the graph
// reads (parameter gradients, values read after the run).
type arena struct {
	free map[arenaKey][]any // arrays not lent in this run, by dtype and length
	lent []arenaLoan        // arrays lent in this run
}

// arenaKey is an array's dtype and length.
type arenaKey struct {
	dt tensor.Dtype
	n  int
}

// arenaLoan is an array lent in this run.
type arenaLoan struct {
	key arenaKey
	buf any
}

// get lends an array of n values of dt ([]float32 or []float64).
func (a *arena) get(dt tensor.Dtype, n int) any {
	k := arenaKey{dt, n}
	var buf any
	if free := a.free[k]; len(free) > 0 {
		buf = free[len(free)-1]
		a.free[k] = free[:len(free)-1]
	} else if dt == tensor.Float64 {
		buf = make([]float64, n)
	} else {
		buf = make([]float32, n)
	}
	a.lent = append(a.lent, arenaLoan{k, buf})
	return buf
}

// put takes back an array lent in this run before the run ends.
func (a *arena) put(buf any) {
	for i, l := range a.lent {
		if sameArray(l.buf, buf) {
			a.free[l.key] = append(a.free[l.key], l.buf)
			a.lent[i] = a.lent[len(a.lent)-1]
			a.lent = a.lent[:len(a.lent)-1]
			return
		}
	}
}

// sameArray reports whether a and b are the same lent array.
func sameArray(a, b any) bool {
	switch x := a.(type) {
	case []float32:
		y, ok := b.([]float32)
		return ok && len(x) > 0 && len(y) > 0 && &x[0] == &y[0]
	case []float64:
		y, ok := b.([]float64)
		return ok && len(x) > 0 && len(y) > 0 && &x[0] == &y[0]
	}
	return false
}

// reset takes back every array, for a new run, and rearms each op's count
// of readers still to run.
func (a *arena) reset(ops []*op) {
	if a.free == nil {
		a.free = map[arenaKey][]any{}
	}
	for _, l := range a.lent {
		a.free[l.key] = append(a.free[l.key], l.buf)
	}
	a.lent = a.lent[:0]
	for _, o := range ops {
		o.pending = o.readers
	}
}

// planArena gives the papscope ops of g an arena, and each its readers (the
// ops that read its output, when all are papscope ops; 0 keeps the output
// for the whole run) and the papscope ops whose outputs it reads. It returns
// those ops.
func planArena(g *G.ExprGraph) []*op {
	a := &arena{}
	var ops []*op
	byNode := map[*G.Node]*op{}
	for _, n := range g.AllNodes() {
		if o, ok := n.Op().(*op); ok {
			byNode[n] = o
			ops = append(ops, o)
		}
	}
	for n, o := range byNode {
		o.arena = a
		o.readers, o.producers = 0, nil
		ours := true
		for it := g.To(n.ID()); it.Next(); {
			if _, ok := byNode[it.Node().(*G.Node)]; ok {
				o.readers++
			} else {
				ours = false
			}
		}
		if !ours {
			o.readers = 0
		}
		seen := map[*op]bool{}
		for it := g.From(n.ID()); it.Next(); {
			if p, ok := byNode[it.Node().(*G.Node)]; ok && !seen[p] {
				seen[p] = true
				o.producers = append(o.producers, p)
			}
		}
	}
	return ops
}
