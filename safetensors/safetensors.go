// Package safetensors reads and writes the safetensors tensor file format.
//
// A safetensors file is an 8-byte little-endian unsigned header length N, then
// N bytes of UTF-8 JSON describing every tensor, then the tensor data:
//
//	{"__metadata__": {"format": "pt"},
//	 "dense/kernel": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}
//
// Offsets are relative to the start of the data section and must tile it
// exactly; tensors are stored row-major and little-endian. Unlike pickle-based
// checkpoints, loading such a file runs no code, and a reader can check the
// whole layout from the header alone, which is why the format is a common way
// to ship model weights.
//
// Decode treats its input as untrusted: it never panics, the memory it
// allocates is bounded by the input's size and by [Limits], and it rejects any
// header that does not describe the data section exactly (duplicate names,
// unknown dtypes, overflowing shapes, gaps, overlaps, trailing bytes and so
// on), with a typed error: a [*TensorError] naming the offending tensor, a
// [FormatError], an [UnsupportedError] or a [*LimitError]. Encode is
// deterministic: the same File always encodes to the same bytes.
//
// Only dtypes whose elements are whole bytes are supported; the sub-byte
// dtypes F4, F6_E2M3 and F6_E3M2 are rejected.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// FormatError reports that the input is not a valid safetensors file, or that
// a File or tensor handed to Encode or F32 cannot be written as one; the
// string says what is wrong.
type FormatError string

// Error returns the description with the package prefix.
func (e FormatError) Error() string { return "safetensors: " + string(e) }

// UnsupportedError reports a valid safetensors feature this package does not
// handle: a sub-byte dtype, or a conversion the dtype does not allow.
type UnsupportedError string

// Error returns the description with the package prefix.
func (e UnsupportedError) Error() string { return "safetensors: unsupported: " + string(e) }

// LimitError reports a header that exceeds one of the [Limits] Decode was given.
type LimitError struct {
	Limit string // the Limits field: MaxHeaderBytes, MaxTensors or MaxRank
	Max   int    // its value
}

// Error names the limit and what to raise.
func (e *LimitError) Error() string {
	what := map[string]string{"MaxHeaderBytes": "header bytes", "MaxTensors": "tensors", "MaxRank": "dimensions"}[e.Limit]
	return fmt.Sprintf("safetensors: more than %d %s (Limits.%s): raise the limit if the file is trusted", e.Max, what, e.Limit)
}

// TensorError reports a problem with one tensor: its header entry, its data,
// or writing it.
type TensorError struct {
	Name string // the tensor's name
	Err  error  // what is wrong: a FormatError, UnsupportedError, *LimitError or the writer's error
}

// Error names the tensor and says what is wrong with it.
func (e *TensorError) Error() string {
	return fmt.Sprintf("safetensors: tensor %q: %s", e.Name, strings.TrimPrefix(e.Err.Error(), "safetensors: "))
}

// Unwrap returns Err.
func (e *TensorError) Unwrap() error { return e.Err }

// Tensor is one named tensor as stored in a file: raw little-endian bytes.
type Tensor struct {
	Name  string
	DType string // "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", ... as in the spec; see DTypeSize
	Shape []int  // dimensions, outermost first; empty for a scalar
	Data  []byte // row-major, little-endian; len == product(Shape) * DTypeSize(DType)
}

// File is a decoded safetensors file.
type File struct {
	Metadata map[string]string // the __metadata__ object; nil when absent
	Tensors  []Tensor          // in data-offset order (empty tensors at one offset by name)
}

// Limits bound what Decode accepts, so hostile input cannot make it allocate or loop without bound.
//
// A field that is zero or negative takes its default.
type Limits struct {
	MaxHeaderBytes int // longest JSON header accepted; default 16 MiB
	MaxTensors     int // most tensors in one file; default 10000
	MaxRank        int // most dimensions in one tensor's shape; default 8
}

// Defaults for the zero fields of Limits. Real checkpoints have headers of a
// few hundred KiB at most and tensors of rank 4 or 5 at most.
const (
	defaultMaxHeaderBytes = 16 << 20
	defaultMaxTensors     = 10000
	defaultMaxRank        = 8
)

func (l Limits) withDefaults() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	if l.MaxTensors <= 0 {
		l.MaxTensors = defaultMaxTensors
	}
	if l.MaxRank <= 0 {
		l.MaxRank = defaultMaxRank
	}
	return l
}

// metadataKey is the reserved header key of the free-form string metadata.
const metadataKey = "__metadata__"

// DTypeSize reports the size in bytes of one element of dtype, and whether dtype is a known, supported dtype.
func DTypeSize(dtype string) (int, bool) {
	switch dtype {
	case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0":
		return 1, true
	case "I16", "U16", "F16", "BF16":
		return 2, true
	case "I32", "U32", "F32":
		return 4, true
	case "I64", "U64", "F64", "C64":
		return 8, true
	}
	return 0, false
}

// checkDType returns the element size of dtype, or an error naming the tensor.
func checkDType(name, dtype string) (int, error) {
	if size, ok := DTypeSize(dtype); ok {
		return size, nil
	}
	switch dtype {
	case "F4", "F6_E2M3", "F6_E3M2":
		return 0, &TensorError{Name: name, Err: UnsupportedError(fmt.Sprintf("dtype %s packs elements smaller than a byte", dtype))}
	}
	return 0, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("unknown dtype %q", dtype))}
}

// byteSize returns product(shape) * elemSize, or false if a dimension is
// negative or the product does not fit in an int.
func byteSize(shape []int, elemSize int) (int, bool) {
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			return 0, true // whatever the other dimensions, the tensor is empty
		}
	}
	n := uint64(elemSize)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return 0, false
		}
		n = lo
	}
	return int(n), true
}

// sizeError describes a shape whose byte size is negative or overflows.
func sizeError(name string, shape []int, dtype string) error {
	for _, d := range shape {
		if d < 0 {
			return &TensorError{Name: name, Err: FormatError(fmt.Sprintf("shape %v has negative dimension %d", shape, d))}
		}
	}
	return &TensorError{Name: name, Err: FormatError(fmt.Sprintf("shape %v of %s is too large: its byte size overflows", shape, dtype))}
}

// Tensor returns the tensor with the given name, pointing into f.Tensors, and whether there is one.
func (f *File) Tensor(name string) (*Tensor, bool) {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i], true
		}
	}
	return nil, false
}

// littleEndianHost reports whether this machine stores numbers
// least-significant byte first, as safetensors files do (amd64, arm64 and
// wasm among others): then a tensor's bytes are copied as they are instead of
// decoded one value at a time (a tenth of the time under wasm).
var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// Float32s decodes an F32 tensor's data into a new []float32 (error if dtype is not F32).
func (t *Tensor) Float32s() ([]float32, error) {
	if t.DType != "F32" {
		return nil, &TensorError{Name: t.Name, Err: UnsupportedError(fmt.Sprintf("dtype %s, not F32: Float32s converts only F32", t.DType))}
	}
	n, ok := byteSize(t.Shape, 4)
	if !ok {
		return nil, sizeError(t.Name, t.Shape, t.DType)
	}
	if len(t.Data) != n {
		return nil, &TensorError{Name: t.Name, Err: FormatError(fmt.Sprintf("data is %d bytes but shape %v of F32 needs %d bytes", len(t.Data), t.Shape, n))}
	}
	out := make([]float32, n/4)
	if littleEndianHost {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), n), t.Data) // the file's byte order is the host's
		return out, nil
	}
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Float64s decodes an F64 tensor's data into a new []float64 (error if dtype is not F64).
func (t *Tensor) Float64s() ([]float64, error) {
	if t.DType != "F64" {
		return nil, &TensorError{Name: t.Name, Err: UnsupportedError(fmt.Sprintf("dtype %s, not F64: Float64s converts only F64", t.DType))}
	}
	n, ok := byteSize(t.Shape, 8)
	if !ok {
		return nil, sizeError(t.Name, t.Shape, t.DType)
	}
	if len(t.Data) != n {
		return nil, &TensorError{Name: t.Name, Err: FormatError(fmt.Sprintf("data is %d bytes but shape %v of F64 needs %d bytes", len(t.Data), t.Shape, n))}
	}
	out := make([]float64, n/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return out, nil
}

// F32 builds an F32 tensor from float32 values (copying them little-endian).
func F32(name string, shape []int, values []float32) (Tensor, error) {
	n, ok := byteSize(shape, 4)
	if !ok {
		return Tensor{}, sizeError(name, shape, "F32")
	}
	if n/4 != len(values) {
		return Tensor{}, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("%d values do not fill shape %v (%d elements)", len(values), shape, n/4))}
	}
	data := make([]byte, n)
	for i, v := range values {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: "F32", Shape: slices.Clone(shape), Data: data}, nil
}

// entry is one tensor as described by the header.
type entry struct {
	name       string
	dtype      string
	shape      []int
	begin, end int
}

// Decode parses a safetensors file held in data.
//
// The Data of every returned tensor aliases data (with its capacity clipped to
// its length): modifying one modifies the other, so copy the tensors' data or
// leave data unchanged while the File is in use. Decode does not retain data
// otherwise.
func Decode(data []byte, lim Limits) (*File, error) {
	lim = lim.withDefaults()
	if len(data) < 8 {
		return nil, FormatError(fmt.Sprintf("file is %d bytes, too short for the 8-byte header length: truncated or not a safetensors file", len(data)))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > uint64(len(data)-8) {
		return nil, FormatError(fmt.Sprintf("file is %d bytes but header claims %d bytes: truncated or not a safetensors file", len(data), n))
	}
	if n > uint64(lim.MaxHeaderBytes) {
		return nil, &LimitError{Limit: "MaxHeaderBytes", Max: lim.MaxHeaderBytes}
	}
	header, body := data[8:8+n], data[8+n:]

	meta, entries, err := parseHeader(header, lim)
	if err != nil {
		return nil, err
	}

	for _, e := range entries {
		size, _ := DTypeSize(e.dtype) // checked by parseHeader
		want, ok := byteSize(e.shape, size)
		if !ok {
			return nil, sizeError(e.name, e.shape, e.dtype)
		}
		if e.end < e.begin {
			return nil, &TensorError{Name: e.name, Err: FormatError(fmt.Sprintf("data_offsets [%d %d] end before they begin", e.begin, e.end))}
		}
		if e.end-e.begin != want {
			return nil, &TensorError{Name: e.name, Err: FormatError(fmt.Sprintf("data_offsets [%d %d] do not match shape %v of %s (%d bytes)", e.begin, e.end, e.shape, e.dtype, want))}
		}
	}

	// Check that the tensors tile the data section: sorted by offsets, each
	// must begin where the previous one ended, and the last end at its end.
	slices.SortFunc(entries, func(a, b entry) int {
		if a.begin != b.begin {
			return a.begin - b.begin // both are in [0, MaxInt]: no overflow
		}
		if a.end != b.end {
			return a.end - b.end
		}
		return strings.Compare(a.name, b.name)
	})
	pos := 0
	for i, e := range entries {
		switch {
		case e.begin > pos:
			return nil, &TensorError{Name: e.name, Err: FormatError(fmt.Sprintf("data_offsets [%d %d] leave bytes [%d %d] of the data section unused", e.begin, e.end, pos, e.begin))}
		case e.begin < pos:
			p := entries[i-1]
			return nil, &TensorError{Name: e.name, Err: FormatError(fmt.Sprintf("data_offsets [%d %d] overlap tensor %q at [%d %d]", e.begin, e.end, p.name, p.begin, p.end))}
		case e.end > len(body):
			return nil, &TensorError{Name: e.name, Err: FormatError(fmt.Sprintf("data_offsets [%d %d] run past the end of the %d-byte data section: file truncated", e.begin, e.end, len(body)))}
		}
		pos = e.end
	}
	if pos != len(body) {
		return nil, FormatError(fmt.Sprintf("data section is %d bytes but the tensors cover only %d: %d unexpected trailing bytes", len(body), pos, len(body)-pos))
	}

	f := &File{Metadata: meta, Tensors: make([]Tensor, len(entries))}
	for i, e := range entries {
		f.Tensors[i] = Tensor{Name: e.name, DType: e.dtype, Shape: e.shape, Data: body[e.begin:e.end:e.end]}
	}
	return f, nil
}

// parseHeader parses the JSON header token by token, so that duplicate keys
// (which encoding/json would silently merge) and unexpected values are caught,
// and no value is ever decoded into more than the header's own size.
func parseHeader(h []byte, lim Limits) (map[string]string, []entry, error) {
	if len(h) == 0 {
		return nil, nil, FormatError("header is empty: not a safetensors file")
	}
	if !utf8.Valid(h) {
		return nil, nil, FormatError("header is not valid UTF-8: corrupt or not a safetensors file")
	}
	if h[0] != '{' {
		return nil, nil, FormatError("header does not start with '{': not a safetensors file")
	}
	p := &parser{dec: json.NewDecoder(bytes.NewReader(h))}
	p.dec.UseNumber()
	if _, err := p.token(); err != nil { // the '{' checked above
		return nil, nil, err
	}
	var (
		meta    map[string]string
		sawMeta bool
		entries []entry
		names   = make(map[string]bool)
	)
	for p.dec.More() {
		tok, err := p.token()
		if err != nil {
			return nil, nil, err
		}
		name, _ := tok.(string) // object keys are always strings
		switch {
		case name == metadataKey:
			if sawMeta {
				return nil, nil, FormatError("header has more than one " + metadataKey)
			}
			sawMeta = true
			if meta, err = p.metadata(); err != nil {
				return nil, nil, err
			}
			continue
		case name == "":
			return nil, nil, FormatError("header has a tensor with an empty name")
		case names[name]:
			return nil, nil, FormatError(fmt.Sprintf("duplicate tensor name %q in header", name))
		case len(entries) == lim.MaxTensors:
			return nil, nil, &LimitError{Limit: "MaxTensors", Max: lim.MaxTensors}
		}
		names[name] = true
		e, err := p.entry(name, lim.MaxRank)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if _, err := p.token(); err != nil { // the closing '}'
		return nil, nil, err
	}
	rest := h[p.dec.InputOffset():]
	if trimmed := bytes.TrimLeft(rest, " \t\r\n"); len(trimmed) > 0 {
		return nil, nil, FormatError(fmt.Sprintf("header has %d unexpected bytes after its JSON object (only whitespace may pad it)", len(trimmed)))
	}
	return meta, entries, nil
}

// parser walks the header's JSON tokens.
type parser struct {
	dec *json.Decoder
}

// token returns the next token, turning a premature end and syntax errors
// into errors that say the header is malformed.
func (p *parser) token() (json.Token, error) {
	tok, err := p.dec.Token()
	if err == nil {
		return tok, nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, FormatError(fmt.Sprintf("header is not valid JSON (at byte %d): %v", p.dec.InputOffset(), err))
}

// metadata parses the value of __metadata__: an object of strings, or null.
func (p *parser) metadata() (map[string]string, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, nil
	}
	if tok != json.Delim('{') {
		return nil, FormatError(fmt.Sprintf("%s is %s, not a JSON object", metadataKey, describe(tok)))
	}
	m := make(map[string]string)
	for p.dec.More() {
		if tok, err = p.token(); err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if tok, err = p.token(); err != nil {
			return nil, err
		}
		val, ok := tok.(string)
		if !ok {
			return nil, FormatError(fmt.Sprintf("%s value of %q is %s, not a string", metadataKey, key, describe(tok)))
		}
		if _, dup := m[key]; dup {
			return nil, FormatError(fmt.Sprintf("duplicate key %q in %s", key, metadataKey))
		}
		m[key] = val
	}
	if _, err := p.token(); err != nil { // '}'
		return nil, err
	}
	return m, nil
}

// entry parses the {"dtype", "shape", "data_offsets"} object of tensor name.
func (p *parser) entry(name string, maxRank int) (entry, error) {
	e := entry{name: name}
	tok, err := p.token()
	if err != nil {
		return e, err
	}
	if tok != json.Delim('{') {
		return e, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("entry is %s, not a JSON object", describe(tok)))}
	}
	var sawDType, sawShape, sawOffsets bool
	for p.dec.More() {
		if tok, err = p.token(); err != nil {
			return e, err
		}
		key, _ := tok.(string)
		var dup bool
		switch key {
		case "dtype":
			dup, sawDType = sawDType, true
			if tok, err = p.token(); err != nil {
				return e, err
			}
			s, ok := tok.(string)
			if !ok {
				return e, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("dtype is %s, not a string", describe(tok)))}
			}
			if _, err := checkDType(name, s); err != nil {
				return e, err
			}
			e.dtype = s
		case "shape":
			dup, sawShape = sawShape, true
			if e.shape, err = p.ints(name, key, "dimension", maxRank); err != nil {
				return e, err
			}
		case "data_offsets":
			dup, sawOffsets = sawOffsets, true
			offs, err := p.ints(name, key, "offset", 2)
			if err != nil {
				return e, err
			}
			if len(offs) != 2 {
				return e, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("data_offsets %v is not a [begin, end] pair", offs))}
			}
			e.begin, e.end = offs[0], offs[1]
		default:
			return e, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("unexpected key %q in entry (want dtype, shape and data_offsets)", key))}
		}
		if dup {
			return e, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("duplicate key %q in entry", key))}
		}
	}
	if _, err := p.token(); err != nil { // '}'
		return e, err
	}
	switch {
	case !sawDType:
		return e, &TensorError{Name: name, Err: FormatError("entry has no dtype")}
	case !sawShape:
		return e, &TensorError{Name: name, Err: FormatError("entry has no shape")}
	case !sawOffsets:
		return e, &TensorError{Name: name, Err: FormatError("entry has no data_offsets")}
	}
	return e, nil
}

// ints parses a JSON array of at most max non-negative integers; key and
// noun name the array and its elements in errors.
func (p *parser) ints(name, key, noun string, max int) ([]int, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("%s is %s, not a JSON array", key, describe(tok)))}
	}
	var out []int
	for p.dec.More() {
		if tok, err = p.token(); err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("%s has %s where a %s belongs", key, describe(tok), noun))}
		}
		if len(out) == max {
			if key == "shape" {
				return nil, &TensorError{Name: name, Err: &LimitError{Limit: "MaxRank", Max: max}}
			}
			return nil, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("%s has more than %d numbers", key, max))}
		}
		v, err := strconv.ParseInt(string(num), 10, strconv.IntSize)
		switch {
		case errors.Is(err, strconv.ErrSyntax):
			return nil, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("%s has %s %s, which is not an integer", key, noun, num))}
		case v < 0 || err != nil && strings.HasPrefix(string(num), "-"):
			return nil, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("%s has negative %s %s", key, noun, num))}
		case err != nil:
			return nil, &TensorError{Name: name, Err: FormatError(fmt.Sprintf("%s has %s %s, which is too large", key, noun, num))}
		}
		out = append(out, int(v))
	}
	if _, err := p.token(); err != nil { // ']'
		return nil, err
	}
	return out, nil
}

// describe names the kind of a JSON token for error messages.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "the number " + t.String()
	case string:
		return "the string " + strconv.Quote(t)
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		if t == '{' {
			return "an object"
		}
	}
	return fmt.Sprintf("%v", tok)
}

// Encode writes f to w as a safetensors file.
//
// The output is deterministic: the header lists the metadata first, with its
// keys sorted, then the tensors sorted by name, and is padded with spaces so
// the data section starts 8-byte aligned; the data is written in the order of
// f.Tensors. A nil Metadata writes no __metadata__ entry. Encode validates
// f (non-empty unique names, known dtypes, data lengths matching shapes,
// valid UTF-8) before it writes anything.
func Encode(w io.Writer, f *File) error {
	header, err := encodeHeader(f)
	if err != nil {
		return err
	}
	buf := make([]byte, 8, 8+len(header))
	binary.LittleEndian.PutUint64(buf, uint64(len(header)))
	buf = append(buf, header...)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("safetensors: writing header: %w", err)
	}
	for _, t := range f.Tensors {
		if len(t.Data) == 0 {
			continue
		}
		if _, err := w.Write(t.Data); err != nil {
			return &TensorError{Name: t.Name, Err: fmt.Errorf("writing: %w", err)}
		}
	}
	return nil
}

// encodeHeader validates f and returns its padded JSON header.
func encodeHeader(f *File) ([]byte, error) {
	if f == nil {
		return nil, FormatError("cannot encode a nil *File")
	}
	offsets := make([][2]int, len(f.Tensors))
	names := make(map[string]bool, len(f.Tensors))
	pos := 0
	for i := range f.Tensors {
		t := &f.Tensors[i]
		switch {
		case t.Name == "":
			return nil, FormatError(fmt.Sprintf("tensor %d has an empty name", i))
		case !utf8.ValidString(t.Name):
			return nil, FormatError(fmt.Sprintf("tensor name %q is not valid UTF-8", t.Name))
		case t.Name == metadataKey:
			return nil, FormatError(fmt.Sprintf("tensor name %q is reserved for metadata", t.Name))
		case names[t.Name]:
			return nil, FormatError(fmt.Sprintf("duplicate tensor name %q", t.Name))
		}
		names[t.Name] = true
		size, err := checkDType(t.Name, t.DType)
		if err != nil {
			return nil, err
		}
		n, ok := byteSize(t.Shape, size)
		if !ok {
			return nil, sizeError(t.Name, t.Shape, t.DType)
		}
		if len(t.Data) != n {
			return nil, &TensorError{Name: t.Name, Err: FormatError(fmt.Sprintf("data is %d bytes but shape %v of %s needs %d bytes", len(t.Data), t.Shape, t.DType, n))}
		}
		if pos > math.MaxInt-n {
			return nil, FormatError("total tensor data size overflows")
		}
		offsets[i] = [2]int{pos, pos + n}
		pos += n
	}
	keys := make([]string, 0, len(f.Metadata))
	for k, v := range f.Metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, FormatError(fmt.Sprintf("%s entry %q is not valid UTF-8", metadataKey, k))
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(f.Tensors[a].Name, f.Tensors[b].Name) })

	b := []byte{'{'}
	if f.Metadata != nil {
		b = append(b, `"`+metadataKey+`":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, f.Metadata[k])
		}
		b = append(b, '}')
	}
	for i, ti := range order {
		if i > 0 || f.Metadata != nil {
			b = append(b, ',')
		}
		t := &f.Tensors[ti]
		b = appendString(b, t.Name)
		b = append(b, `:{"dtype":`...)
		b = appendString(b, t.DType)
		b = append(b, `,"shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		b = append(b, `],"data_offsets":[`...)
		b = strconv.AppendInt(b, int64(offsets[ti][0]), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(offsets[ti][1]), 10)
		b = append(b, "]}"...)
	}
	b = append(b, '}')
	for len(b)%8 != 0 {
		b = append(b, ' ')
	}
	return b, nil
}

// appendString appends s, which must be valid UTF-8, as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
