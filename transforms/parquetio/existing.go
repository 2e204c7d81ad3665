package parquetio

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// existingIDs reads the id column of every complete shard in dir (only that column's pages) and
// returns the set of ids. A missing dir has none. A shard of another row type is an error: one
// folder holds one row type.
func existingIDs(dir, rowType, column string) (map[string]struct{}, error) {
	shards, err := dataset.Shards(dir)
	if err != nil {
		return nil, fmt.Errorf("parquetio: %w", err)
	}
	ids := map[string]struct{}{}
	for _, path := range shards {
		if err := readIDs(path, rowType, column, ids); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func readIDs(path, rowType, column string, ids map[string]struct{}) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("parquetio: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("parquetio: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("parquetio: opening %s: %w", path, err)
	}
	if rt, ok := pf.Lookup(schemas.MetaRowType); ok && rt != rowType {
		return fmt.Errorf("parquetio: %s holds %q rows, not %q", path, rt, rowType)
	}
	leaf, ok := pf.Schema().Lookup(column)
	if !ok {
		return fmt.Errorf("parquetio: %s has no column %q", path, column)
	}
	values := make([]parquet.Value, 256)
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[leaf.ColumnIndex].Pages()
		err := readPages(pages, values, func(v parquet.Value) {
			if !v.IsNull() {
				ids[v.String()] = struct{}{} // String copies out of the page buffer
			}
		})
		pages.Close()
		if err != nil {
			return fmt.Errorf("parquetio: reading %s of %s: %w", column, path, err)
		}
	}
	return nil
}

// readPages calls fn for every value of every page, reading values in batches of len(buf).
func readPages(pages parquet.Pages, buf []parquet.Value, fn func(parquet.Value)) error {
	for {
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		r := page.Values()
		for {
			n, err := r.ReadValues(buf)
			for _, v := range buf[:n] {
				fn(v)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				parquet.Release(page)
				return err
			}
		}
		parquet.Release(page)
	}
}
