// Package deadletters keeps a resumable run folder's deadletter/ true to what is missing. A
// re-run writes only the rows that are missing and retries what failed; a dead letter of an item
// the re-run has now written would otherwise stay in deadletter/ (its id is deterministic, so a
// failure that recurs keeps its row, and one that was fixed keeps it too).
package deadletters

import (
	"errors"
	"fmt"
	"os"

	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// Prune removes the dead letters in dir for which resolved is true, and repeats of one id. It
// rewrites dir only when a row goes: the kept rows are written as new shards first, then the old
// shards are removed, so a crash in between leaves repeats (which the next Prune removes), never
// a loss. It returns how many rows went.
func Prune(dir string, resolved func(schemas.DeadLetter) bool) (int, error) {
	old, err := dataset.Shards(dir)
	if err != nil || len(old) == 0 {
		return 0, err
	}
	rows, err := dataset.ReadAll[schemas.DeadLetter](dir)
	if err != nil {
		return 0, fmt.Errorf("deadletters: %w", err)
	}
	seen := map[string]bool{}
	var kept []schemas.DeadLetter
	for _, d := range rows {
		if d.ID != "" && seen[d.ID] || resolved(d) {
			continue
		}
		seen[d.ID] = true
		kept = append(kept, d)
	}
	if len(kept) == len(rows) {
		return 0, nil
	}
	if err := dataset.WriteAll(dir, schemas.RowDeadLetter, 0, kept...); err != nil {
		return 0, fmt.Errorf("deadletters: %w", err)
	}
	var errs []error
	for _, s := range old {
		if err := os.Remove(s); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return 0, fmt.Errorf("deadletters: %w", err)
	}
	return len(rows) - len(kept), nil
}

// IDs reads one string column of the dataset in dir into a set: T is a projection with that
// column (e.g. struct{ VideoID string `parquet:"video_id"` }) and key picks it.
func IDs[T any](dir string, key func(T) []string) (map[string]bool, error) {
	set := map[string]bool{}
	err := dataset.Read(dir, func(r T) error {
		for _, k := range key(r) {
			set[k] = true
		}
		return nil
	})
	return set, err
}
