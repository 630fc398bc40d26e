package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	bi, ok := debug.ReadBuildInfo()
	_, err := io.WriteString(stdout, versionText(bi, ok))
	return err
}

// versionText describes the build from its build information (ok false
// when the binary carries none): the main module's version, the VCS
// revision, its time and whether the tree had uncommitted changes, and the
// Go version; "unknown" for what the build did not record.
func versionText(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return fmt.Sprintf("papscope: version unknown (no build information)\ngo: %s\n", runtime.Version())
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	vcs := map[string]string{}
	for _, s := range bi.Settings {
		if strings.HasPrefix(s.Key, "vcs.") {
			vcs[s.Key] = s.Value
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "papscope %s\n", version)
	switch rev := vcs["vcs.revision"]; {
	case rev == "":
		b.WriteString("revision: unknown\n")
	case vcs["vcs.modified"] == "true":
		fmt.Fprintf(&b, "revision: %s (modified: uncommitted changes)\n", rev)
	default:
		fmt.Fprintf(&b, "revision: %s\n", rev)
	}
	if t := vcs["vcs.time"]; t != "" {
		fmt.Fprintf(&b, "commit time: %s\n", t)
	}
	goVersion := bi.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	fmt.Fprintf(&b, "go: %s\n", goVersion)
	return b.String()
}
