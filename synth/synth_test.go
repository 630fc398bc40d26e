package synth

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"papscope/nn"
)

var updateSheets = flag.Bool("update-sheets", false, "rewrite testdata/contact_<CLASS>.png")

func TestDeterminism(t *testing.T) {
	opt := Options{Width: 160, Height: 120}
	for c := range nn.Class(nn.NumClasses) {
		t.Run(c.String(), func(t *testing.T) {
			a, sa := Render(c, 42, opt)
			b, sb := Render(c, 42, opt)
			if !bytes.Equal(a.Pix, b.Pix) || sa != sb {
				t.Fatal("same seed gave different fields")
			}
			d := Field(c, 43, opt)
			if bytes.Equal(a.Pix, d.Pix) {
				t.Fatal("different seeds gave the same field")
			}
		})
	}
	if bytes.Equal(Field(nn.NILM, 7, opt).Pix, Field(nn.HSIL, 7, opt).Pix) {
		t.Fatal("different classes gave the same field")
	}
}

func TestSize(t *testing.T) {
	tests := []struct {
		opt  Options
		w, h int
	}{
		{Options{}, 640, 480},
		{Options{Width: 299, Height: 299}, 299, 299},
		{Options{Width: 1024, Height: 768}, 1024, 768},
		{Options{Width: 64}, 64, 480},
	}
	for _, tt := range tests {
		img := Field(nn.SCC, 1, tt.opt)
		if got := img.Bounds(); got != image.Rect(0, 0, tt.w, tt.h) {
			t.Errorf("%+v: bounds %v, want %dx%d", tt.opt, got, tt.w, tt.h)
		}
	}
}

// classStats averages Stats over n fields of each class.
func classStats(n int) [nn.NumClasses]Stats {
	var out [nn.NumClasses]Stats
	opt := Options{Width: 320, Height: 240}
	for c := range nn.Class(nn.NumClasses) {
		var m Stats
		for i := range n {
			_, s := Render(c, uint64(100+i), opt)
			if s.Defining == 0 {
				panic("field without defining cells")
			}
			m.Cells += s.Cells
			m.Defining += s.Defining
			m.MeanNuclearArea += s.MeanNuclearArea / float64(n)
			m.NCRatio += s.NCRatio / float64(n)
			m.HaloFraction += s.HaloFraction / float64(n)
			m.KeratinFraction += s.KeratinFraction / float64(n)
		}
		out[c] = m
	}
	return out
}

func TestClassFeatures(t *testing.T) {
	const n = 20
	st := classStats(n)
	for c := range nn.Class(nn.NumClasses) {
		s := st[c]
		t.Logf("%-4s cells/field %5.1f  defining %5.1f  nuclear area %6.1f px²  N:C %.3f  halo %.3f  keratin %.3f",
			c, float64(s.Cells)/float64(n), float64(s.Defining)/float64(n), s.MeanNuclearArea, s.NCRatio, s.HaloFraction, s.KeratinFraction)
	}
	ratio := st[nn.LSIL].MeanNuclearArea / st[nn.NILM].MeanNuclearArea
	checks := []struct {
		name string
		ok   bool
	}{
		{"LSIL nuclear area 2.5–4× NILM", ratio >= 2.5 && ratio <= 4},
		{"N:C HSIL > LSIL", st[nn.HSIL].NCRatio > st[nn.LSIL].NCRatio},
		{"N:C LSIL > NILM", st[nn.LSIL].NCRatio > st[nn.NILM].NCRatio},
		{"N:C HSIL ≥ 0.4", st[nn.HSIL].NCRatio >= 0.4},
		{"halo LSIL ≥ 0.25", st[nn.LSIL].HaloFraction >= 0.25},
		{"halo others ≤ 0.02", st[nn.HSIL].HaloFraction <= 0.02 && st[nn.NILM].HaloFraction <= 0.02 && st[nn.SCC].HaloFraction <= 0.02},
		{"keratin SCC ≥ 0.15", st[nn.SCC].KeratinFraction >= 0.15},
		{"keratin others ≤ 0.02", st[nn.HSIL].KeratinFraction <= 0.02 && st[nn.LSIL].KeratinFraction <= 0.02 && st[nn.NILM].KeratinFraction <= 0.02},
	}
	t.Logf("LSIL/NILM nuclear area ratio %.2f", ratio)
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: failed", c.name)
		}
	}
}

// Abnormal fields always hold abnormal cells, and normal cells beside them.
func TestAbnormalFieldsMixed(t *testing.T) {
	opt := Options{Width: 320, Height: 240}
	for _, c := range []nn.Class{nn.HSIL, nn.LSIL, nn.SCC} {
		for seed := range uint64(15) {
			_, s := Render(c, seed, opt)
			if s.Defining < 3 || s.Cells-s.Defining < 3 {
				t.Errorf("%s seed %d: %d abnormal of %d cells", c, seed, s.Defining, s.Cells)
			}
		}
	}
}

func TestWriteDataset(t *testing.T) {
	tests := []struct {
		name   string
		counts [nn.NumClasses]int
	}{
		{"balanced", Balanced(2)},
		{"counts", [nn.NumClasses]int{1, 0, 3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opt := Options{Width: 96, Height: 72}
			if err := WriteDataset(dir, tt.counts, 9, opt); err != nil {
				t.Fatal(err)
			}
			for c := range nn.Class(nn.NumClasses) {
				ents, err := os.ReadDir(filepath.Join(dir, c.String()))
				if err != nil {
					t.Fatal(err)
				}
				if len(ents) != tt.counts[c] {
					t.Fatalf("%s: %d files, want %d", c, len(ents), tt.counts[c])
				}
				for i := range tt.counts[c] {
					data, err := os.ReadFile(filepath.Join(dir, c.String(), ImageName(c, i)))
					if err != nil {
						t.Fatal(err)
					}
					img, err := png.Decode(bytes.NewReader(data))
					if err != nil {
						t.Fatal(err)
					}
					want := Field(c, ImageSeed(9, c, i), opt)
					got := image.NewNRGBA(img.Bounds())
					for y := range 72 {
						for x := range 96 {
							got.Set(x, y, img.At(x, y))
						}
					}
					if !bytes.Equal(got.Pix, want.Pix) {
						t.Fatalf("%s: not Field(%s, ImageSeed(9, %d))", ImageName(c, i), c, i)
					}
				}
			}
		})
	}
	if err := WriteDataset(t.TempDir(), [nn.NumClasses]int{-1}, 1, Options{}); err == nil {
		t.Error("negative count: no error")
	}
	if ImageName(nn.NILM, 7) != "NILM_0007.png" {
		t.Errorf("ImageName = %q", ImageName(nn.NILM, 7))
	}
}

// TestContactSheets checks the contact sheets and, with -update-sheets, rewrites
// testdata/contact_<CLASS>.png (look at them when the renderer changes).
func TestContactSheets(t *testing.T) {
	for c := range nn.Class(nn.NumClasses) {
		sheet := ContactSheet(c, 1, 8, 176)
		if b := sheet.Bounds(); b.Dx() != 4*176+5*4 || b.Dy() != 24+2*(132+4) {
			t.Errorf("%s: sheet %v", c, b)
		}
		path := filepath.Join("testdata", "contact_"+c.String()+".png")
		if *updateSheets {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := writePNG(path, sheet); err != nil {
				t.Fatal(err)
			}
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("%v (run go test -run ContactSheets -update-sheets)", err)
		}
		if fi.Size() > 300<<10 {
			t.Errorf("%s: %d bytes, want < 300 KB", path, fi.Size())
		}
	}
}

func BenchmarkField(b *testing.B) {
	for _, c := range []nn.Class{nn.HSIL, nn.LSIL, nn.NILM, nn.SCC} {
		b.Run(c.String(), func(b *testing.B) {
			for i := range b.N {
				Field(c, uint64(i), Options{})
			}
		})
	}
}
