package tokenizer

import (
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"
)

// byteRune is GPT-2's bytes_to_unicode table: printable Latin-1 bytes map to themselves, the other
// 68 bytes to U+0100 and up, in byte order. runeByte is its inverse.
var byteRune, runeByte = byteLevelTables()

func byteLevelTables() ([256]rune, map[rune]byte) {
	var br [256]rune
	rb := make(map[rune]byte, 256)
	next := rune(256)
	for b := range 256 {
		r := rune(b)
		if !('!' <= b && b <= '~' || '¡' <= b && b <= '¬' || '®' <= b && b <= 'ÿ') {
			r = next
			next++
		}
		br[b] = r
		rb[r] = byte(b)
	}
	return br, rb
}

// byteLevel maps raw bytes to their byte-level token text.
func byteLevel(raw []byte) string {
	var b strings.Builder
	b.Grow(2 * len(raw))
	for _, c := range raw {
		b.WriteRune(byteRune[c])
	}
	return b.String()
}

// rawBytes inverts byteLevel; ok is false if s has a rune outside the table.
func rawBytes(s string) (raw []byte, ok bool) {
	raw = make([]byte, 0, len(s))
	for _, r := range s {
		c, found := runeByte[r]
		if !found {
			return nil, false
		}
		raw = append(raw, c)
	}
	return raw, true
}

// Special token texts, at ids 0..3 in this order.
var specials = [numSpecial]string{"<pad>", "<s>", "</s>", "<video>"}

// segments yields the pieces of s in order: a special token as (text, its id), and the text
// between special tokens as (text, -1). Empty plain pieces are skipped.
func segments(s string) iter.Seq2[string, int] {
	return func(yield func(string, int) bool) {
		start := 0
		for i := 0; i < len(s); i++ {
			if s[i] != '<' {
				continue
			}
			for id, sp := range specials {
				if !strings.HasPrefix(s[i:], sp) {
					continue
				}
				if start < i && !yield(s[start:i], -1) {
					return
				}
				if !yield(sp, id) {
					return
				}
				start = i + len(sp)
				i = start - 1
				break
			}
		}
		if start < len(s) {
			yield(s[start:], -1)
		}
	}
}

// class is a rune's class in the pre-tokenizer pattern.
type class uint8

const (
	classSpace  class = iota // \s
	classLetter              // \p{L}
	classNumber              // \p{N}
	classOther               // [^\s\p{L}\p{N}], including invalid UTF-8 bytes
)

func classify(r rune) class {
	switch {
	case r < utf8.RuneSelf:
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
			return classLetter
		case '0' <= r && r <= '9':
			return classNumber
		case r == ' ', '\t' <= r && r <= '\r':
			return classSpace
		}
		return classOther
	case unicode.IsSpace(r):
		return classSpace
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	}
	return classOther
}

// classAt returns the class and byte width of the rune starting at s[i].
func classAt(s string, i int) (class, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return classify(rune(c)), 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return classify(r), w
}

// runEnd returns the end of the run of class c that starts at i.
func runEnd(s string, i int, c class) int {
	for i < len(s) {
		ci, w := classAt(s, i)
		if ci != c {
			break
		}
		i += w
	}
	return i
}

// contraction returns the length of the GPT-2 contraction ('s 't 're 've 'm 'll 'd) at the start
// of s, or 0.
func contraction(s string) int {
	if len(s) < 2 || s[0] != '\'' {
		return 0
	}
	switch s[1] {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if len(s) >= 3 && s[2] == 'e' {
			return 3
		}
	case 'l':
		if len(s) >= 3 && s[2] == 'l' {
			return 3
		}
	}
	return 0
}

// words yields the pre-tokens of s (which holds no special tokens), following the GPT-2 pattern
// alternative by alternative; their concatenation is s.
func words(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := 0; i < len(s); {
			j := wordEnd(s, i)
			if !yield(s[i:j]) {
				return
			}
			i = j
		}
	}
}

// wordEnd returns the end of the pre-token that starts at s[i].
func wordEnd(s string, i int) int {
	if n := contraction(s[i:]); n > 0 {
		return i + n // 's|'t|'re|'ve|'m|'ll|'d
	}
	c, w := classAt(s, i)
	if c == classSpace && s[i] == ' ' && i+1 < len(s) {
		if next, _ := classAt(s, i+1); next != classSpace {
			return runEnd(s, i+1, next) // " ?\p{L}+", " ?\p{N}+" or " ?[^\s\p{L}\p{N}]+" with the space
		}
	}
	if c != classSpace {
		return runEnd(s, i+w, c)
	}
	// \s+(?!\S) leaves the run's last rune to the next token when a non-space follows; a lone
	// whitespace rune before a non-space falls through to \s+ and stands alone.
	last, end := i, i+w
	for end < len(s) {
		ce, we := classAt(s, end)
		if ce != classSpace {
			break
		}
		last, end = end, end+we
	}
	if end == len(s) || last == i {
		return end
	}
	return last
}
