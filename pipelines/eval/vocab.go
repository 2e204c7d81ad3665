package eval

import (
	"sort"
	"strings"
	"unicode"

	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
)

// Word classes of the synthetic world's vocabulary. The scorer reads an answer as the set of
// vocabulary words it contains, each in its class; every other word is ignored.
const (
	ClassColour    = "colour"    // object and background colours
	ClassShape     = "shape"     // circle, square, triangle
	ClassSize      = "size"      // small, large
	ClassDirection = "direction" // left, right, up, down
	ClassEvent     = "event"     // appear, move, stop, disappear
	ClassNumber    = "number"    // one … five (words or digits)
	ClassAnswer    = "answer"    // yes, no
)

// word is one vocabulary word in its class, e.g. {colour red}.
type word struct{ class, value string }

var lexicon = buildLexicon()

func buildLexicon() map[string]word {
	m := map[string]word{}
	add := func(class string, forms map[string][]string) {
		for value, fs := range forms {
			m[value] = word{class, value}
			for _, f := range fs {
				m[f] = word{class, value}
			}
		}
	}
	for _, c := range append(append([]string{}, synth.Colors...), synth.Backgrounds...) {
		add(ClassColour, map[string][]string{c: nil})
	}
	m["grey"] = word{ClassColour, "gray"}
	for _, s := range synth.Shapes {
		add(ClassShape, map[string][]string{s: {s + "s"}})
	}
	for _, s := range synth.Sizes {
		add(ClassSize, map[string][]string{s: nil})
	}
	m["big"], m["little"] = word{ClassSize, "large"}, word{ClassSize, "small"}
	for _, d := range synth.Directions {
		add(ClassDirection, map[string][]string{d: {d + "ward", d + "wards"}})
	}
	add(ClassEvent, map[string][]string{
		"appear":    {"appears", "appeared", "appearing"},
		"move":      {"moves", "moved", "moving"},
		"stop":      {"stops", "stopped", "stopping"},
		"disappear": {"disappears", "disappeared", "disappearing", "vanishes", "vanished"},
	})
	add(ClassNumber, map[string][]string{"one": {"1"}, "two": {"2"}, "three": {"3"}, "four": {"4"}, "five": {"5"}})
	add(ClassAnswer, map[string][]string{"yes": nil, "no": nil})
	return m
}

// words returns the vocabulary words of a text: lower-cased, split at every character that is not
// a letter or digit, each word once, in first-seen order.
func words(text string) []word {
	var out []word
	seen := map[word]bool{}
	for _, tok := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if w, ok := lexicon[tok]; ok && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// byClass groups words by class.
func byClass(ws []word) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, w := range ws {
		if out[w.class] == nil {
			out[w.class] = map[string]bool{}
		}
		out[w.class][w.value] = true
	}
	return out
}

// factClasses are the classes a description's facts are counted in (answers and numbers are not
// facts of a scene description; sizes, colours, shapes, directions and events are).
var factClasses = map[string]bool{ClassColour: true, ClassShape: true, ClassSize: true, ClassDirection: true, ClassEvent: true}

// sceneWords is everything true of the clip that the vocabulary can say: its objects' colours,
// shapes and sizes, the background colour, the directions things moved in, the kinds of events
// that happened, and the number of objects.
func sceneWords(t schemas.Truth) map[word]bool {
	out := map[word]bool{{ClassColour, t.Background}: true}
	for _, o := range t.Objects {
		out[word{ClassColour, o.Color}] = true
		out[word{ClassShape, o.Shape}] = true
		out[word{ClassSize, o.Size}] = true
	}
	for _, e := range t.Events {
		out[word{ClassEvent, e.Kind}] = true
		if e.Kind == "move" {
			out[word{ClassDirection, e.Direction}] = true
		}
	}
	if n := len(t.Objects); n >= 1 && n <= 5 {
		out[word{ClassNumber, []string{"one", "two", "three", "four", "five"}[n-1]}] = true
	}
	return out
}

func sortedWords(ws map[word]bool) []string {
	var out []string
	for w := range ws {
		out = append(out, w.class+":"+w.value)
	}
	sort.Strings(out)
	return out
}
