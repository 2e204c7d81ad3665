package tokenizer

import (
	"sync"
	"testing"
)

// benchCorpus is about 2 MB of synthetic text.
var benchCorpus = sync.OnceValue(func() []string { return syntheticCorpus(2 << 20) })

func corpusBytes(texts []string) int64 {
	var n int64
	for _, s := range texts {
		n += int64(len(s))
	}
	return n
}

// BenchmarkTrain trains a 2048-token vocabulary on about 2 MB of text.
func BenchmarkTrain(b *testing.B) {
	texts := benchCorpus()
	b.SetBytes(corpusBytes(texts))
	for b.Loop() {
		tok, err := Train(texts, 2048)
		if err != nil {
			b.Fatal(err)
		}
		if tok.VocabSize() != 2048 {
			b.Fatalf("VocabSize = %d, want 2048", tok.VocabSize())
		}
	}
}

// BenchmarkEncode encodes about 2 MB of text with a 2048-token vocabulary trained on it, on a
// tokenizer whose word cache is warm (after the first iteration).
func BenchmarkEncode(b *testing.B) {
	texts := benchCorpus()
	tok, err := Train(texts, 2048)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(corpusBytes(texts))
	var n int
	for b.Loop() {
		n = 0
		for _, s := range texts {
			n += len(tok.Encode(s))
		}
	}
	b.ReportMetric(float64(corpusBytes(texts))/float64(n), "bytes/token")
}

// BenchmarkEncodeCold encodes the same text on a fresh tokenizer each time: BPE without the cache.
func BenchmarkEncodeCold(b *testing.B) {
	texts := benchCorpus()
	trained, err := Train(texts, 2048)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(corpusBytes(texts))
	for b.Loop() {
		b.StopTimer()
		tok, _ := newTokenizer(trained.tokens, trained.merges)
		b.StartTimer()
		for _, s := range texts {
			tok.Encode(s)
		}
	}
}
