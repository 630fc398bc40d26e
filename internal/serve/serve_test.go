package serve

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// site writes a small site into a temporary directory and returns its path,
// its files' contents by name, and a directory outside it.
func site(t *testing.T) (dir string, files map[string][]byte, outside string) {
	t.Helper()
	base := t.TempDir()
	dir = filepath.Join(base, "web")
	outside = filepath.Join(base, "secret")
	wasm := bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00 some repetitive code "), 4000)
	files = map[string][]byte{
		"index.html":              []byte("<!doctype html><title>papscope</title>" + strings.Repeat("<p>hello</p>", 200)),
		"papscope.wasm":           wasm,
		"wasm_exec.js":            []byte(strings.Repeat("globalThis.Go = class {};\n", 100)),
		"sw.js":                   []byte("self.addEventListener('fetch', () => {});"),
		"style.css":               []byte(strings.Repeat("body { margin: 0 }\n", 50)),
		"manifest.webmanifest":    []byte(`{"name": "papscope", "start_url": "."}`),
		"papscope.safetensors":    bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, 1000),
		"random.safetensors":      randomBytes(8000),
		"samples/samples.json":    []byte(`[` + strings.Repeat(`{"name": "a", "class": "HSIL", "file": "a.png"},`, 20) + `{}]`),
		"samples/a.png":           []byte("\x89PNG\r\n\x1a\nnot really"),
		"docs/index.html":         []byte("<!doctype html><title>docs</title>"),
		"data.unknownext":         []byte("opaque"),
		".git/config":             []byte("[core]"),
		"samples/.hidden/x.png":   []byte("x"),
		"empty/placeholder.bin":   []byte{0},
		"samples/nested/deep.txt": []byte("deep"),
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "passwd"), []byte("root:x:0:0"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	return dir, files, outside
}

// randomBytes returns n bytes that gzip cannot shrink.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	x := uint64(88172645463325252)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

func newHandler(t *testing.T, dir string) *Handler {
	t.Helper()
	h, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func do(h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://127.0.0.1"+target, nil)
	p, _, _ := strings.Cut(target, "?")
	p, err := url.PathUnescape(p)
	if err != nil {
		panic(err)
	}
	req.URL.Path = p // keep "..", as a raw request line would
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// body returns the response body, gunzipped when it says it is gzip.
func body(t *testing.T, rec *httptest.ResponseRecorder) []byte {
	t.Helper()
	b := rec.Body.Bytes()
	if rec.Header().Get("Content-Encoding") != "gzip" {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

func TestServe(t *testing.T) {
	dir, files, _ := site(t)
	h := newHandler(t, dir)
	gz := map[string]string{"Accept-Encoding": "gzip, deflate, br"}
	tests := []struct {
		method, path string
		header       map[string]string
		status       int
		ctype        string
		encoding     string // Content-Encoding
		want         string // file whose content the body must be ("" for none)
		vary         bool
	}{
		{"GET", "/", nil, 200, "text/html; charset=utf-8", "", "index.html", true},
		{"GET", "/", gz, 200, "text/html; charset=utf-8", "gzip", "index.html", true},
		{"GET", "/index.html", nil, 200, "text/html; charset=utf-8", "", "index.html", true},
		{"GET", "/papscope.wasm", gz, 200, "application/wasm", "gzip", "papscope.wasm", true},
		{"GET", "/papscope.wasm", nil, 200, "application/wasm", "", "papscope.wasm", true},
		{"GET", "/papscope.wasm", map[string]string{"Accept-Encoding": "gzip;q=0"}, 200, "application/wasm", "", "papscope.wasm", true},
		{"GET", "/papscope.wasm", map[string]string{"Accept-Encoding": "*"}, 200, "application/wasm", "gzip", "papscope.wasm", true},
		{"GET", "/wasm_exec.js", gz, 200, "text/javascript; charset=utf-8", "gzip", "wasm_exec.js", true},
		{"GET", "/sw.js", nil, 200, "text/javascript; charset=utf-8", "", "sw.js", true},
		{"GET", "/style.css", gz, 200, "text/css; charset=utf-8", "gzip", "style.css", true},
		{"GET", "/manifest.webmanifest", nil, 200, "application/manifest+json", "", "manifest.webmanifest", true},
		{"GET", "/papscope.safetensors", gz, 200, "application/octet-stream", "gzip", "papscope.safetensors", true},
		// Incompressible content goes out as it is, even when gzip is accepted.
		{"GET", "/random.safetensors", gz, 200, "application/octet-stream", "", "random.safetensors", true},
		{"GET", "/samples/samples.json", gz, 200, "application/json", "gzip", "samples/samples.json", true},
		{"GET", "/samples/a.png", gz, 200, "image/png", "", "samples/a.png", false},
		{"GET", "/samples/nested/deep.txt", nil, 200, "text/plain; charset=utf-8", "", "samples/nested/deep.txt", true},
		{"GET", "/data.unknownext", nil, 200, "application/octet-stream", "", "data.unknownext", false},
		{"GET", "/docs/", nil, 200, "text/html; charset=utf-8", "", "docs/index.html", true},
		{"GET", "/index.html?v=2", nil, 200, "text/html; charset=utf-8", "", "index.html", true},
		{"HEAD", "/papscope.wasm", gz, 200, "application/wasm", "gzip", "", true},
		{"HEAD", "/papscope.wasm", nil, 200, "application/wasm", "", "", true},
		// A range is served from the identity encoding.
		{"GET", "/papscope.wasm", map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=0-9"}, 206, "application/wasm", "", "", true},
		// No listings, no hidden files, nothing outside the directory.
		{"GET", "/docs", nil, 301, "", "", "", false},
		{"GET", "/samples/", nil, 404, "", "", "", false},
		{"GET", "/empty/", nil, 404, "", "", "", false},
		{"GET", "/missing.js", nil, 404, "", "", "", false},
		{"GET", "/samples/missing.png", nil, 404, "", "", "", false},
		{"GET", "/.git/config", nil, 400, "", "", "", false},
		{"GET", "/samples/.hidden/x.png", nil, 400, "", "", "", false},
		{"GET", "/../secret/passwd", nil, 400, "", "", "", false},
		{"GET", "/samples/../../secret/passwd", nil, 400, "", "", "", false},
		{"GET", "/..%2fsecret/passwd", nil, 400, "", "", "", false},
		{"GET", "/samples\\..\\..\\secret\\passwd", nil, 400, "", "", "", false},
		{"GET", "/link.txt", nil, 404, "", "", "", false},
		{"POST", "/index.html", nil, 405, "", "", "", false},
		{"PUT", "/x.html", nil, 405, "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.header["Accept-Encoding"]+tt.header["Range"], func(t *testing.T) {
			rec := do(h, tt.method, tt.path, tt.header)
			hdr := rec.Header()
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (body %.100q)", rec.Code, tt.status, rec.Body.String())
			}
			for _, kv := range securityHeaders {
				if got := hdr.Get(kv[0]); got != kv[1] {
					t.Errorf("%s = %q, want %q", kv[0], got, kv[1])
				}
			}
			if tt.status == 404 && strings.Contains(rec.Body.String(), "placeholder") {
				t.Errorf("404 body lists a directory: %q", rec.Body.String())
			}
			if tt.status == 301 {
				if loc := hdr.Get("Location"); loc != tt.path+"/" {
					t.Errorf("Location %q, want %q", loc, tt.path+"/")
				}
			}
			if tt.status != 200 && tt.status != 206 {
				return
			}
			if got := hdr.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if got := hdr.Get("Content-Encoding"); got != tt.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			if got := hdr.Get("Vary") == "Accept-Encoding"; got != tt.vary {
				t.Errorf("Vary %q, want Accept-Encoding: %v", hdr.Get("Vary"), tt.vary)
			}
			if got := hdr.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache", got)
			}
			etag := hdr.Get("ETag")
			if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
				t.Errorf("ETag %q is not a strong entity tag", etag)
			}
			if (tt.encoding == "gzip") != strings.HasSuffix(etag, `-gz"`) {
				t.Errorf("ETag %q does not tell the gzip representation apart", etag)
			}
			n, err := strconv.Atoi(hdr.Get("Content-Length"))
			if err != nil {
				t.Fatalf("Content-Length %q: %v", hdr.Get("Content-Length"), err)
			}
			switch {
			case tt.method == "HEAD":
				if rec.Body.Len() != 0 {
					t.Errorf("HEAD has a %d-byte body", rec.Body.Len())
				}
				if n == 0 {
					t.Errorf("HEAD Content-Length 0")
				}
			case tt.status == 206:
				if got, want := rec.Body.String(), string(files["papscope.wasm"][:10]); got != want || n != 10 {
					t.Errorf("range body %q (Content-Length %d), want %q", got, n, want)
				}
			default:
				if n != rec.Body.Len() {
					t.Errorf("Content-Length %d, body %d bytes", n, rec.Body.Len())
				}
				if got := body(t, rec); !bytes.Equal(got, files[tt.want]) {
					t.Errorf("body (%d bytes) is not %s (%d bytes)", len(got), tt.want, len(files[tt.want]))
				}
				if tt.encoding == "gzip" && rec.Body.Len() >= len(files[tt.want]) {
					t.Errorf("gzipped body %d bytes, no smaller than %d", rec.Body.Len(), len(files[tt.want]))
				}
			}
		})
	}
}

// TestConditional checks that an ETag revalidates to 304 and that a changed
// file gets a new ETag and its new content, gzipped or not.
func TestConditional(t *testing.T) {
	dir, _, _ := site(t)
	h := newHandler(t, dir)
	for _, enc := range []string{"", "gzip"} {
		t.Run("encoding="+enc, func(t *testing.T) {
			ae := map[string]string{"Accept-Encoding": enc}
			first := do(h, "GET", "/papscope.wasm", ae)
			etag := first.Header().Get("ETag")
			again := do(h, "GET", "/papscope.wasm", map[string]string{"Accept-Encoding": enc, "If-None-Match": etag})
			if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
				t.Fatalf("If-None-Match %s: status %d, %d-byte body; want 304, empty", etag, again.Code, again.Body.Len())
			}
			if again.Header().Get("Content-Security-Policy") == "" {
				t.Errorf("304 lacks the security headers")
			}

			updated := bytes.Repeat([]byte("new build of the wasm module "), 3000+len(enc))
			p := filepath.Join(dir, "papscope.wasm")
			if err := os.WriteFile(p, updated, 0o644); err != nil {
				t.Fatal(err)
			}
			later := time.Now().Add(time.Duration(1+len(enc)) * time.Minute)
			if err := os.Chtimes(p, later, later); err != nil {
				t.Fatal(err)
			}
			rec := do(h, "GET", "/papscope.wasm", map[string]string{"Accept-Encoding": enc, "If-None-Match": etag})
			if rec.Code != http.StatusOK {
				t.Fatalf("after the update: status %d, want 200", rec.Code)
			}
			if rec.Header().Get("ETag") == etag {
				t.Errorf("ETag %s unchanged after the file changed", etag)
			}
			if got := body(t, rec); !bytes.Equal(got, updated) {
				t.Errorf("after the update the body is the old content (%d bytes)", len(got))
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"deflate, gzip;q=1.0, *;q=0.5", true},
		{"gzip;q=0", false},
		{"gzip; q=0.0, br", false},
		{"br, deflate", false},
		{"identity", false},
		{"*", true},
		{"*;q=0", false},
		{"x-gzip", true},
		{"gzipfoo", false},
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.header); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestContentType(t *testing.T) {
	tests := map[string]string{
		"papscope.wasm":          "application/wasm",
		"manifest.webmanifest":   "application/manifest+json",
		"weights.safetensors":    "application/octet-stream",
		"wasm_exec.js":           "text/javascript; charset=utf-8",
		"INDEX.HTML":             "text/html; charset=utf-8",
		"samples/a.JPG":          "image/jpeg",
		"no-extension":           "application/octet-stream",
		"group1-shard1of1.bin":   "application/octet-stream",
		"samples/samples.json":   "application/json",
		"icons/icon.svg":         "image/svg+xml",
		"papscope-results.csv":   "text/csv; charset=utf-8",
		"something.exe":          "application/octet-stream",
		"page.htm":               "text/html; charset=utf-8",
		"module.mjs":             "text/javascript; charset=utf-8",
		"icons/favicon.ico":      "image/x-icon",
		"samples/field.tif":      "image/tiff",
		"samples/field.webp":     "image/webp",
		"samples/field.bmp":      "image/bmp",
		"samples/field.gif":      "image/gif",
		"fonts/font.woff2":       "font/woff2",
		"README.md":              "text/markdown; charset=utf-8",
		"notes.txt":              "text/plain; charset=utf-8",
		"style.css":              "text/css; charset=utf-8",
		"sourcemap.js.map":       "application/json",
		"samples/field.png":      "image/png",
		"samples/field.jpeg":     "image/jpeg",
		"samples/field.tiff":     "image/tiff",
		"weights/model.json":     "application/json",
		"weights/x.SAFETENSORS":  "application/octet-stream",
		"dir.with.dots/file.xyz": "application/octet-stream",
	}
	for name, want := range tests {
		if got := ContentType(name); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestOverHTTP serves through a real listener: the Go client asks for gzip
// and decompresses transparently, and the Content-Length on the wire matches.
func TestOverHTTP(t *testing.T) {
	dir, files, _ := site(t)
	srv := httptest.NewServer(newHandler(t, dir))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("test server at %s, want loopback", srv.URL)
	}
	resp, err := http.Get(srv.URL + "/papscope.wasm")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Uncompressed {
		t.Errorf("the response was not gzipped for a client that accepts gzip")
	}
	if !bytes.Equal(got, files["papscope.wasm"]) {
		t.Errorf("body %d bytes differs from the file (%d bytes)", len(got), len(files["papscope.wasm"]))
	}
}
