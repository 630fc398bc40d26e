package synth

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"runtime"

	"papscope/internal/parallel"
	"papscope/nn"
)

// Balanced returns counts of n images for every class.
func Balanced(n int) [nn.NumClasses]int {
	var c [nn.NumClasses]int
	for i := range c {
		c[i] = n
	}
	return c
}

// ImageSeed is the seed of image i of class c in a dataset written with the given seed.
func ImageSeed(seed uint64, c nn.Class, i int) uint64 {
	x := seed ^ uint64(c+1)<<56 ^ uint64(i)*0x9e3779b97f4a7c15
	// splitmix64 finaliser
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// ImageName is the file name of image i of class c: <class>_<index>.png.
func ImageName(c nn.Class, i int) string { return fmt.Sprintf("%s_%04d.png", c, i) }

// WriteDataset writes counts[c] PNG fields of each class c under dir/<CLASS>/,
// named by ImageName, image i of class c being Field(c, ImageSeed(seed, c, i), opt).
// It renders in parallel; the files are the same whatever the parallelism.
func WriteDataset(dir string, counts [nn.NumClasses]int, seed uint64, opt Options) error {
	type job struct {
		c nn.Class
		i int
	}
	var jobs []job
	for c := range nn.Class(nn.NumClasses) {
		if counts[c] < 0 {
			return fmt.Errorf("synth: negative count %d for %s", counts[c], c)
		}
		if err := os.MkdirAll(filepath.Join(dir, c.String()), 0o755); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
		for i := range counts[c] {
			jobs = append(jobs, job{c, i})
		}
	}
	return parallel.For(context.Background(), len(jobs), runtime.GOMAXPROCS(0), func(_ context.Context, _, k int) error {
		j := jobs[k]
		path := filepath.Join(dir, j.c.String(), ImageName(j.c, j.i))
		return writePNG(path, Field(j.c, ImageSeed(seed, j.c, j.i), opt))
	})
}

func writePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("synth: encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}
