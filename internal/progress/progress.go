// Package progress keeps process-wide running counts per stage, so a command can print a
// progress line while a pipeline runs in this process (Prism, or a LOOPBACK worker). Beam's own
// counters are the authoritative totals, read when the run ends; these are for watching.
package progress

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

var counts sync.Map // "stage\x00name" → *atomic.Int64

// Add adds n to stage's counter name.
func Add(stage, name string, n int64) {
	v, _ := counts.LoadOrStore(stage+"\x00"+name, new(atomic.Int64))
	v.(*atomic.Int64).Add(n)
}

// Get returns stage's counter name.
func Get(stage, name string) int64 {
	if v, ok := counts.Load(stage + "\x00" + name); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// Reset clears every counter (a command calls it before a run).
func Reset() { counts.Clear() }

var inputNouns sync.Map // stage → what its "in" counter counts, where that is not what "out" counts

// CountsFrom declares that stage's "in" counter counts other things (noun: "questions",
// "answers") than its "out" counter, as where each question yields several responses. Line then
// shows "responses 284 from 143 questions", not "responses 284/143", which reads as done/total.
func CountsFrom(stage, noun string) { inputNouns.Store(stage, noun) }

// Line renders the counters of stages, in that order: "frames 3/8 (1 dead) · narrative 2/3 ·
// responses 4 from 2 questions", where a stage shows out/in (or out from in, see CountsFrom) and
// its dead letters when there are any.
func Line(stages ...string) string {
	var parts []string
	for _, s := range stages {
		in, out, dead := Get(s, "in"), Get(s, "out"), Get(s, "deadletter")
		if in == 0 && out == 0 && dead == 0 {
			continue
		}
		p := fmt.Sprintf("%s %d/%d", s, out, in)
		if noun, ok := inputNouns.Load(s); ok {
			p = fmt.Sprintf("%s %d from %d %s", s, out, in, noun)
		}
		if dead > 0 {
			p += fmt.Sprintf(" (%d dead)", dead)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " · ")
}

// Snapshot returns every counter as "stage.name" → value, sorted keys for printing.
func Snapshot() map[string]int64 {
	out := map[string]int64{}
	counts.Range(func(k, v any) bool {
		out[strings.Replace(k.(string), "\x00", ".", 1)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// Keys is a helper for sorted printing.
func Keys(m map[string]int64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
