package tokenizer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Fixed ids of the special tokens.
const (
	padID   = 0
	bosID   = 1
	eosID   = 2
	videoID = 3

	numSpecial = 4
	minVocab   = numSpecial + 256 // specials and byte tokens, the vocabulary before any merge
)

// maxCached bounds the per-word encoding cache.
const maxCached = 1 << 16

var errBadVocab = errors.New("tokenizer: bad vocabulary")

// Tokenizer is a byte-level BPE tokenizer with the special tokens <pad>, <s>, </s> and <video>.
// Build one with Train or Load.
type Tokenizer struct {
	tokens  []string        // id → token text (byte-level text, or the special's content)
	raw     [][]byte        // id → the bytes the token decodes to
	merges  [][2]int32      // learned merges, by rank
	rules   map[uint64]rule // pair of ids → its merge
	byteIDs [256]int32      // byte → id of its byte token

	mu    sync.RWMutex
	cache map[string][]int32 // pre-token → its encoding
}

// rule is one merge: the rank it applies at and the id it produces.
type rule struct{ rank, id int32 }

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// newTokenizer builds a Tokenizer from its vocabulary (specials at 0..3) and merges, checking
// that they are consistent.
func newTokenizer(tokens []string, merges [][2]int32) (*Tokenizer, error) {
	if len(tokens) < minVocab {
		return nil, fmt.Errorf("%w: %d tokens, want at least %d", errBadVocab, len(tokens), minVocab)
	}
	t := &Tokenizer{
		tokens: tokens,
		raw:    make([][]byte, len(tokens)),
		merges: merges,
		rules:  make(map[uint64]rule, len(merges)),
		cache:  make(map[string][]int32),
	}
	ids := make(map[string]int32, len(tokens))
	for id, tok := range tokens {
		if _, dup := ids[tok]; dup {
			return nil, fmt.Errorf("%w: token %q appears twice", errBadVocab, tok)
		}
		ids[tok] = int32(id)
		if id < numSpecial {
			if tok != specials[id] {
				return nil, fmt.Errorf("%w: id %d is %q, want %q", errBadVocab, id, tok, specials[id])
			}
			t.raw[id] = []byte(tok)
			continue
		}
		raw, ok := rawBytes(tok)
		if !ok || len(raw) == 0 {
			return nil, fmt.Errorf("%w: token %q is not byte-level text", errBadVocab, tok)
		}
		t.raw[id] = raw
	}
	for b := range 256 {
		id, ok := ids[string(byteRune[b])]
		if !ok || id < numSpecial {
			return nil, fmt.Errorf("%w: no token for byte %#02x", errBadVocab, b)
		}
		t.byteIDs[b] = id
	}
	for rank, m := range merges {
		a, b := m[0], m[1]
		if a < numSpecial || b < numSpecial || int(a) >= len(tokens) || int(b) >= len(tokens) {
			return nil, fmt.Errorf("%w: merge %d has ids %d %d", errBadVocab, rank, a, b)
		}
		id, ok := ids[tokens[a]+tokens[b]]
		if !ok {
			return nil, fmt.Errorf("%w: merge %q %q makes no token", errBadVocab, tokens[a], tokens[b])
		}
		k := pairKey(a, b)
		if _, dup := t.rules[k]; dup {
			return nil, fmt.Errorf("%w: merge %q %q appears twice", errBadVocab, tokens[a], tokens[b])
		}
		t.rules[k] = rule{rank: int32(rank), id: id}
	}
	return t, nil
}

// VocabSize is the number of token ids, specials included.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// PadID is the id of <pad>.
func (t *Tokenizer) PadID() int { return padID }

// BOSID is the id of <s>, the beginning of a sequence.
func (t *Tokenizer) BOSID() int { return bosID }

// EOSID is the id of </s>, which ends every assistant answer.
func (t *Tokenizer) EOSID() int { return eosID }

// VideoID is the id of <video>, the placeholder the model replaces with the video's embeddings.
func (t *Tokenizer) VideoID() int { return videoID }

// Token returns the text of token id in the vocabulary (byte-level text, "Ġ" for a space).
// It panics if id is out of range.
func (t *Tokenizer) Token(id int) string { return t.tokens[id] }

// Encode tokenizes s. Special-token strings in s become their ids; no <s> is added.
func (t *Tokenizer) Encode(s string) []int {
	ids := make([]int, 0, len(s)/3+1)
	for seg, special := range segments(s) {
		if special >= 0 {
			ids = append(ids, special)
			continue
		}
		for w := range words(seg) {
			for _, id := range t.encodeWord(w) {
				ids = append(ids, int(id))
			}
		}
	}
	return ids
}

// Decode returns the text of ids; Decode(Encode(s)) == s for every s. It panics on an id outside
// [0, VocabSize()), which a sampler must mask out.
func (t *Tokenizer) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		if id < 0 || id >= len(t.raw) {
			panic(fmt.Sprintf("tokenizer: id %d out of range [0, %d)", id, len(t.raw)))
		}
		b.Write(t.raw[id])
	}
	return b.String()
}

// encodeWord returns the BPE encoding of one pre-token. The result is shared; do not modify it.
func (t *Tokenizer) encodeWord(w string) []int32 {
	if len(w) == 1 {
		b := int(w[0])
		return t.byteIDs[b : b+1 : b+1]
	}
	t.mu.RLock()
	ids, ok := t.cache[w]
	t.mu.RUnlock()
	if ok {
		return ids
	}
	ids = t.bpe(w)
	t.mu.Lock()
	if len(t.cache) < maxCached {
		t.cache[w] = ids
	}
	t.mu.Unlock()
	return ids
}

// bpe merges the bytes of w, lowest-ranked pair first, all of its non-overlapping occurrences from
// the left; this matches Hugging Face's BPE, which merges by (rank, position).
func (t *Tokenizer) bpe(w string) []int32 {
	syms := make([]int32, len(w))
	for i := range len(w) {
		syms[i] = t.byteIDs[w[i]]
	}
	for len(syms) > 1 {
		best := rule{rank: -1}
		var bestA, bestB int32
		for i := 0; i+1 < len(syms); i++ {
			r, ok := t.rules[pairKey(syms[i], syms[i+1])]
			if ok && (best.rank < 0 || r.rank < best.rank) {
				best, bestA, bestB = r, syms[i], syms[i+1]
			}
		}
		if best.rank < 0 {
			break
		}
		syms = mergePair(syms, bestA, bestB, best.id)
	}
	return syms
}

// mergePair replaces each non-overlapping occurrence of (a, b) in syms, from the left, with id,
// in place.
func mergePair(syms []int32, a, b, id int32) []int32 {
	out := syms[:0]
	for i := 0; i < len(syms); i++ {
		if i+1 < len(syms) && syms[i] == a && syms[i+1] == b {
			out = append(out, id)
			i++
			continue
		}
		out = append(out, syms[i])
	}
	return out
}
