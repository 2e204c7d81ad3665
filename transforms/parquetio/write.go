package parquetio

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/parquet-go/parquet-go"
)

// Write writes rows (PCollection<T>) as Parquet shards into the folder dir, with rowType in each
// file's metadata, and returns the paths of the shards written (PCollection<string>), so that a
// caller can count them or wait for them. T must have been registered with Register[T] in an
// init function. Write panics at construction if its arguments are invalid; TryWrite returns the
// error instead.
func Write[T any](s beam.Scope, dir, rowType string, rows beam.PCollection, p WriteParams) beam.PCollection {
	out, err := TryWrite[T](s, dir, rowType, rows, p)
	if err != nil {
		panic(err)
	}
	return out
}

// TryWrite is Write returning an error instead of panicking.
func TryWrite[T any](s beam.Scope, dir, rowType string, rows beam.PCollection, p WriteParams) (beam.PCollection, error) {
	s = s.Scope("parquetio.Write")
	if err := validate[T](dir, rowType, p); err != nil {
		return beam.PCollection{}, err
	}
	if p.Unique {
		rows = unique[T](s, rowType, p.IDField, rows)
	}
	outs, err := beam.TryParDo(s, &writeFn[T]{Dir: dir, RowType: rowType, Params: p}, rows)
	if err != nil {
		return beam.PCollection{}, fmt.Errorf("parquetio.Write: %w", err)
	}
	return outs[0], nil
}

// writeFn buffers a bundle's rows and writes them as shards of at most ShardRows rows: when the
// buffer is full and in FinishBundle. It emits each shard's path.
type writeFn[T any] struct {
	Dir     string      `json:"dir"`
	RowType string      `json:"row_type"`
	Params  WriteParams `json:"params"`

	p        WriteParams // Params with defaults
	idx      int         // the id field's index in T, -1 for none
	schema   *parquet.Schema
	existing map[string]struct{} // ids already in Dir at Setup (SkipExisting only)
	buf      []T

	written, skipped, shards beam.Counter
}

func (f *writeFn[T]) Setup() error {
	f.p = f.Params.withDefaults()
	idx, column, err := idField[T](f.p.IDField)
	if err != nil {
		return err
	}
	f.idx = idx
	f.schema = parquet.SchemaOf(new(T))
	f.written = beam.NewCounter(f.RowType, "written")
	f.skipped = beam.NewCounter(f.RowType, "skipped")
	f.shards = beam.NewCounter(f.RowType, "shards")
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return fmt.Errorf("parquetio: %w", err)
	}
	if f.p.SkipExisting {
		if f.existing, err = existingIDs(f.Dir, f.RowType, column); err != nil {
			return err
		}
	}
	return nil
}

func (f *writeFn[T]) StartBundle(_ context.Context, _ func(string)) {
	clear(f.buf) // a failed bundle may have left rows behind
	f.buf = f.buf[:0]
}

func (f *writeFn[T]) ProcessElement(ctx context.Context, row T, emit func(string)) error {
	if f.existing != nil {
		if _, ok := f.existing[reflect.ValueOf(&row).Elem().Field(f.idx).String()]; ok {
			f.skipped.Inc(ctx, 1)
			return nil
		}
	}
	f.buf = append(f.buf, row)
	if len(f.buf) >= f.p.ShardRows {
		return f.flush(ctx, emit)
	}
	return nil
}

func (f *writeFn[T]) FinishBundle(ctx context.Context, emit func(string)) error {
	return f.flush(ctx, emit)
}

// flush writes the buffered rows as one shard, sorted, under their content name.
func (f *writeFn[T]) flush(ctx context.Context, emit func(string)) error {
	if len(f.buf) == 0 {
		return nil
	}
	keys := sortRows(f.buf, sortKeys(f.schema, f.idx, f.buf))
	name := shardName(f.RowType, keys)
	if err := writeShard(f.Dir, name, f.RowType, f.p.RowGroupRows, f.buf); err != nil {
		return err
	}
	f.written.Inc(ctx, int64(len(f.buf)))
	f.shards.Inc(ctx, 1)
	emit(filepath.Join(f.Dir, name))
	clear(f.buf) // drop references to the rows (they may carry images)
	f.buf = f.buf[:0]
	return nil
}
