package headless

import (
	"os/exec"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, explicit, env string
		want, wantErr       string // want: the path; wantErr: a part of the error
	}{
		{"explicit wins over CHROME", sh, "/no/such/chrome", sh, ""},
		{"CHROME when no explicit one", "", sh, sh, ""},
		{"a missing explicit binary", "/no/such/chrome", "", "", "the -chrome flag=/no/such/chrome"},
		{"a missing CHROME", "", "/no/such/chrome", "", "CHROME=/no/such/chrome"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CHROME", tc.env)
			got, err := Find(tc.explicit)
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Find = %q, %v; want an error with %q", got, err, tc.wantErr)
			case tc.wantErr == "" && (err != nil || got != tc.want):
				t.Errorf("Find = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestFindSaysHowToInstall(t *testing.T) {
	t.Setenv("CHROME", "")
	t.Setenv("PATH", t.TempDir())
	_, err := Find("")
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y chromium") {
		t.Errorf("error %v, want one saying how to install Chromium", err)
	}
}

func TestOptionsCarryEveryDesignFlag(t *testing.T) {
	base := len(Options("chrome", "profile"))
	if want := 2 + 8; base != want {
		t.Errorf("%d options, want the binary, the profile and 8 flags", base)
	}
	if n := len(Options("chrome", "profile", nil, nil)); n != base+2 {
		t.Errorf("%d options with 2 extra, want %d", n, base+2)
	}
	got := strings.Join(flags(), " ")
	for _, f := range []string{"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
		"disable-background-networking", "disable-component-update", "disable-sync"} {
		if !strings.Contains(got, f) {
			t.Errorf("flag %s missing from %s", f, got)
		}
	}
}
