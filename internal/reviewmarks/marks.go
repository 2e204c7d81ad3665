// Package reviewmarks keeps a reviewer's marks on preference rows in a small Parquet dataset beside
// a feedback folder's data (`review_marks/part-00000.parquet`). The file is rewritten whole on every
// change (written under a temporary name, synced, renamed over the old one), so a reader never sees
// half a file, and the preference rows themselves are never touched.
package reviewmarks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// ErrBadMark is returned for a mark that names no pair or an unknown verdict.
var ErrBadMark = errors.New("reviewmarks: bad mark")

const shardName = "part-00000.parquet"

// Dir is where a feedback folder keeps its marks.
func Dir(feedbackDir string) string { return filepath.Join(feedbackDir, schemas.RowReviewMark) }

// Load reads a feedback folder's marks by preference id; a folder without marks has none.
func Load(feedbackDir string) (map[string]schemas.ReviewMark, error) {
	out := map[string]schemas.ReviewMark{}
	err := dataset.Read(Dir(feedbackDir), func(m schemas.ReviewMark) error {
		out[m.PreferenceID] = m
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reviewmarks: reading %s: %w", Dir(feedbackDir), err)
	}
	return out, nil
}

// Store changes one feedback folder's marks. It is safe for concurrent use within a process; two
// processes marking the same folder at once may lose one's change (the last rename wins).
type Store struct {
	dir string // the feedback folder
	mu  sync.Mutex
}

// NewStore returns the store of a feedback folder.
func NewStore(feedbackDir string) *Store { return &Store{dir: feedbackDir} }

// All returns the folder's marks as they are on disk.
func (s *Store) All() (map[string]schemas.ReviewMark, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Load(s.dir)
}

// Set records m (replacing the pair's earlier mark) and returns the marks now on disk.
func (s *Store) Set(m schemas.ReviewMark) (map[string]schemas.ReviewMark, error) {
	if m.PreferenceID == "" || m.Mark != schemas.MarkWrong {
		return nil, fmt.Errorf("%w: preference id %q, mark %q (want %q)", ErrBadMark, m.PreferenceID, m.Mark, schemas.MarkWrong)
	}
	if m.CreatedMicros == 0 {
		m.CreatedMicros = time.Now().UnixMicro()
	}
	return s.change(func(all map[string]schemas.ReviewMark) { all[m.PreferenceID] = m })
}

// Clear removes the pair's mark, if any, and returns the marks now on disk.
func (s *Store) Clear(preferenceID string) (map[string]schemas.ReviewMark, error) {
	return s.change(func(all map[string]schemas.ReviewMark) { delete(all, preferenceID) })
}

func (s *Store) change(edit func(map[string]schemas.ReviewMark)) (map[string]schemas.ReviewMark, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := Load(s.dir) // re-read: another process may have written since
	if err != nil {
		return nil, err
	}
	edit(all)
	if err := write(Dir(s.dir), all); err != nil {
		return nil, err
	}
	return all, nil
}

// write replaces dir's one shard with the marks sorted by preference id (none: no shard).
func write(dir string, all map[string]schemas.ReviewMark) error {
	final := filepath.Join(dir, shardName)
	if len(all) == 0 {
		if err := os.Remove(final); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("reviewmarks: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reviewmarks: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".write-")
	if err != nil {
		return fmt.Errorf("reviewmarks: %w", err)
	}
	defer os.RemoveAll(tmp)
	rows := make([]schemas.ReviewMark, 0, len(all))
	for _, m := range all {
		rows = append(rows, m)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].PreferenceID < rows[j].PreferenceID })
	if err := dataset.WriteAll(tmp, schemas.RowReviewMark, len(rows)+1, rows...); err != nil {
		return fmt.Errorf("reviewmarks: %w", err)
	}
	written := filepath.Join(tmp, shardName)
	if err := syncFile(written); err != nil {
		return err
	}
	if err := os.Rename(written, final); err != nil {
		return fmt.Errorf("reviewmarks: %w", err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reviewmarks: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("reviewmarks: syncing %s: %w", path, err)
	}
	return nil
}
