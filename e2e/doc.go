// Package e2e holds papscope's browser tests: they serve the built site (web/,
// made by `make build`) with the serve package on 127.0.0.1, drive Debian's
// headless Chromium through it with chromedp, and check what a user sees
// against `papscope classify -json` on the same files.
//
// Run them with `make test-e2e`, or `go test ./e2e` after `make build`. They
// need Chromium (`apt-get install -y chromium`, or CHROME=/path/to/chrome); they
// fail, never skip, without it. A failing test saves a screenshot, the page's
// HTML, its console log and its requests to a folder it names (under
// $PAPSCOPE_E2E_ARTIFACTS, by default the system's temporary directory).
package e2e
