package results

import (
	"strconv"
	"strings"
	"testing"

	"papscope/nn"
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
	const head = "file,top_class,HSIL,LSIL,NILM,SCC,ood_score,in_distribution,error,weights,input_size,classified_at\n"
	run := Run{Weights: "papscope.safetensors", Input: "128x96", At: "2026-12-04T22:00:00Z"}
	const tail = ",papscope.safetensors,128x96,2026-12-04T22:00:00Z\n"
	for _, tc := range []struct {
		name string
		rows []Row
		want string
	}{
		{"empty", nil, head},
		{"rows", []Row{
			{File: "a.png", Top: "NILM", Probs: [4]float32{0.1, 0.2, 0.6, 0.1}, OOD: &OOD{Score: 0.5, In: true}},
			{File: "b, c.png", Top: "HSIL", Probs: [4]float32{1, 0, 0, 0}, OOD: &OOD{Score: 12.25, In: false}},
			{File: "d.png", Top: "SCC", Probs: [4]float32{0, 0, 0, 1}},
		}, head +
			"a.png,NILM,0.1,0.2,0.6,0.1,0.5,yes," + tail +
			"\"b, c.png\",HSIL,1,0,0,0,12.25,no," + tail +
			"d.png,SCC,0,0,0,1,,," + tail},
		{"failed", []Row{{File: "notes.png", Error: "not a recognised image"}}, head + "notes.png,,,,,,,,not a recognised image" + tail},
		{"formula", []Row{{File: "=cmd.png", Top: "SCC", Probs: [4]float32{0, 0, 0, 1}}, {File: "x.png", Error: "-bad"}}, head +
			"'=cmd.png,SCC,0,0,0,1,,," + tail + "x.png,,,,,,,,'-bad" + tail},
	} {
		var b strings.Builder
		if err := WriteCSV(&b, run, tc.rows); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.name, b.String(), tc.want)
		}
	}
}

func TestHeaderNamesTheClassesInOrder(t *testing.T) {
	if got, want := strings.Join(Header[2:6], ","), strings.Join(nn.ClassNames(), ","); got != want {
		t.Errorf("Header's probability columns %s, want the classes in order %s", got, want)
	}
}
