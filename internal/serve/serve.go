// Package serve serves papscope's static site: the files of one directory with
// the right MIME types, gzip for the browsers that accept it, ETags that make
// updates show at once, and the security headers the site relies on (a strict
// Content-Security-Policy that lets the page talk only to its own origin).
//
// Caching: every response carries Cache-Control: no-cache and a strong ETag
// derived from the content, so a browser revalidates each file (a 304 costs a
// round trip, no body) and never runs a stale papscope.wasm against new
// weights. The file names are not content-hashed, so long-lived caching would
// be wrong; the service worker is what makes the site work offline.
//
// Compression: a compressible file (HTML, JavaScript, CSS, JSON, the manifest,
// SVG, the .wasm and .safetensors weights) is gzipped once per version (its
// size and modification time) and kept in memory; it is sent gzipped when the
// request accepts gzip and the gzipped form is meaningfully smaller. Range
// requests get the identity encoding.
//
// Only GET and HEAD are served. Directories are never listed (a directory
// with an index.html serves that page), names starting with "." are not
// served, and paths are resolved inside the directory with os.Root, so
// neither ".." nor a symbolic link can reach a file outside it.
package serve

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultAddr is where `papscope serve` listens unless told otherwise: the
// loopback interface only, so the site is not exposed to the network by accident.
const DefaultAddr = "127.0.0.1:8080"

// ContentSecurityPolicy is sent with every response. The page may load scripts,
// workers, styles and the manifest only from its own origin, compile
// WebAssembly, connect only to its own origin, and show images from its origin
// or from blob: and data: URLs (the user's own images, decoded locally).
const ContentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; " +
	"img-src 'self' blob: data:; style-src 'self'; worker-src 'self'; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// securityHeaders are set on every response, errors included.
var securityHeaders = [][2]string{
	{"Content-Security-Policy", ContentSecurityPolicy},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
	{"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"},
}

// contentTypes maps a file extension to its Content-Type. Extensions not
// listed are served as application/octet-stream (never sniffed).
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".wasm":        "application/wasm",
	".safetensors": "application/octet-stream",
	".bin":         "application/octet-stream",
	".txt":         "text/plain; charset=utf-8",
	".md":          "text/markdown; charset=utf-8",
	".csv":         "text/csv; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".bmp":         "image/bmp",
	".tif":         "image/tiff",
	".tiff":        "image/tiff",
	".ico":         "image/x-icon",
	".woff2":       "font/woff2",
}

// compressible lists the extensions worth gzipping. Images are already
// compressed. Weights are float32 and shrink only a little, but on every
// first visit.
var compressible = map[string]bool{
	".html": true, ".htm": true, ".js": true, ".mjs": true, ".css": true, ".json": true, ".map": true,
	".webmanifest": true, ".wasm": true, ".safetensors": true, ".txt": true, ".md": true, ".csv": true,
	".svg": true, ".bmp": true, ".tif": true, ".tiff": true,
}

// maxCompressBytes bounds the files gzipped into memory; larger ones are sent as they are.
const maxCompressBytes = 64 << 20

// minSaving is the smallest fraction of its size gzip must save for the
// gzipped form to be sent.
const minSaving = 0.05

// ContentType returns the Content-Type served for a file name.
func ContentType(name string) string {
	if ct, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return ct
	}
	return "application/octet-stream"
}

// Handler serves the files of one directory. Create it with New.
type Handler struct {
	root *os.Root

	mu    sync.Mutex
	cache map[string]*entry // by slash-separated name inside root
}

// entry is what the handler knows about one version of one file.
type entry struct {
	size    int64
	modTime time.Time
	etag    string // strong, from the content's SHA-256
	gz      []byte // the gzipped content, or nil when not worth sending
}

// New returns a handler serving the directory dir. Close it when done.
func New(dir string) (*Handler, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("serve %s: %w", dir, err)
	}
	return &Handler{root: root, cache: make(map[string]*entry)}, nil
}

// Close releases the directory.
func (h *Handler) Close() error { return h.root.Close() }

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	for _, kv := range securityHeaders {
		hdr.Set(kv[0], kv[1])
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := cleanName(r.URL.Path)
	if !ok {
		http.Error(w, "400 bad request", http.StatusBadRequest)
		return
	}
	f, info, name, err := h.open(name, name == "." || strings.HasSuffix(r.URL.Path, "/"))
	if err != nil {
		if errors.Is(err, errRedirect) {
			http.Redirect(w, r, redirectTarget(r.URL.Path), http.StatusMovedPermanently)
			return
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()

	ext := strings.ToLower(path.Ext(name))
	hdr.Set("Content-Type", ContentType(name))
	hdr.Set("Cache-Control", "no-cache")
	canGzip := compressible[ext] && info.Size() <= maxCompressBytes
	if canGzip {
		hdr.Add("Vary", "Accept-Encoding")
	}
	e, err := h.entry(name, f, info, canGzip)
	if err != nil {
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}
	if e.gz != nil && r.Header.Get("Range") == "" && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		hdr.Set("Content-Encoding", "gzip")
		hdr.Set("ETag", `"`+e.etag+`-gz"`)
		// ServeContent leaves Content-Length out when an encoding is set;
		// the whole gzipped body is sent (no ranges), so it is known.
		hdr.Set("Content-Length", strconv.Itoa(len(e.gz)))
		http.ServeContent(w, r, name, e.modTime, bytes.NewReader(e.gz))
		return
	}
	hdr.Set("ETag", `"`+e.etag+`"`)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, name, info.ModTime(), f)
}

// errRedirect reports a directory asked for without its trailing slash.
var errRedirect = errors.New("directory without trailing slash")

// open opens the regular file for name; a directory stands for its index.html
// when asked for with a trailing slash (slash), and is redirected to that
// form otherwise. It returns the name of the file actually opened.
func (h *Handler) open(name string, slash bool) (*os.File, fs.FileInfo, string, error) {
	f, err := h.root.Open(name)
	if err != nil {
		return nil, nil, "", err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, "", err
	}
	if info.Mode().IsRegular() {
		return f, info, name, nil
	}
	f.Close()
	if !info.IsDir() {
		return nil, nil, "", fs.ErrNotExist
	}
	index := path.Join(name, "index.html")
	f, err = h.root.Open(index)
	if err != nil {
		return nil, nil, "", err
	}
	info, err = f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, "", fs.ErrNotExist
	}
	if !slash {
		f.Close()
		return nil, nil, "", errRedirect
	}
	return f, info, index, nil
}

// cleanName turns a URL path into a name inside the site, refusing ".."
// segments, backslashes, NUL bytes and names starting with ".".
func cleanName(p string) (string, bool) {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return "", false
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == ".." {
			return "", false
		}
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name == "" {
		return ".", true
	}
	for seg := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	return name, true
}

// redirectTarget is the URL path of a directory with its trailing slash.
func redirectTarget(p string) string { return path.Clean(p) + "/" }

// entry returns the cached facts about the current version of name, computing
// them (hash and, when canGzip, the gzipped form) on first use or after the
// file changed.
func (h *Handler) entry(name string, f *os.File, info fs.FileInfo, canGzip bool) (*entry, error) {
	h.mu.Lock()
	e := h.cache[name]
	h.mu.Unlock()
	if e != nil && e.size == info.Size() && e.modTime.Equal(info.ModTime()) {
		return e, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, info.Size()+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	sum := sha256.Sum256(data)
	e = &entry{size: info.Size(), modTime: info.ModTime(), etag: base64.RawURLEncoding.EncodeToString(sum[:18])}
	if canGzip {
		e.gz = gzipped(data)
	}
	h.mu.Lock()
	h.cache[name] = e
	h.mu.Unlock()
	return e, nil
}

// gzipped returns data gzipped at the best compression, or nil when that
// saves less than minSaving of its size.
func gzipped(data []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	if float64(buf.Len()) > (1-minSaving)*float64(len(data)) {
		return nil
	}
	return buf.Bytes()
}

// acceptsGzip reports whether an Accept-Encoding header value admits gzip.
func acceptsGzip(header string) bool {
	star := false
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		if coding == "*" {
			star = q > 0
			continue
		}
		return q > 0
	}
	return star
}
