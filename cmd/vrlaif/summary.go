package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vrlaif/vrlaif/schemas"
)

// writeSummary writes dir/summary.json (to a temp name, then renamed).
func writeSummary(dir string, s schemas.Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	tmp := filepath.Join(dir, ".summary.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, "summary.json"))
}
