package results

import (
	"strconv"
	"strings"
	"testing"
)

func TestFormatProbRoundTrips(t *testing.T) {
	for _, p := range []float32{0, 1, 0.5, 0.1, 1e-7, 0.33333334, 0.99999994, 1.4e-45} {
		s := FormatProb(p)
		back, err := strconv.ParseFloat(s, 32)
		if err != nil || float32(back) != p {
			t.Errorf("FormatProb(%g) = %q, reads back as %g, %v", p, s, back, err)
		}
	}
	if got := FormatProb(0.1); got != "0.1" {
		t.Errorf("FormatProb(0.1) = %q, want the shortest form 0.1", got)
	}
}

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		p    float32
		want string
	}{
		{0, "0.0%"}, {1, "100.0%"}, {0.5, "50.0%"}, {0.1234, "12.3%"}, {0.0001, "<0.1%"}, {0.99999, ">99.9%"},
	} {
		if got := Percent(tc.p); got != tc.want {
			t.Errorf("Percent(%g) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestFormatProbs(t *testing.T) {
	if got, want := FormatProbs([4]float32{0.25, 0.5, 0.125, 0.125}), "0.25,0.5,0.125,0.125"; got != want {
		t.Errorf("FormatProbs = %q, want %q", got, want)
	}
}

func TestWriteCSV(t *testing.T) {
	for _, tc := range []struct {
		name string
		rows []Row
		want string
	}{
		{"empty", nil, "file,top_class,HSIL,LSIL,NILM,SCC\n"},
		{"rows", []Row{
			{"a.png", "NILM", [4]float32{0.1, 0.2, 0.6, 0.1}},
			{"b, c.png", "HSIL", [4]float32{1, 0, 0, 0}},
		}, "file,top_class,HSIL,LSIL,NILM,SCC\na.png,NILM,0.1,0.2,0.6,0.1\n\"b, c.png\",HSIL,1,0,0,0\n"},
		{"formula", []Row{{"=cmd.png", "SCC", [4]float32{0, 0, 0, 1}}}, "file,top_class,HSIL,LSIL,NILM,SCC\n'=cmd.png,SCC,0,0,0,1\n"},
	} {
		var b strings.Builder
		if err := WriteCSV(&b, tc.rows); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.name, b.String(), tc.want)
		}
	}
}
