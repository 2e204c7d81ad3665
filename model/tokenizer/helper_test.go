package tokenizer

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// corpus is a small training set: captions and chat-like answers, with some non-ASCII text.
var corpus = []string{
	"A man in a red jacket is cooking pasta in a small kitchen. He stirs the pot and tastes the sauce.",
	"The woman walks her dog along the beach at sunset; the waves are calm and the sky is orange.",
	"Two children are playing football in the park. One of them kicks the ball into the goal!",
	"What is happening in the video? The man is cooking. What is the woman doing? She is walking.",
	"In the video, a person is riding a bicycle down a steep hill, and then they stop near a tree.",
	"The cat jumps onto the table, knocks over a glass of water, and runs away into the garden.",
	"It's a sunny day. They're playing, we've finished, I'm here, you'll see, he'd go.",
	"Numbers: 1 2 3 42 2024 3.14159 and 1,000,000 people watched the 90-minute match.",
	"Café, naïve, résumé: accents are letters too. Über straße.",
	"한국어 문장도 있습니다. 日本語の文もあります。中文句子也在这里。",
	"Emoji 🎬🍝 and flags 🇰🇷 and a family 👨‍👩‍👧 appear in captions sometimes.",
	"Tabs\tand\nnewlines\n\n  and   runs of   spaces   end here.  ",
	"<video>\nDescribe the video in detail.</s>",
}

// trained returns a tokenizer trained on corpus (repeated so that common pairs dominate),
// shared by the tests.
var trained = sync.OnceValues(func() (*Tokenizer, error) {
	var texts []string
	for range 5 {
		texts = append(texts, corpus...)
	}
	return Train(texts, 600)
})

func trainedTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := trained()
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	return tok
}

// syntheticCorpus returns about size bytes of English-like text in paragraphs of about 1 KiB:
// words drawn with a Zipf law from a made-up lexicon, with capitals, punctuation, numbers and
// newlines. It is deterministic.
func syntheticCorpus(size int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	syllables := strings.Fields("ka lo mi ne ta ri so vu pe da ge zo fi ha ju ce by wu qui xa " +
		"the an in on re er st ing tion ed ly ou ch sh th pr tr bl gr")
	lexicon := make([]string, 20000)
	for i := range lexicon {
		var b strings.Builder
		for range 1 + r.IntN(4) {
			b.WriteString(syllables[r.IntN(len(syllables))])
		}
		lexicon[i] = b.String()
	}
	zipf := rand.NewZipf(r, 1.1, 1, uint64(len(lexicon)-1))
	var texts []string
	total := 0
	for total < size {
		var b strings.Builder
		capital := true
		for b.Len() < 1024 {
			w := lexicon[zipf.Uint64()]
			if r.IntN(40) == 0 {
				w = strings.Repeat("7", 1+r.IntN(4))
			}
			if capital {
				w = strings.ToUpper(w[:1]) + w[1:]
				capital = false
			}
			b.WriteString(w)
			switch n := r.IntN(20); {
			case n == 0:
				b.WriteString(". ")
				capital = true
			case n == 1:
				b.WriteString(", ")
			case n == 2:
				b.WriteString(".\n")
				capital = true
			default:
				b.WriteString(" ")
			}
		}
		texts = append(texts, b.String())
		total += b.Len()
	}
	return texts
}
