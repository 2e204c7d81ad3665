package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func promptFor(c Config, rng *rand.Rand, extra int) Prompt {
	b := tinyBatch(c, rng, 1, c.VideoTokens()+extra)
	return Prompt{Tokens: b.Tokens, VideoAt: 1, Patches: b.Patches}
}

// The KV-cache path must agree with the full forward pass: greedy generation token for token,
// and the reported log-probabilities with Score's teacher-forced ones. Both run the same float32
// math in a different order, so log-probabilities agree to 1e-4 (accumulated rounding over a few
// layers of sums of ~100 terms); the argmax tokens must be identical.
func TestGenerateMatchesFullForward(t *testing.T) {
	c := Tiny(24)
	m, _ := New(c, 4)
	rng := rand.New(rand.NewPCG(1, 9))
	for i := range m.W {
		m.W[i] *= 20 // sharper distributions than the tiny init
	}
	prompts := []Prompt{promptFor(c, rng, 3), promptFor(c, rng, 7)}
	out, err := m.Generate(prompts, SampleParams{MaxNew: 6, EOS: -1})
	if err != nil {
		t.Fatal(err)
	}
	for b, pr := range prompts {
		want, err := m.Greedy(pr.Tokens, pr.VideoAt, pr.Patches, 6, -1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out[b].Tokens, want) {
			t.Errorf("prompt %d: cached generation %v, full forward %v", b, out[b].Tokens, want)
		}
		lp, err := m.Score(pr, out[b].Tokens)
		if err != nil {
			t.Fatal(err)
		}
		for i := range lp {
			if math.Abs(float64(lp[i]-out[b].LogProbs[i])) > 1e-4 {
				t.Errorf("prompt %d token %d: logprob %g while generating, %g scored", b, i, out[b].LogProbs[i], lp[i])
			}
			if out[b].Entropies[i] < 0 || out[b].Entropies[i] > float32(math.Log(24))+1e-4 {
				t.Errorf("entropy %g outside [0, ln V]", out[b].Entropies[i])
			}
		}
	}
}

func TestSamplingIsSeeded(t *testing.T) {
	c := Tiny(24)
	m, _ := New(c, 5)
	rng := rand.New(rand.NewPCG(2, 9))
	prompts := []Prompt{promptFor(c, rng, 2), promptFor(c, rng, 4)}
	p := SampleParams{MaxNew: 10, Temperature: 1, TopP: 0.95, TopK: 20, Seed: 42, EOS: -1}
	a, _ := m.Generate(prompts, p)
	b, _ := m.Generate(prompts, p)
	for i := range a {
		if !slices.Equal(a[i].Tokens, b[i].Tokens) || !slices.Equal(a[i].LogProbs, b[i].LogProbs) {
			t.Fatalf("same seed, different samples")
		}
	}
	p.Seed = 43
	d, _ := m.Generate(prompts, p)
	if slices.Equal(a[0].Tokens, d[0].Tokens) && slices.Equal(a[1].Tokens, d[1].Tokens) {
		t.Error("another seed gave the same samples")
	}
	// Stop at EOS: the token is returned and nothing follows.
	p.EOS = int(a[0].Tokens[2])
	e, _ := m.Generate(prompts[:1], SampleParams{MaxNew: 10, Temperature: 1, TopP: 0.95, TopK: 20, Seed: 42, EOS: p.EOS})
	if n := slices.Index(e[0].Tokens, int32(p.EOS)); n < 0 || n != len(e[0].Tokens)-1 {
		t.Errorf("EOS %d not last in %v", p.EOS, e[0].Tokens)
	}
}

func TestTopKOneIsGreedy(t *testing.T) {
	probs := []float32{0.1, 0.5, 0.3, 0.1}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 20; i++ {
		if got := sampleTruncated(probs, 1, 0, rng); got != 1 {
			t.Fatalf("top-k 1 drew %d", got)
		}
		if got := sampleTruncated(probs, 0, 0.5, rng); got != 1 {
			t.Fatalf("top-p 0.5 drew %d", got)
		}
	}
}

// Top log-probabilities come from the same distribution as the sampled token's: under greedy
// decoding the first entry is the chosen token with the identical value (same float32 math), the
// list is sorted and holds at most all the probability mass.
func TestGenerateTopLogProbs(t *testing.T) {
	c := Tiny(24)
	m, _ := New(c, 4)
	rng := rand.New(rand.NewPCG(1, 9))
	for i := range m.W {
		m.W[i] *= 20
	}
	pr := promptFor(c, rng, 3)
	out, err := m.Generate([]Prompt{pr}, SampleParams{MaxNew: 5, EOS: -1, TopLogProbs: 4})
	if err != nil {
		t.Fatal(err)
	}
	s := out[0]
	if len(s.Top) != len(s.Tokens) {
		t.Fatalf("%d top lists for %d tokens", len(s.Top), len(s.Tokens))
	}
	for i, top := range s.Top {
		if len(top) != 4 {
			t.Fatalf("step %d: %d entries, want 4", i, len(top))
		}
		if top[0].Token != s.Tokens[i] || top[0].LogProb != s.LogProbs[i] {
			t.Errorf("step %d: top %+v, chosen %d at %v", i, top[0], s.Tokens[i], s.LogProbs[i])
		}
		var mass float64
		for j, e := range top {
			mass += math.Exp(float64(e.LogProb))
			if j > 0 && e.LogProb > top[j-1].LogProb {
				t.Errorf("step %d: not sorted: %+v", i, top)
			}
		}
		if mass > 1+1e-5 { // float32 probabilities sum to 1 within rounding
			t.Errorf("step %d: top mass %v > 1", i, mass)
		}
	}
}

func TestTopLogProbsPicksTheLargest(t *testing.T) {
	probs := []float32{0.1, 0.3, 0.05, 0.3, 0.25}
	got := topLogProbs(probs, 3)
	want := []int32{1, 3, 4} // ties by token id
	for i, e := range got {
		if e.Token != want[i] || e.LogProb != float32(math.Log(float64(probs[want[i]]))) {
			t.Fatalf("got %+v, want tokens %v", got, want)
		}
	}
	if n := len(topLogProbs(probs, 9)); n != len(probs) {
		t.Errorf("asking for more than the vocabulary gave %d entries", n)
	}
}

// NextLogProbs agrees with Score's teacher-forced log-probability of each single next token: the
// same forward pass, log-softmax in float64 here and float32 there, so 1e-5 (float32 rounding of
// values of order 1–10).
func TestNextLogProbsMatchesScore(t *testing.T) {
	c := Tiny(24)
	m, _ := New(c, 4)
	rng := rand.New(rand.NewPCG(3, 9))
	pr := promptFor(c, rng, 4)
	all, err := m.NextLogProbs(pr)
	if err != nil {
		t.Fatal(err)
	}
	var mass float64
	for v := range all {
		lp, err := m.Score(pr, []int32{int32(v)})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(lp[0]-all[v])) > 1e-5 {
			t.Errorf("token %d: NextLogProbs %v, Score %v", v, all[v], lp[0])
		}
		mass += math.Exp(float64(all[v]))
	}
	if math.Abs(mass-1) > 1e-5 {
		t.Errorf("probabilities sum to %v", mass)
	}
}

// A temperature so small that logits/T overflows float32 (1e-39, a denormal) samples the argmax,
// as greedy decoding does, with finite log-probabilities: the chosen token's is 0 (its probability
// rounds to 1; within 1e-6) and the entropy 0. v/T in float32 used to give ±Inf and a NaN softmax.
func TestTinyTemperatureIsGreedy(t *testing.T) {
	logits := []float32{1, 3.5, 3.25, -2, 0}
	probs := make([]float32, len(logits))
	for _, temp := range []float32{1e-39, 1e-30, 1e-10} {
		rng := rand.New(rand.NewPCG(1, 1))
		for range 10 {
			tok, lp, ent := pick(logits, probs, SampleParams{Temperature: temp, TopP: 1}, rng)
			if tok != 1 || math.Abs(float64(lp)) > 1e-6 || math.Abs(float64(ent)) > 1e-6 {
				t.Fatalf("T=%g: token %d logprob %v entropy %v, want the argmax 1 with 0 and 0", temp, tok, lp, ent)
			}
			for _, e := range topLogProbs(probs, len(probs)) {
				if math.IsNaN(float64(e.LogProb)) || math.IsInf(float64(e.LogProb), 0) {
					t.Fatalf("T=%g: top log-probability %+v not finite", temp, e)
				}
			}
		}
	}

	c := Tiny(24)
	m, _ := New(c, 4)
	rng := rand.New(rand.NewPCG(1, 9))
	for i := range m.W {
		m.W[i] *= 20
	}
	pr := promptFor(c, rng, 3)
	greedy, err := m.Generate([]Prompt{pr}, SampleParams{MaxNew: 5, EOS: -1})
	if err != nil {
		t.Fatal(err)
	}
	tiny, err := m.Generate([]Prompt{pr}, SampleParams{MaxNew: 5, EOS: -1, Temperature: 1e-39, TopLogProbs: 3, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tiny[0].Tokens, greedy[0].Tokens) {
		t.Errorf("T=1e-39 generated %v, greedy %v", tiny[0].Tokens, greedy[0].Tokens)
	}
	for i, lp := range tiny[0].LogProbs {
		if math.IsNaN(float64(lp)) || math.IsInf(float64(lp), 0) || math.IsNaN(float64(tiny[0].Entropies[i])) {
			t.Errorf("step %d: logprob %v entropy %v", i, lp, tiny[0].Entropies[i])
		}
	}
	for _, bad := range []SampleParams{
		{MaxNew: 1, Temperature: float32(math.NaN())}, {MaxNew: 1, Temperature: float32(math.Inf(1))},
		{MaxNew: 1, TopP: float32(math.NaN())},
	} {
		if _, err := m.Generate([]Prompt{pr}, bad); err == nil {
			t.Errorf("Generate accepted %+v", bad)
		}
	}
}
