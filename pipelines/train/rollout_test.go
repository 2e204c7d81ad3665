package train

import (
	"testing"

	"github.com/vrlaif/vrlaif/model/tokenizer"
)

func TestTruncate(t *testing.T) {
	tok, err := tokenizer.Train([]string{"What is it? It is red. Is it? Yes."}, 280)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(s string) []int32 {
		var out []int32
		for _, id := range tok.Encode(s) {
			out = append(out, int32(id))
		}
		return out
	}
	eos := int32(tok.EOSID())
	red := enc(" It is red.")
	q := enc(" Is it? Yes.")
	qmark := 0 // index of the token holding "?"
	for i, id := range q {
		if tok.Decode([]int{int(id)}) == "?" || len(tok.Decode([]int{int(id)})) > 0 && tok.Decode([]int{int(id)})[len(tok.Decode([]int{int(id)}))-1] == '?' {
			qmark = i
			break
		}
	}
	for _, c := range []struct {
		name    string
		resp    []int32
		quirk   bool
		n       int
		hasStop bool
	}{
		{"stop kept", append(append([]int32{}, red...), eos, 7, 7), true, len(red) + 1, true},
		{"no stop", red, true, len(red), false},
		{"question mark cuts and loses the stop", append(append([]int32{}, q...), eos), true, qmark + 1, false},
		{"quirk off keeps the stop", append(append([]int32{}, q...), eos), false, len(q) + 1, true},
	} {
		n, stop := Truncate(tok, c.resp, c.quirk)
		if n != c.n || stop != c.hasStop {
			t.Errorf("%s: kept %d (stop %v), want %d (stop %v)", c.name, n, stop, c.n, c.hasStop)
		}
	}
}
