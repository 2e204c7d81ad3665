package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The seed's reward-model loss by hand: pair 1 prefers output_2 with r = (0, 1): logit 1,
// BCE = log(1+e^−1) = 0.313262; pair 2 prefers output_1 with r = (2, 0.5): logit −1.5,
// BCE = log(1+e^−1.5) = 0.201413 (softplus(−1.5) since y = 0). Mean 0.257338; centring
// 1e-3·|((0+1) + (2+0.5))/2| = 0.00175. Accuracy: both right.
func TestPairLossByHand(t *testing.T) {
	pairs := []RMPair{{Chosen: 2}, {Chosen: 1}}
	r := []float32{0, 1, 2, 0.5}
	loss, dr, acc := pairLoss(r, pairs)
	want := (math.Log1p(math.Exp(-1))+math.Log1p(math.Exp(-1.5)))/2 + 1e-3*1.75
	if math.Abs(loss-want) > 1e-9 || acc != 1 {
		t.Errorf("loss %v (want %v), accuracy %v", loss, want, acc)
	}
	// Gradient against central differences of the float64 loss (h 1e-3; the loss is smooth away
	// from centre = 0, so the error is O(h²) ≈ 1e-6; float32 storage of dr adds ~1e-7).
	for i := range r {
		h := float32(1e-3)
		rp := append([]float32(nil), r...)
		rm := append([]float32(nil), r...)
		rp[i] += h
		rm[i] -= h
		lp, _, _ := pairLoss(rp, pairs)
		lm, _, _ := pairLoss(rm, pairs)
		if fd := (lp - lm) / (2 * float64(h)); math.Abs(fd-float64(dr[i])) > 1e-5 {
			t.Errorf("d loss / d r[%d] = %v, finite differences %v", i, dr[i], fd)
		}
	}
	// A wrong preference counts against accuracy: r2 − r1 ≥ 0 says output_2.
	if _, _, acc := pairLoss([]float32{1, 1}, []RMPair{{Chosen: 1}}); acc != 0 {
		t.Errorf("a tie read as output_1: accuracy %v, want 0 (ties go to output_2, as ≥ does in the seed)", acc)
	}
}

func TestClipNorm(t *testing.T) {
	a, b := []float32{3, 0}, []float32{4}
	clipNorm(1, a, b)
	if n := math.Sqrt(float64(a[0]*a[0] + b[0]*b[0])); math.Abs(n-1) > 1e-5 || a[1] != 0 {
		t.Errorf("norm after clipping %v", n)
	}
	c := []float32{0.1}
	clipNorm(1, c)
	if c[0] != 0.1 {
		t.Error("a small gradient was scaled")
	}
}

// The held-out split and the training order do not depend on the order the pairs were read in.
func TestSplitPairsIgnoresReadOrder(t *testing.T) {
	var pairs []RMPair
	for i := range 50 {
		pairs = append(pairs, RMPair{ID: fmt.Sprintf("p%02d", i)})
	}
	ids := func(ps []RMPair) string {
		var b strings.Builder
		for _, p := range ps {
			b.WriteString(p.ID + ",")
		}
		return b.String()
	}
	h1, t1 := splitPairs(append([]RMPair(nil), pairs...), 0.1, rand.New(rand.NewPCG(42, 1)))
	reversed := append([]RMPair(nil), pairs...)
	slices.Reverse(reversed)
	h2, t2 := splitPairs(reversed, 0.1, rand.New(rand.NewPCG(42, 1)))
	if ids(h1) != ids(h2) || ids(t1) != ids(t2) || len(h1) != 5 {
		t.Errorf("split depends on read order:\n%s | %s\n%s | %s", ids(h1), ids(t1), ids(h2), ids(t2))
	}
}
