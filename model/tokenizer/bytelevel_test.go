package tokenizer

import (
	"regexp"
	"slices"
	"testing"
	"unicode/utf8"
)

func TestByteLevelTable(t *testing.T) {
	seen := make(map[rune]bool)
	for b, r := range byteRune {
		if seen[r] {
			t.Fatalf("rune %q used twice", r)
		}
		seen[r] = true
		if runeByte[r] != byte(b) {
			t.Fatalf("runeByte[%q] = %d, want %d", r, runeByte[r], b)
		}
	}
	// Spot checks against GPT-2's bytes_to_unicode.
	for b, want := range map[byte]rune{' ': 'Ġ', '\n': 'Ċ', '\t': 'ĉ', 0: 'Ā', 'a': 'a', 0xa0: 'ł', 0xad: 'Ń', 0x7f: 'ġ', 0xff: 'ÿ'} {
		if byteRune[b] != want {
			t.Errorf("byteRune[%#02x] = %q, want %q", b, byteRune[b], want)
		}
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"sentence", "Hello world!", []string{"Hello", " world", "!"}},
		{"contractions", "it's we're I'll 'd", []string{"it", "'s", " we", "'re", " I", "'ll", " '", "d"}},
		{"numbers", "a 42 3.14", []string{"a", " 42", " 3", ".", "14"}},
		{"letters then digits", "abc123", []string{"abc", "123"}},
		{"punctuation run", "ok?! (yes)", []string{"ok", "?!", " (", "yes", ")"}},
		{"space runs", "a   b", []string{"a", "  ", " b"}},
		{"newline before word", "a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"space newline", "a \nb", []string{"a", " ", "\n", "b"}},
		{"trailing spaces", "a  ", []string{"a", "  "}},
		{"leading newline", "\nHi", []string{"\n", "Hi"}},
		{"tab before word", "a\tb", []string{"a", "\t", "b"}},
		{"unicode", "Café 日本 🎬🍝!", []string{"Café", " 日本", " 🎬🍝!"}},
		{"ideographic space", "a\u3000b", []string{"a", "\u3000", "b"}},
		{"assistant", "ASSISTANT: A man", []string{"ASSISTANT", ":", " A", " man"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := slices.Collect(words(tc.text)); !slices.Equal(got, tc.want) {
				t.Errorf("words(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

// refAlternatives are the GPT-2 pattern's alternatives before the whitespace ones, with \s
// spelled as the Unicode White_Space set (Go's \s is ASCII only).
var refAlternatives = []*regexp.Regexp{
	regexp.MustCompile(`^(?:'s|'t|'re|'ve|'m|'ll|'d)`),
	regexp.MustCompile(`^ ?\p{L}+`),
	regexp.MustCompile(`^ ?\p{N}+`),
	regexp.MustCompile(`^ ?[^\p{Z}\t\n\v\f\r\x{85}\p{L}\p{N}]+`),
}

var refSpaceRun = regexp.MustCompile(`^[\p{Z}\t\n\v\f\r\x{85}]+`)

// refWords splits valid UTF-8 with the GPT-2 pattern, trying the alternatives in order at each
// position and resolving \s+(?!\S) by backtracking one rune.
func refWords(s string) []string {
	var out []string
	for len(s) > 0 {
		n := 0
		for _, re := range refAlternatives {
			if loc := re.FindStringIndex(s); loc != nil {
				n = loc[1]
				break
			}
		}
		if n == 0 {
			n = refSpaceRun.FindStringIndex(s)[1]
			if n < len(s) { // a non-space follows: \s+(?!\S) must stop one rune short
				_, last := utf8.DecodeLastRuneInString(s[:n])
				if n-last > 0 {
					n -= last
				}
			}
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

func FuzzWords(f *testing.F) {
	for _, tc := range roundTripCases {
		f.Add(tc.text)
	}
	f.Add("a \u2029\u00a0b \x0b\x0c c\u1680")
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip("the reference needs valid UTF-8")
		}
		if got, want := slices.Collect(words(s)), refWords(s); !slices.Equal(got, want) {
			t.Fatalf("words(%q) = %q, reference %q", s, got, want)
		}
	})
}

func TestSegments(t *testing.T) {
	type seg struct {
		text string
		id   int
	}
	tests := []struct {
		name string
		text string
		want []seg
	}{
		{"none", "plain", []seg{{"plain", -1}}},
		{"mixed", "<s>a</s>b<video>", []seg{{"<s>", 1}, {"a", -1}, {"</s>", 2}, {"b", -1}, {"<video>", 3}}},
		{"partial", "<<pad>", []seg{{"<", -1}, {"<pad>", 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []seg
			for text, id := range segments(tc.text) {
				got = append(got, seg{text, id})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("segments(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}
