package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/vrlaif/vrlaif/internal/atomicfile"
	"github.com/vrlaif/vrlaif/schemas"
)

// writeSummary writes dir/summary.json atomically.
func writeSummary(dir string, s schemas.Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if err := atomicfile.Write(dir, "summary.json", append(b, '\n')); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return nil
}

// kindsText is " (bad_record: 2, id_conflict: 1)" for dead-letter counts by kind, "" for none.
func kindsText(kinds map[string]int) string {
	if len(kinds) == 0 {
		return ""
	}
	parts := make([]string, 0, len(kinds))
	for k, n := range kinds {
		parts = append(parts, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}
