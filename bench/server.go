package main

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"sync"
	"time"
)

// warmServer requests, with gzip accepted, every file under each folder at
// the URL path it is served under, and discards the answers.
func warmServer(base string, trees map[string]string) error {
	for prefix, dir := range trees {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			req, err := http.NewRequest(http.MethodGet, base+prefix+filepath.ToSlash(rel), nil)
			if err != nil {
				return err
			}
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := http.DefaultTransport.RoundTrip(req) // the transport's own gzip handling would hide the header
			if err != nil {
				return fmt.Errorf("warming the server: %w", err)
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// counter counts the body bytes the server sends (compressed when gzipped),
// per request, and when the last response ended.
type counter struct {
	next http.Handler
	mu   sync.Mutex
	reqs []served
	last time.Time
}

// served is one response: its path and its body's bytes.
type served struct {
	path  string
	bytes int64
}

// countingWriter counts the body bytes written through it.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

// Write writes p and counts the bytes written.
func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// ServeHTTP serves r with the next handler and records the bytes sent.
func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &countingWriter{ResponseWriter: w}
	c.next.ServeHTTP(cw, r)
	c.mu.Lock()
	c.reqs = append(c.reqs, served{r.URL.Path, cw.n})
	c.last = time.Now()
	c.mu.Unlock()
}

// reset forgets the responses counted so far.
func (c *counter) reset() {
	c.mu.Lock()
	c.reqs = nil
	c.mu.Unlock()
}

// total is every byte sent since the last reset.
func (c *counter) total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, r := range c.reqs {
		n += r.bytes
	}
	return n
}

// unique returns each path once, with the most bytes any of its responses
// carried: what a page needs, without the copies its service worker fetches
// again to cache them (or a request the browser gave up on).
func (c *counter) unique() []served {
	c.mu.Lock()
	defer c.mu.Unlock()
	at := map[string]int{}
	var out []served
	for _, r := range c.reqs {
		i, ok := at[r.path]
		if !ok {
			at[r.path] = len(out)
			out = append(out, r)
		} else if r.bytes > out[i].bytes {
			out[i].bytes = r.bytes
		}
	}
	return out
}

// sum returns the bytes of every file.
func sum(files []served) int64 {
	var n int64
	for _, f := range files {
		n += f.bytes
	}
	return n
}

// quiet waits until no response has ended for d (at most 30 s).
func (c *counter) quiet(d time.Duration) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		idle := time.Since(c.last)
		c.mu.Unlock()
		if idle >= d {
			return
		}
		time.Sleep(d - idle)
	}
}
