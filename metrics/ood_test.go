package metrics

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestEvaluateOOD(t *testing.T) {
	in := []float64{1, 2, 3}
	r, err := EvaluateOOD(2.5, in, []string{"far", "mixed"}, [][]float64{{10, 11}, {2.5, 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"in flagged", r.InFlagged, 1.0 / 3},
		{"far AUROC", r.Kinds[0].AUROC, 1},
		{"far flagged", r.Kinds[0].Flagged, 1},
		{"mixed AUROC", r.Kinds[1].AUROC, 2.0 / 6},
		{"mixed flagged", r.Kinds[1].Flagged, 0},
		{"all AUROC", r.AUROC, (6 + 2.0) / 12},
	} {
		if math.Abs(tc.got-tc.want) > 1e-12 {
			t.Errorf("%s = %g, want %g", tc.name, tc.got, tc.want)
		}
	}
	for _, bad := range []struct {
		in    []float64
		kinds []string
		out   [][]float64
	}{
		{nil, []string{"a"}, [][]float64{{1}}},
		{in, []string{"a", "b"}, [][]float64{{1}}},
		{in, []string{"a"}, [][]float64{{}}},
	} {
		if _, err := EvaluateOOD(1, bad.in, bad.kinds, bad.out); err == nil {
			t.Errorf("%v %v %v: no error", bad.in, bad.kinds, bad.out)
		}
	}
}

func TestOODInReportJSONAndText(t *testing.T) {
	rep, err := Evaluate([]int{0, 1, 2, 3}, [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if err := rep.WriteJSON(&plain); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plain.String(), `"ood_auroc": null`) {
		t.Errorf("no evaluation: want ood_auroc null in\n%s", plain.String())
	}
	rep.OOD, err = EvaluateOOD(2.5, []float64{1, 2, 3}, []string{"noise"}, [][]float64{{4, 2}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b.Bytes(), &obj); err != nil {
		t.Fatal(err)
	}
	if got := obj["ood_auroc"]; got != rep.OOD.AUROC {
		t.Errorf("ood_auroc = %v, want %v", got, rep.OOD.AUROC)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.OOD == nil || back.OOD.Kinds[0] != rep.OOD.Kinds[0] || back.OOD.InFlagged != rep.OOD.InFlagged {
		t.Errorf("read back %+v, want %+v", back.OOD, rep.OOD)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "noise") || !strings.Contains(text.String(), "AUROC") {
		t.Errorf("text lacks the OOD lines:\n%s", text.String())
	}
	rep.OOD = &OODReport{}
	text.Reset()
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "unavailable") {
		t.Errorf("unavailable statistics not said:\n%s", text.String())
	}
}
