package synth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vrlaif/vrlaif/schemas"
)

var numberWords = []string{"no", "one", "two", "three", "four", "five"}

func name(o schemas.TruthObject) string { return o.Color + " " + o.Shape }

// region names where (x, y) lies in a 3×3 grid over the frame.
func region(t schemas.Truth, x, y float64) string {
	col := []string{"left", "centre", "right"}[min(2, int(3*x/float64(t.Width)))]
	row := []string{"top", "middle", "bottom"}[min(2, int(3*y/float64(t.Height)))]
	switch {
	case row == "middle" && col == "centre":
		return "centre"
	case row == "middle":
		return "centre " + col
	}
	return row + " " + col
}

func secs(t float64) string { return fmt.Sprintf("%.1f seconds", t) }

// eventSentence is one event told as a sentence.
func eventSentence(t schemas.Truth, e schemas.TruthEvent) string {
	o := t.Objects[e.Object]
	switch e.Kind {
	case "appear":
		x, y := o.Position(e.StartSeconds)
		if e.StartSeconds == 0 {
			return fmt.Sprintf("A %s %s is in the %s from the start.", o.Size, name(o), region(t, x, y))
		}
		return fmt.Sprintf("At %s a %s %s appears in the %s.", secs(e.StartSeconds), o.Size, name(o), region(t, x, y))
	case "move":
		x, y := o.Position(e.EndSeconds)
		return fmt.Sprintf("From %.1f to %s the %s moves %s, to the %s.", e.StartSeconds, secs(e.EndSeconds), name(o), e.Direction, region(t, x, y))
	case "stop":
		return fmt.Sprintf("At %s the %s stops.", secs(e.StartSeconds), name(o))
	case "disappear":
		return fmt.Sprintf("At %s the %s disappears.", secs(e.StartSeconds), name(o))
	}
	return ""
}

// eventPhrase is a short past-tense phrase for an event, used in questions and gold answers.
func eventPhrase(t schemas.Truth, e schemas.TruthEvent) string {
	o := t.Objects[e.Object]
	switch e.Kind {
	case "appear":
		return "the " + name(o) + " appears"
	case "move":
		return "the " + name(o) + " moves " + e.Direction
	case "stop":
		return "the " + name(o) + " stops"
	}
	return "the " + name(o) + " disappears"
}

func objectsPhrase(n int) string {
	if n == 1 {
		return "one shape"
	}
	return numberWords[n] + " shapes"
}

// thereAre says how many shapes there are, with the verb agreeing: "There is one shape",
// "There are two shapes".
func thereAre(n int) string {
	if n == 1 {
		return "There is one shape"
	}
	return "There are " + objectsPhrase(n)
}

// Agree makes a sentence's count agree with its number word after that word was swapped for
// another ("There is one shape." with "one" → "two" reads "There is two shape." and becomes
// "There are two shapes."): "shape(s)" after a number word takes its number, and so does an
// "is"/"are" before that number word. Other words are left as they are.
func Agree(s string) string {
	words := strings.Split(s, " ")
	for i, w := range words {
		n := slices.Index(numberWords, strings.ToLower(w))
		if n < 1 || i+1 >= len(words) {
			continue
		}
		noun, rest := splitWord(words[i+1])
		if noun != "shape" && noun != "shapes" {
			continue
		}
		noun = "shapes"
		if n == 1 {
			noun = "shape"
		}
		words[i+1] = noun + rest
		if i > 0 && (words[i-1] == "is" || words[i-1] == "are") {
			words[i-1] = "are"
			if n == 1 {
				words[i-1] = "is"
			}
		}
	}
	return strings.Join(words, " ")
}

// splitWord splits a word from the punctuation that ends it: "shapes." → "shapes", ".".
func splitWord(w string) (word, punct string) {
	end := len(w)
	for end > 0 && strings.ContainsRune(".,;:!?", rune(w[end-1])) {
		end--
	}
	return w[:end], w[end:]
}

// describe is the detailed description of the whole clip.
func describe(t schemas.Truth) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The video is %.1f seconds long and shows %s on a %s background.", t.DurationSeconds, objectsPhrase(len(t.Objects)), t.Background)
	for _, e := range t.Events {
		b.WriteString(" " + eventSentence(t, e))
	}
	moved := false
	for _, e := range t.Events {
		moved = moved || e.Kind == "move"
	}
	if !moved {
		b.WriteString(" Nothing moves.")
	}
	return b.String()
}

// describeThirds describes the three clips [0,D/3), [D/3,2D/3), [2D/3,D].
func describeThirds(t schemas.Truth) []string {
	out := make([]string, 3)
	d := t.DurationSeconds
	for k := range 3 {
		a, z := d*float64(k)/3, d*float64(k+1)/3
		var b strings.Builder
		fmt.Fprintf(&b, "From %.1f to %s:", a, secs(z))
		var seen []string
		for _, o := range t.Objects {
			if o.Visible(a) {
				x, y := o.Position(a)
				seen = append(seen, fmt.Sprintf("a %s %s in the %s", o.Size, name(o), region(t, x, y)))
			}
		}
		if len(seen) > 0 {
			fmt.Fprintf(&b, " at first there is %s on the %s background.", strings.Join(seen, " and "), t.Background)
		} else {
			fmt.Fprintf(&b, " at first the %s background is empty.", t.Background)
		}
		n := 0
		for _, e := range t.Events {
			inside := e.StartSeconds >= a && (e.StartSeconds < z || (k == 2 && e.StartSeconds <= z))
			if inside && !(e.Kind == "appear" && e.StartSeconds == 0) {
				b.WriteString(" " + eventSentence(t, e))
				n++
			}
		}
		if n == 0 {
			b.WriteString(" Nothing changes.")
		}
		out[k] = b.String()
	}
	return out
}
