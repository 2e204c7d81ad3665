package tokenizer

import (
	"container/heap"
	"fmt"
	"slices"
	"strings"
)

// Train learns byte-level BPE merges on texts until the vocabulary (4 specials, 256 bytes and the
// merge tokens) has vocabSize tokens, or until no adjacent pair is left to merge, in which case
// the vocabulary is smaller. Special-token strings in texts are cut out as in Encode.
//
// Each step merges the most frequent adjacent pair, counted over the pre-tokens of all texts;
// ties go to the pair with the smaller first id, then the smaller second id. The result depends
// only on the multiset of pre-tokens, not on the order of texts. A merge whose text is already a
// token (two merge paths to one string) reuses that token's id, as Hugging Face's trainer does.
func Train(texts []string, vocabSize int) (*Tokenizer, error) {
	if vocabSize < minVocab {
		return nil, fmt.Errorf("tokenizer: vocabulary size %d is below %d", vocabSize, minVocab)
	}
	tokens := make([]string, 0, vocabSize)
	tokens = append(tokens, specials[:]...)
	for b := range 256 {
		tokens = append(tokens, string(byteRune[b]))
	}
	ids := make(map[string]int32, vocabSize)
	for id, tok := range tokens {
		ids[tok] = int32(id)
	}

	tr := newTrainer(countWords(texts))
	var merges [][2]int32
	merged := make(map[uint64]bool)
	for len(tokens) < vocabSize {
		a, b, ok := tr.best()
		if !ok {
			break
		}
		text := tokens[a] + tokens[b]
		id, exists := ids[text]
		if !exists {
			id = int32(len(tokens))
			tokens = append(tokens, text)
			ids[text] = id
		}
		if k := pairKey(a, b); !merged[k] {
			merged[k] = true
			merges = append(merges, [2]int32{a, b})
		}
		tr.merge(a, b, id)
	}
	return newTokenizer(tokens, merges)
}

// countWords returns the distinct pre-tokens of texts, sorted, with their counts.
func countWords(texts []string) ([]string, []int) {
	counts := make(map[string]int)
	for _, text := range texts {
		for seg, special := range segments(text) {
			if special >= 0 {
				continue
			}
			for w := range words(seg) {
				counts[w]++
			}
		}
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	slices.SortFunc(words, strings.Compare)
	n := make([]int, len(words))
	for i, w := range words {
		n[i] = counts[w]
	}
	return words, n
}

// trainer holds the words being merged and the count of every adjacent pair, weighted by word
// count. The heap holds (count, pair) entries; an entry whose count is no longer the pair's
// count is stale and skipped when popped, since every change pushes a fresh entry.
type trainer struct {
	syms   [][]int32          // word → its current symbols
	counts []int              // word → how often it occurs
	pairs  map[uint64]int     // pair → weighted count
	where  map[uint64][]int32 // pair → words that contained it when it was counted
	heap   pairHeap

	seen  []int          // word → last merge step that visited it
	step  int            //
	delta map[uint64]int // pair → count change in the current step
}

func newTrainer(words []string, counts []int) *trainer {
	tr := &trainer{
		syms:   make([][]int32, len(words)),
		counts: counts,
		pairs:  make(map[uint64]int),
		where:  make(map[uint64][]int32),
		seen:   make([]int, len(words)),
		delta:  make(map[uint64]int),
	}
	for w, word := range words {
		s := make([]int32, len(word))
		for i := range len(word) {
			s[i] = numSpecial + int32(word[i])
		}
		tr.syms[w] = s
		for i := 0; i+1 < len(s); i++ {
			k := pairKey(s[i], s[i+1])
			tr.pairs[k] += counts[w]
			tr.addWhere(k, int32(w))
		}
	}
	tr.heap = make(pairHeap, 0, len(tr.pairs))
	for k, n := range tr.pairs {
		tr.heap = append(tr.heap, pairCount{key: k, n: n})
	}
	heap.Init(&tr.heap)
	return tr
}

func (tr *trainer) addWhere(k uint64, w int32) {
	if l := tr.where[k]; len(l) == 0 || l[len(l)-1] != w {
		tr.where[k] = append(l, w)
	}
}

// best returns the most frequent pair, or ok false if no pair is left.
func (tr *trainer) best() (a, b int32, ok bool) {
	for tr.heap.Len() > 0 {
		top := tr.heap[0]
		if tr.pairs[top.key] != top.n {
			heap.Pop(&tr.heap)
			continue
		}
		return int32(top.key >> 32), int32(uint32(top.key)), true
	}
	return 0, 0, false
}

// merge replaces (a, b) with id in every word that holds it and updates the pair counts.
func (tr *trainer) merge(a, b, id int32) {
	tr.step++
	k := pairKey(a, b)
	clear(tr.delta)
	for _, w := range tr.where[k] {
		if tr.seen[w] == tr.step {
			continue
		}
		tr.seen[w] = tr.step
		tr.mergeWord(w, a, b, id)
	}
	delete(tr.where, k)
	for p, d := range tr.delta {
		if d == 0 {
			continue
		}
		n := tr.pairs[p] + d
		if n <= 0 {
			delete(tr.pairs, p)
			continue
		}
		tr.pairs[p] = n
		heap.Push(&tr.heap, pairCount{key: p, n: n})
	}
	delete(tr.pairs, k)
}

// mergeWord merges (a, b) into id in word w, recording the pair count changes in tr.delta.
func (tr *trainer) mergeWord(w int32, a, b, id int32) {
	s := tr.syms[w]
	n := tr.counts[w]
	found := false
	for i := 0; i+1 < len(s); i++ {
		if s[i] == a && s[i+1] == b {
			found = true
			break
		}
	}
	if !found {
		return // stale entry: an earlier merge took the pair out of this word
	}
	for i := 0; i+1 < len(s); i++ {
		tr.delta[pairKey(s[i], s[i+1])] -= n
	}
	s = mergePair(s, a, b, id)
	tr.syms[w] = s
	for i := 0; i+1 < len(s); i++ {
		p := pairKey(s[i], s[i+1])
		tr.delta[p] += n
		if s[i] == id || s[i+1] == id {
			tr.addWhere(p, w)
		}
	}
}

// pairCount is one heap entry.
type pairCount struct {
	key uint64 // pairKey(a, b)
	n   int
}

// pairHeap is a max-heap by count; ties go to the smaller key, that is the smaller first id,
// then the smaller second id.
type pairHeap []pairCount

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].n != h[j].n {
		return h[i].n > h[j].n
	}
	return h[i].key < h[j].key
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairCount)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
