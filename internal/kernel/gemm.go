package kernel

// Float is the element type of the kernels: float32 for training and
// inference, float64 for finite-difference gradient checks.
type Float interface{ ~float32 | ~float64 }

// Epilogue is what Gemm applies to each accumulated value v of output column j
// before storing it: v += Bias[j]; v = max(v, 0) if ReLU; v = v·Scale[j] +
// Shift[j] when Scale is set; v += the destination's previous value if
// Accumulate. A nil *Epilogue stores v as it is.
type Epilogue[T Float] struct {
	Bias         []T // per column; nil adds nothing
	ReLU         bool
	Scale, Shift []T // per column, after the ReLU (an inference batch normalization); nil for none
	Accumulate   bool

	// Unfused makes the SIMD forms multiply and add with two roundings
	// instead of fused multiply-adds, in the same order as the scalar form:
	// the results are then bitwise those of Go's scalar loops on amd64 and
	// wasm (nn's, which the browser runs), at about half the speed.
	Unfused bool
}

// Gemm computes dst[m×n] = ep(a[m×k] · b[k×n]) on up to workers goroutines.
func Gemm[T Float](dst, a, b []T, m, k, n int, ep *Epilogue[T], workers int) {
	checkLen("Gemm dst", len(dst), m*n)
	checkLen("Gemm a", len(a), m*k)
	checkLen("Gemm b", len(b), k*n)
	if split(m, workers, gemmMinRows) <= 1 {
		gemmRows(dst, a, b, m, k, n, ep) // no closure: one goroutine's Gemm allocates nothing
		return
	}
	Rows(m, workers, gemmMinRows, func(lo, hi int) {
		gemmRows(dst[lo*n:hi*n], a[lo*k:hi*k], b, hi-lo, k, n, ep)
	})
}

// gemmMinRows is the fewest rows worth a goroutine of their own.
const gemmMinRows = 64

// gemmRows is Gemm on one goroutine: the SIMD form where there is one for
// these types and sizes, else the scalar one.
func gemmRows[T Float](dst, a, b []T, m, k, n int, ep *Epilogue[T]) {
	if d, ok := any(dst).([]float32); ok {
		var e32 *Epilogue[float32]
		if ep != nil {
			e32 = any(ep).(*Epilogue[float32])
		}
		if gemmSIMD(d, any(a).([]float32), any(b).([]float32), m, k, n, e32) {
			return
		}
	}
	gemmScalar(dst, a, b, m, k, n, ep)
}

// gemmScalar is the portable reference: each output row is a running sum of
// rows of b scaled by a's values (it allocates that row, once per call).
func gemmScalar[T Float](dst, a, b []T, m, k, n int, ep *Epilogue[T]) {
	acc := make([]T, n)
	for i := range m {
		clear(acc)
		ai := a[i*k : (i+1)*k]
		for kk, x := range ai {
			if x == 0 {
				continue
			}
			axpy(acc, b[kk*n:(kk+1)*n], x)
		}
		ep.apply(dst[i*n:(i+1)*n], acc)
	}
}

// axpy adds x·src to dst.
func axpy[T Float](dst, src []T, x T) {
	src = src[:len(dst)]
	for j := range dst {
		dst[j] += x * src[j]
	}
}

// apply stores the epilogue of the accumulated row acc into row.
func (ep *Epilogue[T]) apply(row, acc []T) {
	if ep == nil {
		copy(row, acc)
		return
	}
	for j, v := range acc {
		if ep.Bias != nil {
			v += ep.Bias[j]
		}
		if ep.ReLU && !(v > 0) {
			v = 0
		}
		if ep.Scale != nil {
			v = v*ep.Scale[j] + ep.Shift[j]
		}
		if ep.Accumulate {
			v += row[j]
		}
		row[j] = v
	}
}

// GemmTN computes dst[k×n] = a[m×k]ᵀ · b[m×n], or adds it to dst when
// accumulate: the weight gradient of a matrix product (xᵀ·dy), summed over
// the m rows of a batch. Each worker sums its rows into a partial k×n matrix
// of its own (allocated per call); the partials are then added in order.
func GemmTN[T Float](dst, a, b []T, m, k, n int, accumulate bool, workers int) {
	checkLen("GemmTN dst", len(dst), k*n)
	checkLen("GemmTN a", len(a), m*k)
	checkLen("GemmTN b", len(b), m*n)
	parts := Reduce(m, workers, gemmTNMinRows, k*n, func(part []T, lo, hi int) {
		gemmTNRows(part, a[lo*k:hi*k], b[lo*n:hi*n], hi-lo, k, n)
	})
	if !accumulate {
		clear(dst)
	}
	for _, p := range parts {
		addTo(dst, p)
	}
}

// gemmTNMinRows is the fewest rows worth a partial sum of their own.
const gemmTNMinRows = 512

// tnBlock is how many rows of a GemmTN transposes at a time, so that the
// block is a small matrix product with the block's rows as its depth.
const tnBlock = 64

// gemmTNRows adds a[m×k]ᵀ·b[m×n] to part, tnBlock rows at a time: each block
// of a is transposed into a k×tnBlock matrix and multiplied by the block of b
// with Gemm's kernel, accumulating.
func gemmTNRows[T Float](part, a, b []T, m, k, n int) {
	if p, ok := any(part).([]float32); ok && gemmTNSIMD(p, any(a).([]float32), any(b).([]float32), m, k, n) {
		return
	}
	at := make([]T, k*tnBlock)
	acc := &Epilogue[T]{Accumulate: true}
	for r0 := 0; r0 < m; r0 += tnBlock {
		rows := min(tnBlock, m-r0)
		at := at[:k*rows]
		for r := range rows {
			src := a[(r0+r)*k : (r0+r+1)*k]
			for kk, v := range src {
				at[kk*rows+r] = v
			}
		}
		gemmRows(part, at, b[r0*n:(r0+rows)*n], k, rows, n, acc)
	}
}

// GemmNT computes dst[m×n] = a[m×k] · b[n×k]ᵀ: the input gradient of a matrix
// product (dy·wᵀ). It transposes b into a k×n copy (allocated per call; b is
// a layer's kernel, small) and runs Gemm.
func GemmNT[T Float](dst, a, b []T, m, k, n int, workers int) {
	checkLen("GemmNT b", len(b), n*k)
	bt := make([]T, k*n)
	Transpose(bt, b, n, k)
	Gemm(dst, a, bt, m, k, n, nil, workers)
}

// Transpose writes the transpose of src (rows×cols) into dst (cols×rows).
func Transpose[T Float](dst, src []T, rows, cols int) {
	checkLen("Transpose dst", len(dst), rows*cols)
	checkLen("Transpose src", len(src), rows*cols)
	for r := range rows {
		for c, v := range src[r*cols : (r+1)*cols] {
			dst[c*rows+r] = v
		}
	}
}

// addTo adds src to dst elementwise.
func addTo[T Float](dst, src []T) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}
