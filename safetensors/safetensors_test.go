package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"papscope/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/small.safetensors, the error message goldens and the FuzzDecode seed corpus")

// file assembles a safetensors file from a header and a data section.
func file(header, data string) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// withLength assembles a file whose length prefix is n whatever follows.
func withLength(n uint64, rest string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
}

func mustF32(t testing.TB, name string, shape []int, values ...float32) Tensor {
	t.Helper()
	tt, err := F32(name, shape, values)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func encode(t testing.TB, f *File) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, f); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.Bytes()
}

// diffFiles describes the first difference between two files, or returns "".
// A nil and an empty Shape or Data are equal; a nil and an empty Metadata are not.
func diffFiles(got, want *File) string {
	if (got.Metadata == nil) != (want.Metadata == nil) || !maps.Equal(got.Metadata, want.Metadata) {
		return fmt.Sprintf("metadata = %#v, want %#v", got.Metadata, want.Metadata)
	}
	if len(got.Tensors) != len(want.Tensors) {
		return fmt.Sprintf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for i := range got.Tensors {
		g, w := &got.Tensors[i], &want.Tensors[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			return fmt.Sprintf("tensor %d = {%q %s %v % x}, want {%q %s %v % x}", i, g.Name, g.DType, g.Shape, g.Data, w.Name, w.DType, w.Shape, w.Data)
		}
	}
	return ""
}

// goldenFile is the content of testdata/small.safetensors.
func goldenFile(t testing.TB) *File {
	return &File{
		Metadata: map[string]string{"format": "pt", "note": `golden "file" <&> é`},
		Tensors: []Tensor{
			mustF32(t, "conv2d/kernel", []int{2, 2, 1, 2}, 1, -1, 0.5, -0.5, 2, -2, float32(math.Inf(1)), float32(math.Copysign(0, -1))),
			mustF32(t, "conv2d/bias", []int{2}, 0.25, -3),
			{Name: "embedding", DType: "F16", Shape: []int{3, 1}, Data: []byte{0x00, 0x3c, 0x00, 0x40, 0x00, 0xc0}}, // 1, 2, -2
			{Name: "step", DType: "I64", Shape: []int{}, Data: []byte{42, 0, 0, 0, 0, 0, 0, 0}},
			{Name: "mask", DType: "BOOL", Shape: []int{4}, Data: []byte{1, 0, 0, 1}},
			{Name: "empty", DType: "F32", Shape: []int{0, 3}},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	every := &File{}
	for i, dt := range []string{"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"} {
		size, _ := DTypeSize(dt)
		data := bytes.Repeat([]byte{byte(i + 1)}, 2*size)
		every.Tensors = append(every.Tensors, Tensor{Name: "t_" + dt, DType: dt, Shape: []int{2, 1}, Data: data})
	}
	tests := []struct {
		name string
		f    *File
	}{
		{"empty", &File{}},
		{"empty metadata", &File{Metadata: map[string]string{}}},
		{"metadata only", &File{Metadata: map[string]string{"b": "2", "a": "1", "": "empty key", "json": `{"x": [1, 2]}`}}},
		{"every dtype", every},
		{"scalar and empty tensors", &File{Tensors: []Tensor{
			{Name: "scalar", DType: "F64", Data: []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
			{Name: "a", DType: "U8", Shape: []int{0}},
			{Name: "b", DType: "F32", Shape: []int{3, 0, 7}},
			mustF32(t, "c", []int{1}, 7),
		}}},
		{"data order is not name order", &File{Tensors: []Tensor{
			mustF32(t, "z", []int{1}, 1),
			mustF32(t, "a", []int{2}, 2, 3),
			mustF32(t, "m", []int{1, 1, 1}, 4),
		}}},
		{"names that need escaping", &File{
			Metadata: map[string]string{"k\"\\\n\x01": "v\t\u2028<&>"},
			Tensors: []Tensor{
				mustF32(t, `quote"back\slash`, []int{1}, 1),
				mustF32(t, "ctrl\x00\x1f\r\n\t", []int{1}, 2),
				mustF32(t, "ünïcødé/日本/🙂", []int{1}, 3),
				mustF32(t, "html <&> \u2028\u2029", []int{1}, 4),
				mustF32(t, "__metadata", []int{1}, 5),
			},
		}},
		{"golden", goldenFile(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := encode(t, tt.f)
			if n := binary.LittleEndian.Uint64(enc); n%8 != 0 {
				t.Errorf("header length %d is not a multiple of 8", n)
			}
			got, err := Decode(enc, Limits{})
			if err != nil {
				t.Fatalf("Decode(Encode(f)): %v\nfile: %q", err, enc)
			}
			if d := diffFiles(got, tt.f); d != "" {
				t.Errorf("Decode(Encode(f)): %s", d)
			}
			if again := encode(t, got); !bytes.Equal(again, enc) {
				t.Errorf("Encode(Decode(Encode(f))) differs from Encode(f):\n%q\n%q", again, enc)
			}
		})
	}
}

func TestEncodeDeterministic(t *testing.T) {
	f := goldenFile(t)
	for i := 0; i < 20; i++ { // map iteration order varies between runs
		f.Metadata[strconv.Itoa(i)] = strings.Repeat("x", i)
	}
	first := encode(t, f)
	for range 10 {
		if next := encode(t, f); !bytes.Equal(next, first) {
			t.Fatalf("Encode is not deterministic:\n%q\n%q", first, next)
		}
	}
}

func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", "small.safetensors")
	enc := encode(t, goldenFile(t))
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, enc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(enc, want) {
		t.Errorf("Encode(goldenFile) differs from %s (run go test -update if the change is intended):\ngot  %q\nwant %q", path, enc, want)
	}
	got, err := Decode(want, Limits{})
	if err != nil {
		t.Fatalf("Decode(%s): %v", path, err)
	}
	if d := diffFiles(got, goldenFile(t)); d != "" {
		t.Errorf("Decode(%s): %s", path, d)
	}
	// The header lists the metadata first, then the tensors by name.
	header := string(want[8 : 8+binary.LittleEndian.Uint64(want)])
	last := -1
	for _, key := range []string{"__metadata__", "conv2d/bias", "conv2d/kernel", "embedding", "empty", "mask", "step"} {
		i := strings.Index(header, strconv.Quote(key)+":")
		if i < last {
			t.Errorf("header lists %q out of order: %s", key, header)
		}
		last = i
	}
}

// TestDecodeAccepts covers valid files that Encode would not produce.
func TestDecodeAccepts(t *testing.T) {
	four := "\x00\x00\x80\x3f" // 1.0 as F32
	tests := []struct {
		name string
		in   []byte
		want *File
	}{
		{
			"whitespace and space padding",
			file("{\n \"a\" : { \"shape\" : [ 1 ] ,\t\"data_offsets\" : [ 0 , 4 ] , \"dtype\" : \"F32\" } }    ", four),
			&File{Tensors: []Tensor{{Name: "a", DType: "F32", Shape: []int{1}, Data: []byte(four)}}},
		},
		{
			"newline padding",
			file("{}\n\n", ""),
			&File{},
		},
		{
			"null metadata",
			file(`{"__metadata__":null}`, ""),
			&File{},
		},
		{
			"header order is not data order",
			file(`{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, "xy"),
			&File{Tensors: []Tensor{{Name: "a", DType: "U8", Shape: []int{1}, Data: []byte("x")}, {Name: "b", DType: "U8", Shape: []int{1}, Data: []byte("y")}}},
		},
		{
			"empty tensors at one offset are ordered by name",
			file(`{"z":{"dtype":"U8","shape":[0],"data_offsets":[1,1]},"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"y":{"dtype":"I64","shape":[4,0],"data_offsets":[1,1]}}`, "x"),
			&File{Tensors: []Tensor{{Name: "x", DType: "U8", Shape: []int{1}, Data: []byte("x")}, {Name: "y", DType: "I64", Shape: []int{4, 0}}, {Name: "z", DType: "U8", Shape: []int{0}}}},
		},
		{
			"zero dimension makes a huge shape empty",
			file(`{"a":{"dtype":"F64","shape":[1099511627776,1099511627776,0],"data_offsets":[0,0]}}`, ""),
			&File{Tensors: []Tensor{{Name: "a", DType: "F64", Shape: []int{1 << 40, 1 << 40, 0}}}},
		},
		{
			"escaped names",
			file(`{"\u0041\/b":{"dtype":"U8","shape":[],"data_offsets":[0,1]},"__metadata__":{"\u00e9":"\ud83d\ude42"}}`, "!"),
			&File{Metadata: map[string]string{"é": "🙂"}, Tensors: []Tensor{{Name: "A/b", DType: "U8", Data: []byte("!")}}},
		},
		{
			"at the limits",
			file(`{"a":{"dtype":"U8","shape":[1,1],"data_offsets":[0,1]}}`, "!"),
			&File{Tensors: []Tensor{{Name: "a", DType: "U8", Shape: []int{1, 1}, Data: []byte("!")}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := Limits{}
			if tt.name == "at the limits" {
				lim = Limits{MaxHeaderBytes: len(tt.in) - 9, MaxTensors: 1, MaxRank: 2}
			}
			got, err := Decode(tt.in, lim)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d := diffFiles(got, tt.want); d != "" {
				t.Errorf("Decode: %s", d)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	f32 := func(name, shape, offsets string) string {
		return fmt.Sprintf(`%q:{"dtype":"F32","shape":%s,"data_offsets":%s}`, name, shape, offsets)
	}
	valid := file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, "xy")
	tests := []struct {
		name   string
		in     []byte
		lim    Limits
		tensor string // the TensorError's Name; "" for an error about the whole file
		kind   string // the error's type: "format", "unsupported", or the Limits field of a *LimitError
	}{
		// The length prefix.
		{"empty input", nil, Limits{}, "", "format"},
		{"truncated length", []byte{2, 0, 0, 0, 0, 0, 0}, Limits{}, "", "format"},
		{"lying header length", withLength(4000, "{}  "), Limits{}, "", "format"},
		{"huge header length", withLength(math.MaxUint64, "{}"), Limits{}, "", "format"},
		{"header length over limit", valid, Limits{MaxHeaderBytes: 16}, "", "MaxHeaderBytes"},
		{"header length one short", withLength(1, "{}"), Limits{}, "", "format"},

		// The header's JSON.
		{"empty header", file("", ""), Limits{}, "", "format"},
		{"header not JSON", file("PK\x03\x04 zip file", ""), Limits{}, "", "format"},
		{"header is an array", file("[]", ""), Limits{}, "", "format"},
		{"leading space", file(" {}", ""), Limits{}, "", "format"},
		{"header not UTF-8", file("{\"\xff\":1}", ""), Limits{}, "", "format"},
		{"unterminated object", file(`{"a":{"dtype":"U8"`, ""), Limits{}, "", "format"},
		{"missing colon", file(`{"a" 1}`, ""), Limits{}, "", "format"},
		{"trailing comma", file(`{"__metadata__":{},}`, ""), Limits{}, "", "format"},
		{"garbage after header", file(`{}  x`, ""), Limits{}, "", "format"},
		{"two objects", file(`{} {}`, ""), Limits{}, "", "format"},

		// Names.
		{"duplicate names", file(`{`+f32("a", "[1]", "[0,4]")+`,`+f32("a", "[1]", "[4,8]")+`}`, "12345678"), Limits{}, "", "format"},
		{"duplicate escaped name", file(`{`+f32("a", "[1]", "[0,4]")+`,"\u0061":{}}`, "1234"), Limits{}, "", "format"},
		{"empty name", file(`{`+f32("", "[1]", "[0,4]")+`}`, "1234"), Limits{}, "", "format"},
		{"too many tensors", file(`{`+f32("a", "[1]", "[0,4]")+`,`+f32("b", "[1]", "[4,8]")+`}`, "12345678"), Limits{MaxTensors: 1}, "", "MaxTensors"},

		// Metadata.
		{"duplicate metadata", file(`{"__metadata__":{},"__metadata__":{}}`, ""), Limits{}, "", "format"},
		{"duplicate metadata key", file(`{"__metadata__":{"k":"1","k":"2"}}`, ""), Limits{}, "", "format"},
		{"metadata not string", file(`{"__metadata__":{"epochs":10}}`, ""), Limits{}, "", "format"},
		{"metadata nested object", file(`{"__metadata__":{"k":{"a":"b"}}}`, ""), Limits{}, "", "format"},
		{"metadata not object", file(`{"__metadata__":["a"]}`, ""), Limits{}, "", "format"},

		// Tensor entries.
		{"entry not object", file(`{"a":[0,4]}`, "1234"), Limits{}, "a", "format"},
		{"unknown key", file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"align":8}}`, "1"), Limits{}, "a", "format"},
		{"duplicate key", file(`{"a":{"dtype":"U8","shape":[1],"dtype":"U8","data_offsets":[0,1]}}`, "1"), Limits{}, "a", "format"},
		{"missing dtype", file(`{"a":{"shape":[1],"data_offsets":[0,1]}}`, "1"), Limits{}, "a", "format"},
		{"missing shape", file(`{"a":{"dtype":"U8","data_offsets":[0,1]}}`, "1"), Limits{}, "a", "format"},
		{"missing offsets", file(`{"a":{"dtype":"U8","shape":[1]}}`, "1"), Limits{}, "a", "format"},
		{"bad dtype", file(`{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, "1234"), Limits{}, "a", "format"},
		{"lower-case dtype", file(`{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, "1234"), Limits{}, "a", "format"},
		{"sub-byte dtype", file(`{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}`, "1"), Limits{}, "a", "unsupported"},
		{"dtype not string", file(`{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}`, "1234"), Limits{}, "a", "format"},
		{"shape not array", file(`{"a":{"dtype":"U8","shape":1,"data_offsets":[0,1]}}`, "1"), Limits{}, "a", "format"},
		{"shape of strings", file(`{"a":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}`, "1"), Limits{}, "a", "format"},
		{"nested shape", file(`{"a":{"dtype":"U8","shape":[[[[1]]]],"data_offsets":[0,1]}}`, "1"), Limits{}, "a", "format"},
		{"negative dim", file(`{`+f32("a", "[-2,-2]", "[0,16]")+`}`, strings.Repeat("x", 16)), Limits{}, "a", "format"},
		{"huge negative dim", file(`{`+f32("a", "[-99999999999999999999]", "[0,0]")+`}`, ""), Limits{}, "a", "format"},
		{"fractional dim", file(`{`+f32("a", "[1.5]", "[0,6]")+`}`, "123456"), Limits{}, "a", "format"},
		{"exponent dim", file(`{`+f32("a", "[1e1]", "[0,40]")+`}`, strings.Repeat("x", 40)), Limits{}, "a", "format"},
		{"dim too large for int", file(`{`+f32("a", "[99999999999999999999]", "[0,4]")+`}`, "1234"), Limits{}, "a", "format"},
		{"overflow shape", file(`{`+f32("a", "[1099511627776,1099511627776]", "[0,4]")+`}`, "1234"), Limits{}, "a", "format"},
		{"overflow bytes", file(`{`+f32("a", "[4611686018427387904]", "[0,4]")+`}`, "1234"), Limits{}, "a", "format"},
		{"rank over limit", file(`{`+f32("a", "[1,1,1,1,1,1,1,1,1]", "[0,4]")+`}`, "1234"), Limits{}, "a", "MaxRank"},
		{"rank over custom limit", file(`{`+f32("a", "[1,1,1]", "[0,4]")+`}`, "1234"), Limits{MaxRank: 2}, "a", "MaxRank"},

		// Offsets.
		{"offsets not a pair", file(`{`+f32("a", "[1]", "[4]")+`}`, "1234"), Limits{}, "a", "format"},
		{"three offsets", file(`{`+f32("a", "[1]", "[0,4,8]")+`}`, "1234"), Limits{}, "a", "format"},
		{"negative offset", file(`{`+f32("a", "[1]", "[-4,0]")+`}`, "1234"), Limits{}, "a", "format"},
		{"reversed offsets", file(`{`+f32("a", "[1]", "[8,4]")+`}`, "12345678"), Limits{}, "a", "format"},
		{"offsets do not match shape", file(`{`+f32("conv2d/kernel", "[3,3,3,64]", "[0,100]")+`}`, strings.Repeat("x", 100)), Limits{},
			"conv2d/kernel", "format"},
		{"offsets gap", file(`{`+f32("a", "[1]", "[0,4]")+`,`+f32("b", "[1]", "[6,10]")+`}`, "1234xx5678"), Limits{}, "b", "format"},
		{"gap at start", file(`{`+f32("a", "[1]", "[2,6]")+`}`, "xx1234"), Limits{}, "a", "format"},
		{"offsets overlap", file(`{`+f32("a", "[2]", "[0,8]")+`,`+f32("b", "[1]", "[4,8]")+`}`, "12345678"), Limits{}, "b", "format"},
		{"same offsets", file(`{`+f32("a", "[1]", "[0,4]")+`,`+f32("b", "[1]", "[0,4]")+`}`, "1234"), Limits{}, "b", "format"},
		{"empty tensor inside another", file(`{`+f32("a", "[2]", "[0,8]")+`,`+f32("b", "[0]", "[4,4]")+`}`, "12345678"), Limits{}, "b", "format"},
		{"offsets out of range", file(`{`+f32("a", "[1]", "[0,4]")+`,`+f32("b", "[2]", "[4,12]")+`}`, "12345678"), Limits{}, "b", "format"},
		{"huge offsets", file(`{`+f32("a", "[1]", "[9223372036854775800,9223372036854775804]")+`}`, "1234"), Limits{}, "a", "format"},
		{"truncated data", valid[:len(valid)-1], Limits{}, "a", "format"},
		{"trailing garbage", append(slices.Clip(valid), "garbage"...), Limits{}, "", "format"},
		{"data without tensors", file(`{}`, "x"), Limits{}, "", "format"},
	}
	var msgs strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode(tt.in, tt.lim)
			if err == nil {
				t.Fatalf("Decode(%q) succeeded, want an error", tt.in)
			}
			if f != nil {
				t.Errorf("Decode returned a File along with error %v", err)
			}
			checkError(t, err, tt.tensor, tt.kind)
			msg := err.Error()
			if i := strings.Index(msg, " (at byte "); i >= 0 {
				// encoding/json's offset and wording differ between its v1 and
				// v2 implementations (GOEXPERIMENT=nojsonv2 in the browser).
				msg = msg[:i] + " (at byte N): the JSON decoder's error"
			}
			fmt.Fprintf(&msgs, "%s: %s\n", tt.name, msg)
		})
	}
	golden.Check(t, "testdata/decode_errors.golden", msgs.String(), *update)
}

// checkError checks that err is a *TensorError for tensor (none when tensor is
// "") wrapping an error of kind: "format" for a FormatError, "unsupported" for
// an UnsupportedError, or a Limits field for a *LimitError of that limit.
func checkError(t *testing.T, err error, tensor, kind string) {
	t.Helper()
	var te *TensorError
	switch {
	case errors.As(err, &te) && te.Name != tensor:
		t.Errorf("error %v names tensor %q, want %q", err, te.Name, tensor)
	case te == nil && tensor != "":
		t.Errorf("error %v (%T) is not a *TensorError naming %q", err, err, tensor)
	}
	var fe FormatError
	var ue UnsupportedError
	var le *LimitError
	switch {
	case kind == "format" && errors.As(err, &fe), kind == "unsupported" && errors.As(err, &ue):
	case errors.As(err, &le) && le.Limit == kind:
	default:
		t.Errorf("error %v (%T) is not of kind %s", err, err, kind)
	}
}

func TestDecodeAliasesInput(t *testing.T) {
	in := encode(t, &File{Tensors: []Tensor{
		{Name: "a", DType: "U8", Shape: []int{2}, Data: []byte("ab")},
		{Name: "b", DType: "U8", Shape: []int{2}, Data: []byte("cd")},
	}})
	f, err := Decode(in, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.Tensor("a")
	if cap(a.Data) != len(a.Data) {
		t.Errorf("cap(Data) = %d, want %d so appending cannot overwrite the next tensor", cap(a.Data), len(a.Data))
	}
	in[len(in)-4] = 'X'
	if string(a.Data) != "Xb" {
		t.Errorf("Data = %q after modifying the input, want %q (Data aliases the input)", a.Data, "Xb")
	}
}

// TestDecodeAllocationBounded checks that hostile headers (lying lengths,
// huge shapes and offsets) cost memory in proportion to the input only.
func TestDecodeAllocationBounded(t *testing.T) {
	inputs := [][]byte{
		withLength(math.MaxUint64, "{}"),
		withLength(1<<62, strings.Repeat(" ", 100)),
		file(`{"a":{"dtype":"F64","shape":[4611686018427387903,1],"data_offsets":[0,4611686018427387903]}}`, "12345678"),
		file(`{"a":{"dtype":"U8","shape":[9223372036854775807],"data_offsets":[0,9223372036854775807]}}`, "1"),
		file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[9223372036854775806,9223372036854775807]}}`, "1"),
		file(`{"a":{"dtype":"U8","shape":`+strings.Repeat("[", 100000)+`}}`, ""),
		file(`{"__metadata__":{"k":`+strings.Repeat("[", 100000)+`}}`, ""),
	}
	for i, in := range inputs {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode(in, Limits{})
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("input %d: Decode succeeded", i)
		}
		n, limit := after.TotalAlloc-before.TotalAlloc, uint64(64<<10+8*len(in))
		t.Logf("input %d: %d bytes in, %d bytes allocated", i, len(in), n)
		if n > limit {
			t.Errorf("input %d (%d bytes): Decode allocated %d bytes, want at most %d", i, len(in), n, limit)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	u8 := func(name string) Tensor { return Tensor{Name: name, DType: "U8", Shape: []int{1}, Data: []byte{1}} }
	tests := []struct {
		name   string
		f      *File
		tensor string // as in TestDecodeErrors
		kind   string
	}{
		{"nil file", nil, "", "format"},
		{"empty name", &File{Tensors: []Tensor{u8("a"), u8("")}}, "", "format"},
		{"reserved name", &File{Tensors: []Tensor{u8("__metadata__")}}, "", "format"},
		{"duplicate name", &File{Tensors: []Tensor{u8("a"), u8("b"), u8("a")}}, "", "format"},
		{"name not UTF-8", &File{Tensors: []Tensor{u8("\xff")}}, "", "format"},
		{"unknown dtype", &File{Tensors: []Tensor{{Name: "a", DType: "float32", Shape: []int{1}, Data: make([]byte, 4)}}}, "a", "format"},
		{"empty dtype", &File{Tensors: []Tensor{{Name: "a", Shape: []int{0}}}}, "a", "format"},
		{"sub-byte dtype", &File{Tensors: []Tensor{{Name: "a", DType: "F6_E2M3", Shape: []int{4}, Data: make([]byte, 3)}}}, "a", "unsupported"},
		{"negative dim", &File{Tensors: []Tensor{{Name: "a", DType: "U8", Shape: []int{-1, -1}, Data: []byte{1}}}}, "a", "format"},
		{"overflow", &File{Tensors: []Tensor{{Name: "a", DType: "U8", Shape: []int{1 << 40, 1 << 40}}}}, "a", "format"},
		{"short data", &File{Tensors: []Tensor{{Name: "a", DType: "BF16", Shape: []int{2, 3}, Data: make([]byte, 11)}}}, "a", "format"},
		{"metadata not UTF-8", &File{Metadata: map[string]string{"k": "\xc3"}}, "", "format"},
	}
	var msgs strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Encode(&buf, tt.f)
			if err == nil {
				t.Fatal("Encode succeeded, want an error")
			}
			checkError(t, err, tt.tensor, tt.kind)
			fmt.Fprintf(&msgs, "%s: %v\n", tt.name, err)
			if buf.Len() != 0 {
				t.Errorf("Encode wrote %d bytes before failing validation", buf.Len())
			}
		})
	}
	golden.Check(t, "testdata/encode_errors.golden", msgs.String(), *update)
}

type failingWriter struct{ after int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after == 0 {
		return 0, errDiskFull
	}
	w.after--
	return len(p), nil
}

func TestEncodeWriteError(t *testing.T) {
	for after, tensor := range []string{"", "conv2d/kernel", "conv2d/bias"} { // the header, then each tensor
		err := Encode(&failingWriter{after: after}, goldenFile(t))
		var te *TensorError
		if !errors.Is(err, errDiskFull) || errors.As(err, &te) != (tensor != "") || te != nil && te.Name != tensor {
			t.Errorf("Encode after %d writes: error %v, want one naming tensor %q (none for the header) wrapping %v", after, err, tensor, errDiskFull)
		}
	}
}

func TestF32AndFloat32s(t *testing.T) {
	values := []float32{0, 1, -2.5, float32(math.Inf(-1)), math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.NaN())}
	shape := []int{7, 1}
	tt, err := F32("w", shape, values)
	if err != nil {
		t.Fatal(err)
	}
	shape[0] = 99
	if !slices.Equal(tt.Shape, []int{7, 1}) {
		t.Errorf("F32 did not copy shape: %v", tt.Shape)
	}
	if want := []byte{0, 0, 0x80, 0x3f}; !bytes.Equal(tt.Data[4:8], want) {
		t.Errorf("1.0 encoded as % x, want % x (little-endian)", tt.Data[4:8], want)
	}
	got, err := tt.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	for i := range values {
		if math.Float32bits(got[i]) != math.Float32bits(values[i]) {
			t.Errorf("value %d = %v, want %v", i, got[i], values[i])
		}
	}

	scalar, err := F32("s", nil, []float32{3})
	if err != nil || len(scalar.Data) != 4 {
		t.Errorf("F32 scalar: %v, %d bytes", err, len(scalar.Data))
	}

	for _, c := range []struct {
		shape  []int
		values []float32
	}{
		{[]int{2, 2}, make([]float32, 3)},
		{[]int{-1}, nil},
		{[]int{1 << 62, 1 << 62}, nil},
		{[]int{}, nil},
	} {
		_, err := F32("x", c.shape, c.values)
		if err == nil {
			t.Fatalf("F32(%v, %d values) succeeded", c.shape, len(c.values))
		}
		checkError(t, err, "x", "format")
	}

}

func TestDTypeSize(t *testing.T) {
	for _, c := range []struct {
		dtype string
		size  int
		ok    bool
	}{
		{"BOOL", 1, true}, {"U8", 1, true}, {"I8", 1, true}, {"F8_E5M2", 1, true}, {"F8_E4M3", 1, true}, {"F8_E8M0", 1, true},
		{"I16", 2, true}, {"U16", 2, true}, {"F16", 2, true}, {"BF16", 2, true},
		{"I32", 4, true}, {"U32", 4, true}, {"F32", 4, true},
		{"I64", 8, true}, {"U64", 8, true}, {"F64", 8, true}, {"C64", 8, true},
		{"F4", 0, false}, {"F6_E2M3", 0, false}, {"F6_E3M2", 0, false},
		{"", 0, false}, {"f32", 0, false}, {"F128", 0, false},
	} {
		if size, ok := DTypeSize(c.dtype); size != c.size || ok != c.ok {
			t.Errorf("DTypeSize(%q) = %d, %v; want %d, %v", c.dtype, size, ok, c.size, c.ok)
		}
	}
}

func TestFileTensor(t *testing.T) {
	f := goldenFile(t)
	b, ok := f.Tensor("conv2d/bias")
	if !ok || b.DType != "F32" || !slices.Equal(b.Shape, []int{2}) {
		t.Fatalf("Tensor(conv2d/bias) = %+v, %v", b, ok)
	}
	b.Shape = []int{1, 2}
	if !slices.Equal(f.Tensors[1].Shape, []int{1, 2}) {
		t.Errorf("Tensor does not point into f.Tensors")
	}
	if b, ok := f.Tensor("conv2d"); ok || b != nil {
		t.Errorf("Tensor(conv2d) = %v, %v; want nil, false", b, ok)
	}
}

// seeds are the named inputs of the FuzzDecode seed corpus in testdata/fuzz/FuzzDecode.
func seeds(t testing.TB) map[string][]byte {
	golden := encode(t, goldenFile(t))
	return map[string][]byte{
		"valid-small":          golden,
		"valid-empty":          encode(t, &File{}),
		"valid-metadata-only":  encode(t, &File{Metadata: map[string]string{"format": "pt"}}),
		"valid-empty-tensors":  file(`{"s":{"dtype":"U8","shape":[],"data_offsets":[0,1]},"e":{"dtype":"F32","shape":[0,1099511627776],"data_offsets":[1,1]}} `, "!"),
		"valid-whitespace":     file("{ \"a\" : {\"dtype\":\"I16\", \"shape\":[ 1 ], \"data_offsets\":[0, 2]},\n\"__metadata__\":null }  \n", "\x01\x02"),
		"truncated-length":     golden[:5],
		"truncated-header":     golden[:40],
		"truncated-data":       golden[:len(golden)-3],
		"lying-header-length":  withLength(4000, "{}  "),
		"huge-header-length":   withLength(math.MaxUint64, "{}"),
		"not-json":             file("PK\x03\x04", ""),
		"duplicate-names":      file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, "xy"),
		"overflow-shape":       file(`{"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}}`, "1234"),
		"offsets-gap":          file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}`, "xyz"),
		"offsets-overlap":      file(`{"a":{"dtype":"U16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, "xy"),
		"metadata-not-string":  file(`{"__metadata__":{"epochs":10}}`, ""),
		"trailing-garbage":     append(slices.Clip(golden), "garbage"...),
		"deeply-nested-header": file(`{"a":{"dtype":"U8","shape":`+strings.Repeat("[", 1000)+`}}`, ""),
	}
}

func TestSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	for name, data := range seeds(t) {
		path := filepath.Join(dir, "seed-"+name)
		content := []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n")
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, content) {
			t.Errorf("seed %s is missing or out of date (run go test -update): %v", path, err)
		}
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts
// survives Encode and Decode unchanged.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(data, Limits{})
		if err != nil {
			if file != nil {
				t.Fatalf("Decode returned a File along with error %v", err)
			}
			return
		}
		n := 8 + int(binary.LittleEndian.Uint64(data))
		for _, tt := range file.Tensors {
			n += len(tt.Data)
		}
		if n != len(data) {
			t.Fatalf("header and tensors account for %d bytes of %d", n, len(data))
		}
		var buf bytes.Buffer
		if err := Encode(&buf, file); err != nil {
			t.Fatalf("Encode of a decoded file: %v", err)
		}
		again, err := Decode(buf.Bytes(), Limits{})
		if err != nil {
			t.Fatalf("Decode of a re-encoded file: %v\n%q", err, buf.Bytes())
		}
		if d := diffFiles(again, file); d != "" {
			t.Fatalf("Decode(Encode(Decode(data))) differs from Decode(data): %s", d)
		}
		var buf2 bytes.Buffer
		if err := Encode(&buf2, again); err != nil || !bytes.Equal(buf2.Bytes(), buf.Bytes()) {
			t.Fatalf("Encode is not a fixed point: %v\n%q\n%q", err, buf.Bytes(), buf2.Bytes())
		}
	})
}

func TestFloat64s(t *testing.T) {
	values := []float64{0, 1, -2.5, math.Inf(1), math.MaxFloat64, math.SmallestNonzeroFloat64}
	data := make([]byte, 8*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(v))
	}
	got, err := (&Tensor{Name: "g", DType: "F64", Shape: []int{2, 3}, Data: data}).Float64s()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, values) {
		t.Errorf("Float64s = %v, want %v", got, values)
	}
}

func TestConversionErrors(t *testing.T) {
	float32s := func(t *Tensor) error { _, err := t.Float32s(); return err }
	float64s := func(t *Tensor) error { _, err := t.Float64s(); return err }
	for _, c := range []struct {
		conv func(*Tensor) error
		t    Tensor
		kind string // as in TestDecodeErrors
	}{
		{float32s, Tensor{Name: "i", DType: "I32", Shape: []int{1}, Data: make([]byte, 4)}, "unsupported"},
		{float32s, Tensor{Name: "s", DType: "F32", Shape: []int{2}, Data: make([]byte, 7)}, "format"},
		{float32s, Tensor{Name: "o", DType: "F32", Shape: []int{1 << 62}}, "format"},
		{float64s, Tensor{Name: "f", DType: "F32", Shape: []int{1}, Data: make([]byte, 4)}, "unsupported"},
		{float64s, Tensor{Name: "s", DType: "F64", Shape: []int{2}, Data: make([]byte, 15)}, "format"},
		{float64s, Tensor{Name: "o", DType: "F64", Shape: []int{1 << 62}}, "format"},
	} {
		err := c.conv(&c.t)
		if err == nil {
			t.Fatalf("converting %s tensor %q succeeded", c.t.DType, c.t.Name)
		}
		checkError(t, err, c.t.Name, c.kind)
	}
}
