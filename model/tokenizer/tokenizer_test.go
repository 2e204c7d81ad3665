package tokenizer

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

var roundTripCases = []struct {
	name string
	text string
}{
	{"empty", ""},
	{"ascii", "The man is cooking pasta in a small kitchen."},
	{"unseen words", "Zyzzyva quokkas xylophone bxqj"},
	{"contractions", "It's they're we've I'm you'll he'd don't 'S 'LL"},
	{"numbers", "0 7 42 3.14159 1,000,000 -12 1e9"},
	{"whitespace", "  leading\ttab\n\nnewlines   runs  \r\n trailing   "},
	{"only spaces", "     "},
	{"unicode spaces", "a\u00a0b\u3000c\u2028d\u0085e"},
	{"accents", "Café naïve résumé Über straße ÅÄÖ"},
	{"combining marks", "e\u0301 a\u0308 n\u0303"},
	{"hangul", "한국어 문장도 있습니다."},
	{"cjk", "日本語の文もあります。中文句子也在这里。"},
	{"rtl", "مرحبا بالعالم שלום עולם"},
	{"emoji", "🎬🍝 👍🏽 🇰🇷 👨‍👩‍👧 ❤️"},
	{"symbols", "#$%^&*()_+{}|:\"<>?~`[]\\;',./ ©®™ €£¥"},
	{"specials", "<s>hello</s><video><pad>"},
	{"near specials", "<s <video </s <pad> <<s>> </s/> <vide>"},
	{"html", "<div class=\"x\">a &amp; b</div>"},
	{"control", "\x00\x01\x7f\x1b[31m"},
	{"long word", strings.Repeat("abc", 300)},
	{"invalid utf8", "ok \xff\xfe \xc3 end"},
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tok := trainedTokenizer(t)
	for _, tc := range roundTripCases {
		t.Run(tc.name, func(t *testing.T) {
			ids := tok.Encode(tc.text)
			if got := tok.Decode(ids); got != tc.text {
				t.Errorf("Decode(Encode(%q)) = %q", tc.text, got)
			}
			for _, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("Encode(%q) has id %d outside [0, %d)", tc.text, id, tok.VocabSize())
				}
			}
			if !slices.Equal(tok.Encode(tc.text), ids) {
				t.Errorf("second Encode(%q) differs (cache)", tc.text)
			}
		})
	}
}

func TestEncodeUsesMerges(t *testing.T) {
	tok := trainedTokenizer(t)
	for _, s := range []string{"The man is cooking", " the video", " kitchen."} {
		ids := tok.Encode(s)
		if len(ids) >= len(s) {
			t.Errorf("Encode(%q) = %d tokens for %d bytes, want fewer", s, len(ids), len(s))
		}
	}
	// " the" is frequent in the corpus, so it must be one token.
	if ids := tok.Encode(" the"); len(ids) != 1 {
		t.Errorf("Encode(%q) = %v, want one token", " the", ids)
	}
}

func TestSpecialTokens(t *testing.T) {
	tok := trainedTokenizer(t)
	if got := [4]int{tok.PadID(), tok.BOSID(), tok.EOSID(), tok.VideoID()}; got != [4]int{0, 1, 2, 3} {
		t.Fatalf("pad, bos, eos, video ids = %v, want [0 1 2 3]", got)
	}
	if tok.VocabSize() != 600 {
		t.Errorf("VocabSize() = %d, want 600", tok.VocabSize())
	}
	for id, want := range []string{"<pad>", "<s>", "</s>", "<video>"} {
		if got := tok.Token(id); got != want {
			t.Errorf("Token(%d) = %q, want %q", id, got, want)
		}
	}
	tests := []struct {
		name string
		text string
		want []int // nil: only check the listed special positions below
	}{
		{"alone", "<s>", []int{1}},
		{"all four", "<pad><s></s><video>", []int{0, 1, 2, 3}},
		{"glued", "</s></s>", []int{2, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tok.Encode(tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
	t.Run("embedded", func(t *testing.T) {
		got := tok.Encode("hi<video>\nyo</s>")
		want := slices.Concat(tok.Encode("hi"), []int{3}, tok.Encode("\nyo"), []int{2})
		if !slices.Equal(got, want) {
			t.Errorf("Encode = %v, want %v", got, want)
		}
	})
	t.Run("partial is text", func(t *testing.T) {
		for _, s := range []string{"<s", "</s", "<video", "<pad", "s>", "<S>"} {
			for _, id := range tok.Encode(s) {
				if id < numSpecial {
					t.Errorf("Encode(%q) has special id %d", s, id)
				}
			}
		}
	})
	t.Run("no bos added", func(t *testing.T) {
		if ids := tok.Encode("hello"); len(ids) == 0 || ids[0] == tok.BOSID() {
			t.Errorf("Encode(%q) = %v, want no leading <s>", "hello", ids)
		}
	})
}

func TestDecodePanicsOutOfRange(t *testing.T) {
	tok := trainedTokenizer(t)
	for _, id := range []int{-1, tok.VocabSize()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Decode([%d]) did not panic", id)
				}
			}()
			tok.Decode([]int{id})
		}()
	}
}

func TestTrain(t *testing.T) {
	t.Run("deterministic and order free", func(t *testing.T) {
		a, err := Train(corpus, 500)
		if err != nil {
			t.Fatal(err)
		}
		rev := slices.Clone(corpus)
		slices.Reverse(rev)
		b, err := Train(rev, 500)
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := a.marshal()
		jb, _ := b.marshal()
		if string(ja) != string(jb) {
			t.Error("training twice (texts reversed) gave different tokenizers")
		}
	})
	t.Run("byte tokens", func(t *testing.T) {
		tok, err := Train(nil, minVocab)
		if err != nil {
			t.Fatal(err)
		}
		if tok.VocabSize() != minVocab || len(tok.merges) != 0 {
			t.Fatalf("VocabSize = %d with %d merges, want %d and 0", tok.VocabSize(), len(tok.merges), minVocab)
		}
		for b := range 256 {
			if got := tok.Encode(string([]byte{byte(b)})); !slices.Equal(got, []int{numSpecial + b}) {
				t.Fatalf("byte %#02x encodes as %v, want [%d]", b, got, numSpecial+b)
			}
		}
	})
	t.Run("runs out of pairs", func(t *testing.T) {
		tok, err := Train([]string{"ab ab"}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		// "ab" and " ab": merges a+b, space+ab; then no pair is left.
		if tok.VocabSize() != minVocab+2 {
			t.Errorf("VocabSize = %d, want %d", tok.VocabSize(), minVocab+2)
		}
		if got := tok.Encode("ab ab"); len(got) != 2 {
			t.Errorf("Encode(%q) = %v, want 2 tokens", "ab ab", got)
		}
	})
	t.Run("specials are not learned", func(t *testing.T) {
		tok, err := Train([]string{strings.Repeat("<video></s>", 100)}, 400)
		if err != nil {
			t.Fatal(err)
		}
		if tok.VocabSize() != minVocab {
			t.Errorf("VocabSize = %d, want %d (special strings must not be counted)", tok.VocabSize(), minVocab)
		}
	})
	t.Run("too small", func(t *testing.T) {
		if _, err := Train(corpus, minVocab-1); err == nil {
			t.Error("Train with vocabSize 259 succeeded")
		}
	})
}

func FuzzEncodeDecode(f *testing.F) {
	tok := trainedTokenizer(f)
	for _, tc := range roundTripCases {
		f.Add(tc.text)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		if utf8.ValidString(s) && len(ids) > len(s) {
			t.Fatalf("Encode(%q) has %d tokens for %d bytes", s, len(ids), len(s))
		}
	})
}

func TestEncodeConcurrent(t *testing.T) {
	tok, err := Train(corpus, 500) // a fresh tokenizer, so the goroutines fill its cache together
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]int, len(corpus))
	for i, s := range corpus {
		want[i] = tok.bpeOnly(s)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range corpus {
				s := corpus[(i+g)%len(corpus)]
				if got := tok.Encode(s); !slices.Equal(got, want[(i+g)%len(corpus)]) {
					t.Errorf("Encode(%q) = %v, want %v", s, got, want[(i+g)%len(corpus)])
				}
			}
		})
	}
	wg.Wait()
}

// bpeOnly encodes s without touching the cache.
func (t *Tokenizer) bpeOnly(s string) []int {
	var ids []int
	for seg, special := range segments(s) {
		if special >= 0 {
			ids = append(ids, special)
			continue
		}
		for w := range words(seg) {
			for _, id := range t.bpe(w) {
				ids = append(ids, int(id))
			}
		}
	}
	return ids
}
