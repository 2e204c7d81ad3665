package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vrlaif/vrlaif/internal/atomicfile"
)

// Dropped is an input record or example that training left out, and why. Training goes on
// without it; the output folder lists every one in DroppedFile, and the result counts them.
type Dropped struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"` // DropMalformed, DropFrames or DropTooLong
	Reason string `json:"reason"`
}

// Kinds of Dropped.
const (
	DropMalformed = "malformed"         // a seed JSON record that does not decode
	DropFrames    = "unreadable_frames" // a frame file that is missing or does not decode
	DropTooLong   = "too_long"          // longer than the model's context
)

// DroppedFile lists a training run's dropped records (JSON lines) in its output folder.
const DroppedFile = "dropped.jsonl"

// DropCounts counts drops by kind.
func DropCounts(d []Dropped) map[string]int {
	if len(d) == 0 {
		return nil
	}
	n := map[string]int{}
	for _, x := range d {
		n[x.Kind]++
	}
	return n
}

// DropLine describes drops in one line: "3 left out (2 malformed, 1 too_long; first: id: reason)".
func DropLine(d []Dropped) string {
	if len(d) == 0 {
		return "none left out"
	}
	n := DropCounts(d)
	kinds := make([]string, 0, len(n))
	for k := range n {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", n[k], k)
	}
	return fmt.Sprintf("%d left out (%s; first: %s: %s)", len(d), strings.Join(parts, ", "), d[0].ID, d[0].Reason)
}

// writeDropped writes dir/DroppedFile, or removes an earlier run's when nothing was dropped.
func writeDropped(dir string, d []Dropped) error {
	p := filepath.Join(dir, DroppedFile)
	if len(d) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("train: %w", err)
		}
		return nil
	}
	var b []byte
	for _, x := range d {
		line, err := json.Marshal(x)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		b = append(append(b, line...), '\n')
	}
	if err := atomicfile.Write(dir, DroppedFile, b); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}
