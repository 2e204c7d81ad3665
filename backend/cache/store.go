// Package cache is the content-addressed call cache in front of any backend: a call whose key
// (backend, model and revision, template version, inputs with frame hashes, sampling parameters,
// seed, sample index) was answered before is served from disk and never paid for twice.
//
// The store is a folder of one small file per entry, named by the key's SHA-256 under a
// two-hex-digit fan-out (ab/abcdef….entry). An entry is written to a temporary file, synced, and
// hard-linked to its name: the link fails if the name exists, so the first writer wins and every
// later reader sees the same bytes, with no lock, across goroutines, processes and machines that
// share a POSIX file system. A crash leaves at most a stray temporary file, never half an entry.
package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Store is a folder of entries.
type Store struct {
	dir string
}

// Key is an entry's SHA-256.
type Key [sha256.Size]byte

func (k Key) String() string { return hex.EncodeToString(k[:]) }

// Open makes (if needed) and opens the folder.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(k Key) string {
	h := k.String()
	return filepath.Join(s.dir, h[:2], h+".entry")
}

// Get returns the entry for k, or ok false.
func (s *Store) Get(k Key) (data []byte, ok bool, err error) {
	data, err = os.ReadFile(s.path(k))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache: %w", err)
	}
	return data, true, nil
}

// Put stores data under k unless an entry exists; it reports whether this call wrote it.
func (s *Store) Put(k Key, data []byte) (bool, error) {
	p := s.path(k)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return false, fmt.Errorf("cache: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return false, fmt.Errorf("cache: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, fmt.Errorf("cache: writing %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, fmt.Errorf("cache: syncing %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("cache: %w", err)
	}
	switch err := os.Link(tmp, p); {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		return false, nil
	default:
		return false, fmt.Errorf("cache: %w", err)
	}
}

// Remove deletes the entry for k (used when an entry on disk is unreadable).
func (s *Store) Remove(k Key) error {
	if err := os.Remove(s.path(k)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// Len counts the entries (for tests and summaries; it walks the folder).
func (s *Store) Len() (int, error) {
	n := 0
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Ext(p) == ".entry" {
			n++
		}
		return nil
	})
	return n, err
}
