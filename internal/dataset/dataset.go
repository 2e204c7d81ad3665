// Package dataset reads and writes vrlaif datasets: folders of Parquet shards (part-*.parquet)
// of one row type, zstd-compressed, with the schema version and row type in each file's
// key-value metadata. Shards are written under a hidden temporary name and renamed when complete,
// so an interrupted run never leaves a half file that a reader would pick up.
package dataset

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/schemas"
)

// ErrNewerSchema is returned when a file was written by a newer schema version.
var ErrNewerSchema = errors.New("dataset: file written by a newer vrlaif schema version")

// ErrWrongRowType is returned when a file's recorded row type is not the one asked for: a
// clips/ folder given where preferences are read, say.
var ErrWrongRowType = errors.New("dataset: wrong dataset")

// Writer appends rows of T to a dataset folder, starting a new shard every ShardRows rows.
// Shards of earlier runs are kept: a new Writer numbers its shards after the highest existing one.
type Writer[T any] struct {
	dir       string
	rowType   string
	shardRows int
	groupRows int
	next      int
	rows      int // rows in the open shard
	total     int
	f         *os.File
	tmp       string
	w         *parquet.GenericWriter[T]
}

// NewWriter opens dir (created if missing) for rows of rowType. shardRows ≤ 0 means 1000.
// Rows are buffered in memory per row group (groupRows[0], default 256 rows): pass a small value
// for rows that carry images.
func NewWriter[T any](dir, rowType string, shardRows int, groupRows ...int) (*Writer[T], error) {
	if shardRows <= 0 {
		shardRows = 1000
	}
	group := 256
	if len(groupRows) > 0 && groupRows[0] > 0 {
		group = groupRows[0]
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	shards, err := Shards(dir)
	if err != nil {
		return nil, err
	}
	next := 0
	for _, s := range shards {
		if n, ok := shardNumber(s); ok && n >= next {
			next = n + 1
		}
	}
	return &Writer[T]{dir: dir, rowType: rowType, shardRows: shardRows, groupRows: group, next: next}, nil
}

// Write appends rows.
func (w *Writer[T]) Write(rows ...T) error {
	for len(rows) > 0 {
		if w.w == nil {
			if err := w.open(); err != nil {
				return err
			}
		}
		n := min(len(rows), w.shardRows-w.rows)
		if _, err := w.w.Write(rows[:n]); err != nil {
			return fmt.Errorf("dataset: writing %s: %w", w.tmp, err)
		}
		w.rows += n
		w.total += n
		rows = rows[n:]
		if w.rows >= w.shardRows {
			if err := w.finish(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Rows returns how many rows this writer has written.
func (w *Writer[T]) Rows() int { return w.total }

func (w *Writer[T]) open() error {
	name := fmt.Sprintf("part-%05d.parquet", w.next)
	w.next++
	w.tmp = filepath.Join(w.dir, "."+name+".tmp")
	f, err := os.Create(w.tmp)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	w.f = f
	w.rows = 0
	w.w = parquet.NewGenericWriter[T](f,
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(int64(w.groupRows)),
		parquet.KeyValueMetadata(schemas.MetaVersion, strconv.Itoa(schemas.Version)),
		parquet.KeyValueMetadata(schemas.MetaRowType, w.rowType),
		parquet.CreatedBy("vrlaif", "", ""))
	return nil
}

func (w *Writer[T]) finish() error {
	if w.w == nil {
		return nil
	}
	err := w.w.Close()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	final := filepath.Join(w.dir, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(w.tmp), "."), ".tmp"))
	if err == nil {
		err = os.Rename(w.tmp, final)
	}
	w.w, w.f = nil, nil
	if err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("dataset: finishing %s: %w", final, err)
	}
	return nil
}

// Close finishes the open shard. A writer that wrote nothing leaves no file.
func (w *Writer[T]) Close() error { return w.finish() }

// Abort drops the open shard without renaming it.
func (w *Writer[T]) Abort() {
	if w.w != nil {
		w.f.Close()
		os.Remove(w.tmp)
		w.w, w.f = nil, nil
	}
}

// Folder accepts either a run folder holding sub/ (e.g. a feedback output and "preferences") or the
// dataset folder itself, and returns the dataset folder.
func Folder(dir, sub string) string {
	if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
		return filepath.Join(dir, sub)
	}
	return dir
}

// Shards lists dir's complete shards in name order; a missing dir has none.
func Shards(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasPrefix(n, "part-") && strings.HasSuffix(n, ".parquet") {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

func shardNumber(path string) (int, bool) {
	s := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "part-"), ".parquet")
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// Read calls fn for every row of every shard in dir, in order. It stops at fn's first error.
func Read[T any](dir string, fn func(T) error) error {
	shards, err := Shards(dir)
	if err != nil {
		return err
	}
	for _, s := range shards {
		if err := readShard(s, fn); err != nil {
			return err
		}
	}
	return nil
}

// WriteAll writes rows into dir as new shards of rowType (shardRows ≤ 0: 1000 rows each), the
// inverse of ReadAll. On an error the shard being written is removed.
func WriteAll[T any](dir, rowType string, shardRows int, rows ...T) error {
	w, err := NewWriter[T](dir, rowType, shardRows)
	if err != nil {
		return err
	}
	if err := w.Write(rows...); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// ReadAll returns every row in dir.
func ReadAll[T any](dir string) ([]T, error) {
	var out []T
	err := Read(dir, func(r T) error { out = append(out, r); return nil })
	return out, err
}

func readShard[T any](path string, fn func(T) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return fmt.Errorf("dataset: opening %s: %w", path, err)
	}
	if v, ok := pf.Lookup(schemas.MetaVersion); ok {
		if n, err := strconv.Atoi(v); err != nil || n > schemas.Version {
			return fmt.Errorf("%w: %s has version %q, this build reads %d", ErrNewerSchema, path, v, schemas.Version)
		}
	}
	// Rows of another type would read as zero values where their columns differ: refuse them.
	if want := schemas.RowTypeOf(*new(T)); want != "" {
		if got, ok := pf.Lookup(schemas.MetaRowType); ok && got != want {
			return fmt.Errorf("%w: %s holds %s rows, not %s: give a folder of %s (a %s/ folder)",
				ErrWrongRowType, path, got, want, want, want)
		}
	}
	r := parquet.NewGenericReader[T](pf)
	defer r.Close()
	buf := make([]T, 64)
	for {
		clear(buf) // the reader may reuse the slices of rows it is given
		n, err := r.Read(buf)
		for i := 0; i < n; i++ {
			if ferr := fn(buf[i]); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("dataset: reading %s: %w", path, err)
		}
	}
}
