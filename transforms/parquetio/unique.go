package parquetio

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// unique keeps one row per id (WriteParams.Unique): rows are grouped by their id and, of rows that
// share one, the row whose JSON encoding has the smallest SHA-256 is kept, so the choice does not
// depend on the order the rows arrive in. Dropped rows are counted as rowType.duplicates.
func unique[T any](s beam.Scope, rowType, idField string, rows beam.PCollection) beam.PCollection {
	s = s.Scope("unique")
	keyed := beam.ParDo(s, &keyByIDFn[T]{IDField: idField}, rows)
	return beam.ParDo(s, &oneOfFn[T]{RowType: rowType}, beam.GroupByKey(s, keyed))
}

type keyByIDFn[T any] struct {
	IDField string `json:"id_field"`
	idx     int
}

func (f *keyByIDFn[T]) Setup() error {
	var err error
	f.idx, _, err = idField[T](f.IDField)
	return err
}

func (f *keyByIDFn[T]) ProcessElement(row T) (string, T) {
	return reflect.ValueOf(&row).Elem().Field(f.idx).String(), row
}

type oneOfFn[T any] struct {
	RowType    string `json:"row_type"`
	duplicates beam.Counter
}

func (f *oneOfFn[T]) Setup() { f.duplicates = beam.NewCounter(f.RowType, "duplicates") }

func (f *oneOfFn[T]) ProcessElement(ctx context.Context, _ string, rows func(*T) bool, emit func(T)) error {
	var best, row T
	var bestSum [sha256.Size]byte
	n := 0
	for rows(&row) {
		b, err := json.Marshal(row)
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(b); n == 0 || string(sum[:]) < string(bestSum[:]) {
			best, bestSum = row, sum
		}
		n++
	}
	if n > 1 {
		f.duplicates.Inc(ctx, int64(n-1))
	}
	if n > 0 {
		emit(best)
	}
	return nil
}
