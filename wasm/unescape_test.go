//go:build js && wasm

package main

import "testing"

func TestUnescape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"LSIL-1", "LSIL-1"},
		{"%4CSIL%2D2", "LSIL-2"},
		{"a%20b", "a b"},
		{"%e2%9c%93", "✓"},
		{"", ""},
		{"50%", "50%"},     // truncated escape: left as it is
		{"%4", "%4"},       // truncated escape
		{"%zz1", "%zz1"},   // not hex
		{"a%2", "a%2"},     // truncated at the end
		{"%%41", "%%41"},   // '%' is not hex
		{"+plus", "+plus"}, // a path, not a query: '+' stays
	} {
		if got := unescape(tc.in); got != tc.want {
			t.Errorf("unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
