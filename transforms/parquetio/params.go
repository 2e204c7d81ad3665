package parquetio

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Defaults for WriteParams' zero fields.
const (
	DefaultShardRows    = 2000
	DefaultRowGroupRows = 256
)

// WriteParams configures Write. The zero value is valid: shards of at most 2000 rows in row groups
// of 256, rows sorted and named by their content.
type WriteParams struct {
	// IDField names the rows' id: a top-level string field, by its Go name ("ID") or its Parquet
	// column name ("id"). Rows are sorted by it, shard names hash it, and SkipExisting reads it
	// back. Empty: rows are sorted and named by a digest of their Parquet encoding.
	IDField string `json:"id_field"`
	// ShardRows is the most rows in one shard (default 2000); a bundle with more writes several.
	ShardRows int `json:"shard_rows"`
	// RowGroupRows is the most rows in one row group (default 256). Rows that carry images want
	// small groups (e.g. 64): readers hold a whole group's pages in memory.
	RowGroupRows int `json:"row_group_rows"`
	// SkipExisting drops rows whose id is already in a complete shard of the folder when a worker
	// starts, counting them; it needs IDField.
	SkipExisting bool `json:"skip_existing"`
	// Unique writes one row per id even when the collection holds several (say, two input records
	// of one video give the same clip twice): rows are grouped by id first, which costs a shuffle
	// of the rows; the duplicates dropped are counted as rowType.duplicates. It needs IDField.
	Unique bool `json:"unique"`
}

func (p WriteParams) withDefaults() WriteParams {
	if p.ShardRows <= 0 {
		p.ShardRows = DefaultShardRows
	}
	if p.RowGroupRows <= 0 {
		p.RowGroupRows = DefaultRowGroupRows
	}
	return p
}

var (
	errNoIDField = errors.New("parquetio: SkipExisting and Unique need IDField")
	errNoDir     = errors.New("parquetio: no output folder")
	errNoRowType = errors.New("parquetio: no row type")
)

// validate checks p against the row type T.
func validate[T any](dir, rowType string, p WriteParams) error {
	switch {
	case dir == "":
		return errNoDir
	case rowType == "":
		return errNoRowType
	case p.ShardRows < 0 || p.RowGroupRows < 0:
		return fmt.Errorf("parquetio: negative ShardRows (%d) or RowGroupRows (%d)", p.ShardRows, p.RowGroupRows)
	case (p.SkipExisting || p.Unique) && p.IDField == "":
		return errNoIDField
	}
	_, _, err := idField[T](p.IDField)
	return err
}

// idField finds the id field named name (Go name or Parquet column name) in T. It returns the
// field's index and its column name; -1 and "" when name is empty.
func idField[T any](name string) (int, string, error) {
	if name == "" {
		return -1, "", nil
	}
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		return 0, "", fmt.Errorf("parquetio: IDField %q needs a struct row type, not %v", name, t)
	}
	for i := range t.NumField() {
		f := t.Field(i)
		col, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		if !f.IsExported() || col == "-" {
			continue
		}
		if col == "" {
			col = f.Name
		}
		if f.Name != name && col != name {
			continue
		}
		if f.Type.Kind() != reflect.String {
			return 0, "", fmt.Errorf("parquetio: id field %s.%s is a %v, not a string", t.Name(), f.Name, f.Type)
		}
		return i, col, nil
	}
	return 0, "", fmt.Errorf("parquetio: %v has no field or column %q", t, name)
}
