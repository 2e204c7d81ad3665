package judge

import (
	"strings"
	"unicode/utf8"

	"github.com/vrlaif/vrlaif/backend"
)

// MaxShortenings bounds how often one pair's narrative is shortened to fit the judge's context.
const MaxShortenings = 6

// shortenContext returns the narrative cut to fit where a prompt of promptChars characters
// missed the judge's context by e (Need − Limit positions, when e gives them; else by half).
// Each line ("Clip i: …") keeps the same share of its characters, so every sub-clip stays
// described from its start; lines are cut at a space, and a line with nothing left but its label
// ("Clip 2:") is dropped. The result is always shorter than text (the share kept is below 1, so
// every line loses a character at least), which bounds Judge's retries.
func shortenContext(text string, promptChars int, e *backend.ContextLengthError) string {
	total := utf8.RuneCountInString(text)
	if total == 0 {
		return ""
	}
	keep := total / 2
	if e.Need > e.Limit && e.Limit > 0 && promptChars > 0 {
		// Characters per position of this prompt, with a 10 % margin. Its positions include the
		// video's and the reply's, which hold no text, so a text position holds more than this and
		// the cut may fall short; the next refusal then says by how much (Judge tries again).
		perPosition := float64(promptChars) / float64(e.Need)
		drop := int(1.1*float64(e.Need-e.Limit)*perPosition) + 1
		keep = max(0, min(total-1, total-drop))
	}
	share := float64(keep) / float64(total)
	var out []string
	for _, line := range strings.Split(text, "\n") {
		cut := cutAtSpace(line, int(share*float64(utf8.RuneCountInString(line))))
		if label := strings.Index(line, ": "); cut == "" || label >= 0 && len(cut) <= label+1 {
			continue // nothing left, or only the line's label ("Clip 2:")
		}
		out = append(out, cut)
	}
	return strings.Join(out, "\n")
}

// cutAtSpace is the first n characters of s, back to the last space within them (s when it is no
// longer; "" when no space is left), without trailing spaces.
func cutAtSpace(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)[:n]
	i := len(runes)
	for i > 0 && runes[i-1] != ' ' {
		i--
	}
	return strings.TrimRight(string(runes[:i]), " ")
}
