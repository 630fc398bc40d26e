package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"papscope/nn"
	"papscope/synth"
)

// runSynth writes a synthetic LBC dataset: N fields per class (or per-class
// counts) as DIR/HSIL/HSIL_0000.png, …, deterministic from the seed.
func runSynth(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("synth", stderr)
	n := fs.Int("n", 10, "images per class")
	seed := fs.Uint64("seed", 1, "dataset seed: the same seed writes the same images")
	out := fs.String("o", "", "output directory (required); class folders are made inside it")
	size := fs.String("size", "640x480", "image size WxH")
	countsFlag := fs.String("counts", "", "per-class counts overriding -n, e.g. HSIL=50,LSIL=50,NILM=200,SCC=30")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *out == "" {
		return fmt.Errorf("%w: -o DIR is required", errUsage)
	}
	if *n < 0 {
		return fmt.Errorf("%w: -n %d: must not be negative", errUsage, *n)
	}
	w, h, err := parseSize(*size)
	if err != nil {
		return fmt.Errorf("%w: -size: %v", errUsage, err)
	}
	counts := synth.Balanced(*n)
	if *countsFlag != "" {
		if err := parseCounts(*countsFlag, &counts); err != nil {
			return fmt.Errorf("%w: -counts: %v", errUsage, err)
		}
	}
	if err := synth.WriteDataset(*out, counts, *seed, synth.Options{Width: w, Height: h}); err != nil {
		return err
	}
	total := 0
	parts := make([]string, nn.NumClasses)
	for c := range nn.Class(nn.NumClasses) {
		total += counts[c]
		parts[c] = fmt.Sprintf("%s %d", c, counts[c])
	}
	fmt.Fprintf(stdout, "wrote %d synthetic %dx%d images to %s (%s), seed %d\n", total, w, h, *out, strings.Join(parts, ", "), *seed)
	return nil
}

// parseSize parses "WxH".
func parseSize(s string) (int, int, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	if !ok {
		return 0, 0, fmt.Errorf("%q: want WxH, e.g. 640x480", s)
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || w < 16 || h < 16 || w > 8192 || h > 8192 {
		return 0, 0, fmt.Errorf("%q: want WxH with sides from 16 to 8192", s)
	}
	return w, h, nil
}

// parseCounts parses "HSIL=50,LSIL=50,..." into counts; classes not named keep their count.
func parseCounts(s string, counts *[nn.NumClasses]int) error {
	for item := range strings.SplitSeq(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return fmt.Errorf("%q: want CLASS=N", item)
		}
		c, err := nn.ParseClass(strings.TrimSpace(name))
		if err != nil {
			return err
		}
		k, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || k < 0 {
			return fmt.Errorf("%q: count must be a non-negative integer", item)
		}
		counts[c] = k
	}
	return nil
}
