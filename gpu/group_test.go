package gpu

import (
	"slices"
	"testing"
)

// groupRows lists each token's rows in ascending order (the CPU's order of the sums), skips the
// rows without a token, and sizes start so that the kernel's loops stay inside rows.
func TestGroupRowsKeepsRowOrder(t *testing.T) {
	tok := []int32{5, -1, 2, 5, 9, 2, -2, 5}
	got, U := groupRows(tok)
	want := []int32{
		2, 5, 9, // uniq
		0, 2, 5, 6, // start
		2, 5, 0, 3, 7, 4, // rows of 2, of 5, of 9
	}
	if U != 3 || !slices.Equal(got, want) {
		t.Errorf("groupRows(%v) = %v, %d; want %v, 3", tok, got, U, want)
	}
	if got, U := groupRows([]int32{-1, -2}); U != 0 || !slices.Equal(got, []int32{0}) {
		t.Errorf("no tokens: %v, %d", got, U)
	}
}
