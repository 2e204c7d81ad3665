package parquetio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// ErrNewerSchema is returned when a file was written by a newer schema version than this build's
// schemas.Version.
var ErrNewerSchema = errors.New("parquetio: file written by a newer vrlaif schema version")

// readBatchRows is how many rows readFn asks the reader for at a time.
const readBatchRows = 64

// Read reads the rows of type T (PCollection<T>) from Parquet files. glob is a dataset folder (its
// complete shards, part-*.parquet) or a file pattern (filepath.Match syntax; hidden files are
// left out); it is expanded when the pipeline runs, and a pattern that matches nothing fails it.
// A path without pattern characters that does not exist reads as empty (a folder that a stage
// has not written yet). T must have been registered with Register[T]. Read panics at
// construction if glob is malformed; TryRead returns the error instead.
func Read[T any](s beam.Scope, glob string) beam.PCollection {
	out, err := TryRead[T](s, glob)
	if err != nil {
		panic(err)
	}
	return out
}

// TryRead is Read returning an error instead of panicking.
func TryRead[T any](s beam.Scope, glob string) (beam.PCollection, error) {
	s = s.Scope("parquetio.Read")
	if glob == "" {
		return beam.PCollection{}, errors.New("parquetio: empty glob")
	}
	if _, err := filepath.Match(glob, ""); err != nil {
		return beam.PCollection{}, fmt.Errorf("parquetio: glob %q: %w", glob, err)
	}
	files := beam.ParDo(s, &expandFn{Glob: glob}, beam.Impulse(s))
	files = beam.Reshuffle(s, files)
	outs, err := beam.TryParDo(s, &readFn[T]{}, files)
	if err != nil {
		return beam.PCollection{}, fmt.Errorf("parquetio.Read: %w", err)
	}
	return outs[0], nil
}

// expandFn emits the files that Glob names, in name order.
type expandFn struct {
	Glob string `json:"glob"`
}

func (f *expandFn) ProcessElement(_ context.Context, _ []byte, emit func(string)) error {
	files, err := expand(f.Glob)
	if err != nil {
		return err
	}
	for _, path := range files {
		emit(path)
	}
	return nil
}

func expand(glob string) ([]string, error) {
	if st, err := os.Stat(glob); errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(glob, `*?[\`) {
		return nil, nil // a folder a stage has not written yet
	} else if err == nil && st.IsDir() {
		files, err := dataset.Shards(glob)
		if err != nil {
			return nil, fmt.Errorf("parquetio: %w", err)
		}
		return files, nil
	}
	matches, err := filepath.Glob(glob)
	if err != nil {
		return nil, fmt.Errorf("parquetio: glob %q: %w", glob, err)
	}
	var files []string
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && !st.IsDir() && !strings.HasPrefix(filepath.Base(m), ".") {
			files = append(files, m)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("parquetio: no files match %q", glob)
	}
	sort.Strings(files)
	return files, nil
}

// readFn reads one file's rows in batches and emits them.
type readFn[T any] struct{}

func (f *readFn[T]) ProcessElement(ctx context.Context, path string, emit func(T)) error {
	return readFile(ctx, path, emit)
}

func readFile[T any](ctx context.Context, path string, emit func(T)) error {
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("parquetio: %w", err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return fmt.Errorf("parquetio: %w", err)
	}
	pf, err := parquet.OpenFile(file, st.Size())
	if err != nil {
		return fmt.Errorf("parquetio: opening %s: %w", path, err)
	}
	if v, ok := pf.Lookup(schemas.MetaVersion); ok {
		if n, err := strconv.Atoi(v); err != nil || n > schemas.Version {
			return fmt.Errorf("%w: %s has version %q, this build reads %d", ErrNewerSchema, path, v, schemas.Version)
		}
	}
	r := parquet.NewGenericReader[T](pf)
	defer r.Close()
	buf := make([]T, readBatchRows)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		clear(buf) // emitted rows may be kept downstream: the reader must not reuse their slices
		n, err := r.Read(buf)
		for _, row := range buf[:n] {
			emit(row)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("parquetio: reading %s: %w", path, err)
		}
	}
}
