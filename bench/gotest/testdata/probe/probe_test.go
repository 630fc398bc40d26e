// Package probe is a test binary for gotest's own test: it passes or fails as
// its -fail flag says, printing a marker either way.
package probe

import (
	"flag"
	"testing"
)

var fail = flag.Bool("fail", false, "fail the test")

func TestProbe(t *testing.T) {
	t.Log("probe ran in", "the browser")
	if *fail {
		t.Error("failing as asked")
	}
}
