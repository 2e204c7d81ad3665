package testenv

import "testing"

func TestRequired(t *testing.T) {
	for _, c := range []struct {
		ci, own string
		want    bool
	}{
		{"", "", false}, {"", "1", true}, {"", "0", false}, {"true", "", true}, {"1", "", true},
		{"0", "", false}, {"false", "", false}, {"FALSE", "", false}, {"yes", "", true},
	} {
		t.Setenv("CI", c.ci)
		t.Setenv("VRLAIF_REQUIRE_X", c.own)
		if got := Required("VRLAIF_REQUIRE_X"); got != c.want {
			t.Errorf("CI=%q own=%q: %v, want %v", c.ci, c.own, got, c.want)
		}
	}
}
