package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeUsage(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	noWasm := t.TempDir()
	if err := os.WriteFile(filepath.Join(noWasm, "index.html"), []byte("<!doctype html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"serve", "-dir", filepath.Join(empty, "nope")}, 1, "run make build first"},
		{[]string{"serve", "-dir", empty}, 1, "index.html is missing"},
		{[]string{"serve", "-dir", noWasm}, 1, "papscope.wasm is missing: the site is not built (run make build first)"},
		{[]string{"serve", "-dir", noWasm, "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"serve", "-port", "80"}, 2, "flag provided but not defined"},
	}
	for _, tt := range tests {
		_, stderr, st := runCLI(t, tt.args...)
		if st != tt.status || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: status %d, stderr %q; want %d containing %q", tt.args, st, stderr, tt.status, tt.want)
		}
	}
}

// TestServeSite serves a built-looking site on a free loopback port, fetches
// from it, and stops it as Ctrl-C would: at once when no request is in
// flight, and after the grace period, closing it, when a client is stuck
// half-way through a request.
func TestServeSite(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		stuck    bool
		wantLast string
	}{
		{"idle", false, "stopped"},
		{"a request in flight", true, "stopped (connections still open after 5 s were closed)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			serveAndStop(t, tc.stuck, tc.wantLast)
		})
	}
}

// serveAndStop runs serveSite, fetches two files, optionally leaves a
// connection half-way through a request, interrupts it and checks its last line.
func serveAndStop(t *testing.T, stuck bool, wantLast string) {
	dir := t.TempDir()
	for name, data := range map[string]string{"index.html": "<!doctype html><title>papscope</title>", "papscope.wasm": "\x00asm\x01\x00\x00\x00"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	done := make(chan error, 1)
	go func() {
		done <- serveSite(ctx, "127.0.0.1:0", dir, pw)
		pw.Close()
	}()

	var url string
	select {
	case line := <-lines:
		i := strings.Index(line, "http://127.0.0.1:")
		if i < 0 {
			t.Fatalf("first line %q names no loopback URL", line)
		}
		url = strings.Fields(line[i:])[0]
	case err := <-done:
		t.Fatalf("serveSite returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serveSite printed no address in 10s")
	}

	for path, ctype := range map[string]string{"": "text/html; charset=utf-8", "papscope.wasm": "application/wasm"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ctype || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s%s: %s, Content-Type %q, CSP %q", url, path, resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Security-Policy"))
		}
	}

	if stuck {
		c, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(url, "/"), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil { // no blank line: the request never ends
			t.Fatal(err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serveSite after shutdown: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serveSite did not stop within 60 s of the interrupt")
	}
	if last := <-lines; last != wantLast {
		t.Errorf("after shutdown printed %q, want %q", last, wantLast)
	}
	if _, err := http.Get(url); err == nil {
		t.Errorf("the server still answers after shutdown")
	}
}

// TestAddresses: the server prints addresses one can type, never a wildcard
// such as [::]:8080, and says what plain HTTP on the network costs.
func TestAddresses(t *testing.T) {
	t.Parallel()
	lan := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("192.168.1.20"), net.ParseIP("fe80::1"), net.ParseIP("2001:db8::5")}
	for _, tc := range []struct {
		addr    *net.TCPAddr
		want    []string
		notWant []string
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8080}, []string{"http://127.0.0.1:8080/"}, []string{"HTTPS"}},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8081}, []string{"http://localhost:8081/", "http://192.168.1.20:8081/", "offline use needs HTTPS"}, []string{"0.0.0.0", "fe80", "127.0.0.1", "2001:db8"}},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8082}, []string{"http://localhost:8082/", "http://192.168.1.20:8082/", "http://[2001:db8::5]:8082/"}, []string{"[::]", "fe80"}},
		{&net.TCPAddr{IP: net.ParseIP("192.168.1.20"), Port: 80}, []string{"http://192.168.1.20:80/", "HTTPS"}, nil},
	} {
		out := strings.Join(addresses(tc.addr, lan), "\n")
		checkSays(t, tc.addr.String(), out, tc.want, tc.notWant)
	}
}
