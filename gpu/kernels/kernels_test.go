package kernels

import (
	"os"
	"strings"
	"testing"
)

// Every .cu has a PTX made from exactly the sources and flags here: a changed .cu or .cuh, or
// changed flags in gen.sh, fails until `go generate ./gpu/kernels` is run.
func TestPTXIsCurrent(t *testing.T) {
	gen, err := os.ReadFile("gen.sh")
	if err != nil {
		t.Fatal(err)
	}
	var flags string
	for _, l := range strings.Split(string(gen), "\n") {
		if v, ok := strings.CutPrefix(l, `FLAGS="`); ok {
			flags = strings.TrimSuffix(v, `"`)
		}
	}
	if flags == "" {
		t.Fatal("gen.sh has no FLAGS line")
	}
	if len(Names()) == 0 {
		t.Fatal("no kernel sources embedded")
	}
	for _, name := range Names() {
		ptx, err := PTX(name)
		if err != nil {
			t.Fatal(err)
		}
		h, err := ReadHeader(ptx)
		if err != nil {
			t.Fatalf("%s.ptx: %v", name, err)
		}
		want, err := SourceSHA256(name, flags)
		if err != nil {
			t.Fatal(err)
		}
		if h.Flags != flags || h.SourceSHA256 != want {
			t.Errorf("%s.ptx is stale (made from %s with %q; the sources now hash to %s with %q): run go generate ./gpu/kernels",
				name, h.SourceSHA256[:12], h.Flags, want[:12], flags)
		}
		if len(Signatures(ptx)) == 0 {
			t.Errorf("%s.ptx defines no kernel", name)
		}
	}
}

// The check can fail: a one-byte change to a source changes its hash.
func TestSourceHashSeesChanges(t *testing.T) {
	a, _ := SourceSHA256("kl", "-ptx")
	b, _ := SourceSHA256("kl", "-ptx ")
	c, _ := SourceSHA256("gae", "-ptx")
	if a == b || a == c {
		t.Errorf("hashes do not depend on flags or source: %s %s %s", a, b, c)
	}
}
