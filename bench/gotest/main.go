// Command gotest runs a Go test binary built for js/wasm in headless Chromium,
// so that kernels are timed by the JavaScript engine the site runs on, not
// Node's. It is a `go test -exec` program:
//
//	go build -o bin/gotest-chromium ./bench/gotest
//	GOOS=js GOARCH=wasm go test -exec "$PWD/bin/gotest-chromium" -run '^$' -bench . ./nn
//
// The page has no file system, so it suits benchmarks and tests that read no
// files. The binary's output is printed as it comes; gotest exits with its
// exit code.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"papscope/internal/headless"
)

// page and script run the test binary with the arguments in the page's query
// string and report "gotest: exit N" on the console when the binary ends.
var (
	//go:embed page.html
	page []byte
	//go:embed run.js
	script []byte
)

// timeout bounds one test binary's run.
const timeout = 30 * time.Minute

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gotest TEST_BINARY.wasm [ARGS...] (as go test -exec; see the package comment)")
		os.Exit(2)
	}
	code, err := run(os.Args[1], os.Args[2:], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gotest:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// run serves the binary with wasm_exec.js beside the page, opens the page in
// Chromium, copies the binary's output to out and returns its exit code.
func run(binary string, args []string, out io.Writer) (int, error) {
	wasm, err := os.ReadFile(binary)
	if err != nil {
		return 0, err
	}
	glue, err := wasmExec()
	if err != nil {
		return 0, err
	}
	files := map[string]struct {
		body []byte
		mime string
	}{
		"/":             {page, "text/html; charset=utf-8"},
		"/run.js":       {script, "text/javascript"},
		"/wasm_exec.js": {glue, "text/javascript"},
		"/test.wasm":    {wasm, "application/wasm"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.mime)
		w.Write(f.body)
	}))
	defer srv.Close()

	chrome, err := headless.Find("")
	if err != nil {
		return 0, err
	}
	profile, err := os.MkdirTemp("", "papscope-gotest-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(profile)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), headless.Options(chrome, profile)...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	defer cancelTimeout()

	if err := chromedp.Do(ctx); err != nil { // start Chromium and open a tab
		return 0, fmt.Errorf("starting %s: %w", chrome, err)
	}
	exit := make(chan int, 1)
	err = chromedp.Listen(ctx, func(ev any) {
		e, ok := ev.(*cdpruntime.EventConsoleAPICalled)
		if !ok {
			return
		}
		line := consoleText(e)
		var code int
		if _, err := fmt.Sscanf(line, "gotest: exit %d", &code); err == nil {
			exit <- code
			return
		}
		fmt.Fprintln(out, line)
	})
	if err != nil {
		return 0, err
	}
	argv, err := json.Marshal(args)
	if err != nil {
		return 0, err
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?args="+url.QueryEscape(string(argv)))); err != nil {
		return 0, err
	}
	select {
	case code := <-exit:
		return code, nil
	case <-ctx.Done():
		return 0, errors.New("the test binary did not finish within " + timeout.String())
	}
}

// wasmExec returns the wasm_exec.js of the Go toolchain that built the test
// binary: the go command on PATH, which runs this program as go test -exec.
func wasmExec() ([]byte, error) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %w", err)
	}
	glue, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return nil, fmt.Errorf("the Go toolchain's wasm_exec.js: %w", err)
	}
	return glue, nil
}

// consoleText joins a console call's arguments as console.log prints them.
func consoleText(e *cdpruntime.EventConsoleAPICalled) string {
	parts := make([]string, len(e.Args))
	for i, a := range e.Args {
		var s string
		if json.Unmarshal(a.Value, &s) != nil {
			s = string(a.Value)
		}
		parts[i] = s
	}
	return strings.Join(parts, " ")
}
