package parquetio

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/schemas"
)

// sortKeys returns one key per row: the id (idx ≥ 0) or a SHA-256 digest of the row's Parquet
// encoding (idx < 0).
func sortKeys[T any](schema *parquet.Schema, idx int, rows []T) []string {
	keys := make([]string, len(rows))
	var row parquet.Row
	for i := range rows {
		if idx >= 0 {
			keys[i] = reflect.ValueOf(&rows[i]).Elem().Field(idx).String()
			continue
		}
		row = schema.Deconstruct(row[:0], &rows[i])
		keys[i] = rowDigest(row)
	}
	return keys
}

// rowDigest hashes every value of a deconstructed row with its column, levels and kind, so that
// two rows have the same digest exactly when they encode to the same Parquet values.
func rowDigest(row parquet.Row) string {
	h := sha256.New()
	var buf []byte
	for _, v := range row {
		buf = buf[:0]
		buf = binary.AppendUvarint(buf, uint64(v.Column()))
		buf = binary.AppendUvarint(buf, uint64(v.RepetitionLevel()))
		buf = binary.AppendUvarint(buf, uint64(v.DefinitionLevel()))
		buf = binary.AppendVarint(buf, int64(v.Kind()))
		if v.IsNull() {
			buf = append(buf, 0)
		} else {
			b := v.Bytes()
			buf = append(buf, 1)
			buf = binary.AppendUvarint(buf, uint64(len(b)))
			buf = append(buf, b...)
		}
		h.Write(buf)
	}
	return string(h.Sum(nil))
}

// sortRows sorts rows by keys (stably: rows with the same id keep their arrival order) and
// returns the keys in the same order.
func sortRows[T any](rows []T, keys []string) []string {
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case keys[a] < keys[b]:
			return -1
		case keys[a] > keys[b]:
			return 1
		}
		return 0
	})
	sortedRows := make([]T, len(rows))
	sortedKeys := make([]string, len(rows))
	for i, j := range order {
		sortedRows[i], sortedKeys[i] = rows[j], keys[j]
	}
	copy(rows, sortedRows)
	return sortedKeys
}

// shardName is part-<16 hex digits>.parquet, the digits from a SHA-256 over the row type and the
// sorted keys.
func shardName(rowType string, keys []string) string {
	h := sha256.New()
	var buf []byte
	buf = append(buf, "vrlaif/parquetio\x00"...)
	buf = binary.AppendUvarint(buf, uint64(len(rowType)))
	buf = append(buf, rowType...)
	h.Write(buf)
	for _, k := range keys {
		buf = binary.AppendUvarint(buf[:0], uint64(len(k)))
		h.Write(buf)
		h.Write([]byte(k))
	}
	return "part-" + hex.EncodeToString(h.Sum(nil))[:16] + ".parquet"
}

// writerOptions are the options internal/dataset writes with: zstd, the schema version and row
// type in the key-value metadata.
func writerOptions(rowType string, groupRows int) []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(int64(groupRows)),
		parquet.KeyValueMetadata(schemas.MetaVersion, strconv.Itoa(schemas.Version)),
		parquet.KeyValueMetadata(schemas.MetaRowType, rowType),
		parquet.CreatedBy("vrlaif", "", ""),
	}
}

// writeShard writes rows to dir/name: to a hidden temporary file first, synced, then renamed over
// name. On any error the temporary file is removed and name is untouched.
func writeShard[T any](dir, name, rowType string, groupRows int, rows []T) (err error) {
	final := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("parquetio: creating a shard: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("parquetio: writing %s: %w", final, err)
		}
	}()
	if err := f.Chmod(0o644); err != nil { // CreateTemp makes 0600; shards are shared files
		return err
	}
	w := parquet.NewGenericWriter[T](f, writerOptions(rowType, groupRows)...)
	if _, err := w.Write(rows); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename durable where the platform allows; a failure here loses nothing that a
// later run would not redo, so it is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
