package generate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/schemas"
)

// parquetTasks reads a flat Parquet manifest: string columns id, video (or uri/path), question,
// and optionally question_id, one row per question.
func parquetTasks(path, root string) ([]schemas.Task, []schemas.DeadLetter, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("generate: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("generate: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("generate: %s: %w", path, err)
	}
	var names []string
	for _, fld := range pf.Schema().Fields() {
		names = append(names, fld.Name())
	}
	col := columns(names)
	if col["id"] < 0 || col["video"] < 0 || col["question"] < 0 {
		return nil, nil, fmt.Errorf("generate: %s needs columns id, video (or uri/path) and question; has %v", path, names)
	}
	get := func(k string) ([]string, error) {
		if col[k] < 0 {
			return make([]string, pf.NumRows()), nil
		}
		return stringColumn(pf, names[col[k]])
	}
	var cols [4][]string
	for i, k := range []string{"id", "video", "question_id", "question"} {
		if cols[i], err = get(k); err != nil {
			return nil, nil, fmt.Errorf("generate: %s: column %s: %w", path, k, err)
		}
	}
	rows := make([]flatRow, len(cols[0]))
	for i := range rows {
		var v [4]string
		for c := range cols {
			if i < len(cols[c]) {
				v[c] = strings.TrimSpace(cols[c][i])
			}
		}
		rows[i] = flatRow{ref: fmt.Sprintf("%s#%d", filepath.Base(path), i), id: v[0], video: v[1], qid: v[2], q: v[3]}
	}
	tasks, dead := flatRows(rows, root)
	return tasks, dead, nil
}

// stringColumn reads one top-level column as strings (nulls as "").
func stringColumn(pf *parquet.File, name string) ([]string, error) {
	c, ok := pf.Schema().Lookup(name)
	if !ok {
		return nil, fmt.Errorf("no column %s", name)
	}
	var out []string
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[c.ColumnIndex].Pages()
		for {
			pg, err := pages.ReadPage()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				pages.Close()
				return nil, err
			}
			vals := make([]parquet.Value, pg.NumValues())
			n, _ := pg.Values().ReadValues(vals)
			for _, v := range vals[:n] {
				if v.IsNull() {
					out = append(out, "")
				} else {
					out = append(out, v.String())
				}
			}
			parquet.Release(pg)
		}
		pages.Close()
	}
	return out, nil
}
