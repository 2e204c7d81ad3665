package tokenizer

import (
	"slices"
	"testing"
)

// naiveMerges is the textbook trainer: recount every pair at every step, merge the most frequent
// (ties to the smaller ids). Train's incremental counts must give the same merges.
func naiveMerges(texts []string, vocabSize int) (tokens []string, merges [][2]int32) {
	words, counts := countWords(texts)
	syms := make([][]int32, len(words))
	for i, w := range words {
		for j := range len(w) {
			syms[i] = append(syms[i], numSpecial+int32(w[j]))
		}
	}
	tokens = append(tokens, specials[:]...)
	for b := range 256 {
		tokens = append(tokens, string(byteRune[b]))
	}
	for len(tokens) < vocabSize {
		pairs := make(map[uint64]int)
		for i, s := range syms {
			for j := 0; j+1 < len(s); j++ {
				pairs[pairKey(s[j], s[j+1])] += counts[i]
			}
		}
		var best uint64
		bestN := 0
		for k, n := range pairs {
			if n > bestN || n == bestN && k < best {
				best, bestN = k, n
			}
		}
		if bestN == 0 {
			break
		}
		a, b := int32(best>>32), int32(uint32(best))
		id := int32(slices.Index(tokens, tokens[a]+tokens[b]))
		if id < 0 {
			id = int32(len(tokens))
			tokens = append(tokens, tokens[a]+tokens[b])
		}
		merges = append(merges, [2]int32{a, b})
		for i := range syms {
			syms[i] = mergePair(syms[i], a, b, id)
		}
	}
	return tokens, merges
}

func TestTrainMatchesNaive(t *testing.T) {
	tests := []struct {
		name  string
		texts []string
		vocab int
	}{
		{"corpus", corpus, 700},
		{"repeats", []string{"aaaaaaa aaaa abababab bababa aaa", "aa aa aa ab ab ba"}, 300},
		{"synthetic", syntheticCorpus(64 << 10), 900},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Train(tc.texts, tc.vocab)
			if err != nil {
				t.Fatal(err)
			}
			tokens, merges := naiveMerges(tc.texts, tc.vocab)
			if !slices.Equal(tok.tokens, tokens) {
				t.Errorf("tokens differ from the naive trainer's (%d vs %d)", len(tok.tokens), len(tokens))
			}
			if !slices.Equal(tok.merges, merges) {
				for i := range min(len(merges), len(tok.merges)) {
					if tok.merges[i] != merges[i] {
						t.Fatalf("merge %d = %q, naive %q", i,
							tok.tokens[tok.merges[i][0]]+" "+tok.tokens[tok.merges[i][1]],
							tokens[merges[i][0]]+" "+tokens[merges[i][1]])
					}
				}
				t.Fatalf("%d merges, naive %d", len(tok.merges), len(merges))
			}
		})
	}
}
