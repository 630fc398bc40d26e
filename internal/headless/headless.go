// Package headless finds Chromium and sets it up the way papscope's browser
// tests (e2e/) and benchmark (bench/) drive it: headless, with the flags
// docs/DESIGN.md fixes for running as root, in a user-data dir of its own.
package headless

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"
)

// flags are the switches docs/DESIGN.md fixes for headless Chromium run as root.
func flags() []string {
	return []string{
		"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
		"disable-background-networking", "disable-component-update", "disable-sync",
	}
}

// Find returns the Chromium to drive: explicit when it is not empty, else
// $CHROME, else the first of chromium, chromium-browser, google-chrome and
// google-chrome-stable on PATH. Its error says how to install one.
func Find(explicit string) (string, error) {
	for _, c := range []struct{ name, value string }{{"the -chrome flag", explicit}, {"CHROME", os.Getenv("CHROME")}} {
		if c.value == "" {
			continue
		}
		p, err := exec.LookPath(c.value)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w (leave it unset to use chromium from PATH)", c.name, c.value, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium: install Debian's package (as root: apt-get update && apt-get install -y chromium, " +
		"or make chromium), or set CHROME to a Chrome or Chromium binary")
}

// Options returns the allocator options that start chrome headless with
// docs/DESIGN.md's flags and profile as its user-data dir (use a fresh one per
// run), followed by extra.
func Options(chrome, profile string, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(chrome), chromedp.UserDataDir(profile)}
	for _, f := range flags() {
		opts = append(opts, chromedp.Flag(f, true))
	}
	return append(opts, extra...)
}
