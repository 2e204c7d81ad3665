package main

import (
	"encoding/json"
	"fmt"

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
