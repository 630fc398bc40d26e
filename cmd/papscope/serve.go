package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"papscope/internal/serve"
)

// siteFiles are the files a built site must have; `make build` makes them.
var siteFiles = []string{"index.html", "papscope.wasm"}

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	addr := fs.String("addr", serve.DefaultAddr, "address to listen on (the default is reachable from this machine only)")
	dir := fs.String("dir", "web", "the built site's directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveSite(ctx, *addr, *dir, stdout)
}

// checkSite reports a site directory that is missing or not built.
func checkSite(dir string) error {
	for _, name := range siteFiles {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%s is missing: the site is not built (run make build first)", p)
			}
			return fmt.Errorf("site: %w", err)
		}
	}
	return nil
}

// addresses says where the site can be opened, as addresses one can type:
// the address listened on, or for a wildcard address (0.0.0.0, ::) localhost
// and each of the machine's network addresses ips, with what a plain-HTTP
// network address costs: browsers run service workers (offline use) only
// on localhost or over HTTPS.
func addresses(a *net.TCPAddr, ips []net.IP) []string {
	port := fmt.Sprint(a.Port)
	if !a.IP.IsUnspecified() {
		line := fmt.Sprintf("serving at http://%s/ (Ctrl-C stops)", net.JoinHostPort(a.IP.String(), port))
		if !a.IP.IsLoopback() {
			line += "\n  plain HTTP on a network address: the page works, but browsers keep it offline-capable only over HTTPS (see the README)"
		}
		return []string{line}
	}
	lines := []string{fmt.Sprintf("serving at http://localhost:%s/ on this machine (Ctrl-C stops)", port)}
	for _, ip := range ips {
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || (a.IP.To4() != nil && ip.To4() == nil) {
			continue
		}
		lines = append(lines, fmt.Sprintf("  and at http://%s/ from other devices on the network", net.JoinHostPort(ip.String(), port)))
	}
	if len(lines) > 1 {
		lines = append(lines, "  (plain HTTP there: the page works, but offline use needs HTTPS; see the README)")
	}
	return lines
}

// localIPs returns this machine's interface addresses (none if they cannot be read).
func localIPs() []net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ips = append(ips, n.IP)
		}
	}
	return ips
}

// serveSite serves dir on addr until ctx is done, then shuts down gracefully,
// letting requests in flight finish for a few seconds.
func serveSite(ctx context.Context, addr, dir string, stdout io.Writer) error {
	if err := checkSite(dir); err != nil {
		return err
	}
	h, err := serve.New(dir)
	if err != nil {
		return err
	}
	defer h.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	for _, line := range addresses(ln.Addr().(*net.TCPAddr), localIPs()) {
		fmt.Fprintln(stdout, line)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Requests in flight get a grace period to finish; after it the remaining
	// connections are closed, so that a stop always stops (a slow client or a
	// loaded machine must not turn Ctrl-C into an error).
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("shutdown: %w", err)
		}
		if err := srv.Close(); err != nil {
			return fmt.Errorf("shutdown: closing the connections left after the grace period: %w", err)
		}
		fmt.Fprintln(stdout, "stopped (connections still open after 5 s were closed)")
		return nil
	}
	fmt.Fprintln(stdout, "stopped")
	return nil
}
