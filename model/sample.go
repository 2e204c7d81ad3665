package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// SampleParams control generation.
type SampleParams struct {
	MaxNew      int     // new tokens at most
	Temperature float32 // 0: greedy
	TopK        int     // keep the k most likely tokens (0: all)
	TopP        float32 // keep the smallest set whose probability reaches p (0 or 1: all)
	Seed        uint64  // sequence b draws from rand.NewPCG(Seed, b)
	EOS         int     // stop a sequence at this token (it is returned); −1: never
	TopLogProbs int     // also report the n most likely tokens at each step (0: none)
}

// TokenLogProb is a token id with its log-probability.
type TokenLogProb struct {
	Token   int32
	LogProb float32
}

// Sample is one generated continuation. LogProbs[i] is log p(Tokens[i]) under the model's
// distribution at temperature T (logits/T, before top-k/top-p truncation, the distribution PPO
// scores against); Entropies[i] is that distribution's entropy in nats.
// Top[i], when SampleParams.TopLogProbs > 0, lists the most likely tokens of that same
// distribution, most likely first (ties by token id).
type Sample struct {
	Tokens    []int32
	LogProbs  []float32
	Entropies []float32
	Top       [][]TokenLogProb
}

// Prompt is one sequence to continue: token ids with −1 at the video positions from VideoAt
// (−1: no video) and its patches.
type Prompt struct {
	Tokens  []int32
	VideoAt int
	Patches []float32
}

// Generate continues every prompt, batched: prompts are prefilled one by one into a key/value
// cache, then each decoding step runs all unfinished sequences together.
func (m *Model) Generate(prompts []Prompt, p SampleParams) ([]Sample, error) {
	c := m.Config
	if p.MaxNew < 0 || !(p.Temperature >= 0) || math.IsInf(float64(p.Temperature), 0) || p.TopK < 0 ||
		!(p.TopP >= 0 && p.TopP <= 1) || p.TopLogProbs < 0 { // !(x >= 0) is also true for NaN
		return nil, fmt.Errorf("model: bad sampling parameters %+v", p)
	}
	kv := newKVCache(c, len(prompts))
	out := make([]Sample, len(prompts))
	rngs := make([]*rand.Rand, len(prompts))
	last := make([][]float32, len(prompts)) // logits after each sequence's newest token
	for b, pr := range prompts {
		if len(pr.Tokens) == 0 || len(pr.Tokens)+p.MaxNew > c.MaxPositionEmbeddings {
			return nil, fmt.Errorf("model: prompt %d of %d tokens + %d new does not fit %d positions", b, len(pr.Tokens), p.MaxNew, c.MaxPositionEmbeddings)
		}
		x, err := m.embedPrompt(pr)
		if err != nil {
			return nil, fmt.Errorf("model: prompt %d: %w", b, err)
		}
		seq := make([]int, len(pr.Tokens))
		pos := make([]int32, len(pr.Tokens))
		for i := range seq {
			seq[i], pos[i] = b, int32(i)
		}
		logits := m.inferTokens(kv, x, seq, pos)
		V := c.VocabSize
		last[b] = append([]float32(nil), logits[(len(pr.Tokens)-1)*V:]...)
		kv.length[b] = len(pr.Tokens)
		rngs[b] = rand.New(rand.NewPCG(p.Seed, uint64(b)))
	}
	done := make([]bool, len(prompts))
	probs := make([]float32, c.VocabSize)
	for step := 0; step < p.MaxNew; step++ {
		var seq []int
		var pos []int32
		var x []float32
		for b := range prompts {
			if done[b] {
				continue
			}
			tok, lp, ent := pick(last[b], probs, p, rngs[b])
			s := &out[b]
			s.Tokens, s.LogProbs, s.Entropies = append(s.Tokens, tok), append(s.LogProbs, lp), append(s.Entropies, ent)
			if p.TopLogProbs > 0 {
				s.Top = append(s.Top, topLogProbs(probs, p.TopLogProbs))
			}
			if int(tok) == p.EOS || step+1 == p.MaxNew {
				done[b] = true
				continue
			}
			seq = append(seq, b)
			pos = append(pos, int32(kv.length[b]))
			x = append(x, m.w("model.embed_tokens.weight")[int(tok)*c.HiddenSize:(int(tok)+1)*c.HiddenSize]...)
		}
		if len(seq) == 0 {
			break
		}
		logits := m.inferTokens(kv, x, seq, pos)
		for i, b := range seq {
			last[b] = append(last[b][:0], logits[i*c.VocabSize:(i+1)*c.VocabSize]...)
			kv.length[b]++
		}
	}
	return out, nil
}

// minScaled bounds how far below the largest a tempered logit goes: e^−1e4 is 0 in float32 (and
// float64), so clamping changes no probability but keeps the softmax's input finite.
const minScaled = 1e4

// pick draws the next token from logits and returns it with its log-probability and the
// distribution's entropy (both at the sampling temperature, before truncation).
func pick(logits, probs []float32, p SampleParams, rng *rand.Rand) (int32, float32, float32) {
	t := float64(p.Temperature)
	if t == 0 {
		t = 1 // greedy: report log-probabilities of the untempered distribution
	}
	// (v − max)/t, in float64 and clamped, rather than v/t in float32: for a tiny t (1e-39) v/t
	// overflowed to ±Inf and the softmax gave NaN. This way the largest logit scales to 0 and the
	// others to at most −minScaled, where e^x is 0 in float32, so the distribution tends to the
	// argmax (greedy) as t → 0 and every log-probability stays finite.
	mx := float64(slices.Max(logits))
	scaled := make([]float32, len(logits))
	for i, v := range logits {
		scaled[i] = float32(max((float64(v)-mx)/t, -minScaled))
	}
	softmax(probs, scaled)
	var ent float64
	for _, q := range probs {
		if q > 0 {
			ent -= float64(q) * math.Log(float64(q))
		}
	}
	choice := 0
	if p.Temperature == 0 {
		for i, v := range logits {
			if v > logits[choice] {
				choice = i
			}
		}
	} else {
		choice = sampleTruncated(probs, p.TopK, p.TopP, rng)
	}
	return int32(choice), float32(math.Log(math.Max(float64(probs[choice]), 1e-30))), float32(ent)
}

// topLogProbs returns the n most likely tokens of probs (the distribution pick just computed),
// most likely first, ties by token id.
func topLogProbs(probs []float32, n int) []TokenLogProb {
	n = min(n, len(probs))
	top := make([]TokenLogProb, 0, n+1)
	for i, q := range probs {
		if len(top) == n && q <= probs[top[n-1].Token] {
			continue
		}
		j := len(top)
		for j > 0 && probs[top[j-1].Token] < q {
			j--
		}
		top = slices.Insert(top, j, TokenLogProb{Token: int32(i)})
		if len(top) > n {
			top = top[:n]
		}
	}
	for i := range top {
		top[i].LogProb = float32(math.Log(math.Max(float64(probs[top[i].Token]), 1e-30)))
	}
	return top
}

// sampleTruncated draws from probs restricted to the top-k tokens and then to the smallest prefix
// (by probability) whose mass reaches topP, renormalised. Ties keep index order, so draws are
// reproducible.
func sampleTruncated(probs []float32, topK int, topP float32, rng *rand.Rand) int {
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	if topK > 0 && topK < len(idx) {
		idx = idx[:topK]
	}
	if topP > 0 && topP < 1 {
		var mass float32
		for i, j := range idx {
			mass += probs[j]
			if mass >= topP {
				idx = idx[:i+1]
				break
			}
		}
	}
	var total float64
	for _, j := range idx {
		total += float64(probs[j])
	}
	u := rng.Float64() * total
	for _, j := range idx {
		u -= float64(probs[j])
		if u <= 0 {
			return j
		}
	}
	return idx[len(idx)-1]
}

// embedPrompt returns a prompt's input rows: token embeddings, with the video's tokens spliced in.
func (m *Model) embedPrompt(pr Prompt) ([]float32, error) {
	c := m.Config
	C, T := c.HiddenSize, len(pr.Tokens)
	x := make([]float32, T*C)
	EmbeddingForward(x, pr.Tokens, m.w("model.embed_tokens.weight"), T, C)
	for _, t := range pr.Tokens {
		if int(t) >= c.VocabSize {
			return nil, fmt.Errorf("token %d outside the vocabulary", t)
		}
	}
	if pr.VideoAt < 0 {
		return x, nil
	}
	v := c.Vision
	if pr.VideoAt+c.VideoTokens() > T || len(pr.Patches) != v.NumFrames*v.Patches()*v.PatchDim() {
		return nil, errors.New("video does not fit the prompt, or wrong number of pixel values")
	}
	a := m.ensureActs(1, 1)
	m.visionForward(a, &Batch{B: 1, Patches: pr.Patches})
	copy(x[pr.VideoAt*C:(pr.VideoAt+c.VideoTokens())*C], a.vtok)
	return x, nil
}
