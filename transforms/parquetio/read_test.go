package parquetio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// TestWriteThenReadOnPrism writes dead letters from several bundles and reads them back with
// internal/dataset and with Read, from the folder and from a glob.
func TestWriteThenReadOnPrism(t *testing.T) {
	dir := t.TempDir()
	const n = 40
	var in []any
	var want []schemas.DeadLetter
	for i := range n {
		in = append(in, deadLetter(i))
		want = append(want, deadLetter(i))
	}
	pipe, s := beam.NewPipelineWithRoot()
	rows := beam.ParDo(s, slowDeadLetter, beam.Reshuffle(s, beam.Create(s, in...)))
	Write[schemas.DeadLetter](s, dir, schemas.RowDeadLetter, rows, WriteParams{ShardRows: 100, RowGroupRows: 4})
	ptest.RunAndValidate(t, pipe)
	checkNames(t, dir)
	// ShardRows exceeds the rows, so there is one shard per bundle. slowDeadLetter stalls the
	// bundle and Prism splits it; a single shard means the sink saw a single bundle.
	if files, _ := dataset.Shards(dir); len(files) < 2 {
		t.Errorf("%d shards: the pipeline ran as one bundle, want several", len(files))
	}

	got, err := dataset.ReadAll[schemas.DeadLetter](dir)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := summaries(got, deadSummary), summaries(want, deadSummary); !slices.Equal(g, w) {
		t.Errorf("dataset.ReadAll differs from the rows written: %d vs %d rows", len(g), len(w))
	}

	// The Beam source reads the same rows, from the folder and from a glob.
	for _, glob := range []string{dir, filepath.Join(dir, "*.parquet")} {
		pipe, s := beam.NewPipelineWithRoot()
		back := Read[schemas.DeadLetter](s, glob)
		passert.Equals(s, beam.ParDo(s, deadSummary, back), anys(summaries(want, deadSummary))...)
		ptest.RunAndValidate(t, pipe)
	}
}

func TestReadClipsOnPrism(t *testing.T) {
	dir := t.TempDir()
	var want []schemas.Clip
	for i := range 150 { // more rows than one read batch
		want = append(want, clip(i))
	}
	w, err := dataset.NewWriter[schemas.Clip](dir, schemas.RowClip, 70, 16)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(want...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pipe, s := beam.NewPipelineWithRoot()
	back := Read[schemas.Clip](s, dir)
	passert.Equals(s, beam.ParDo(s, clipSummary, back), anys(summaries(want, clipSummary))...)
	ptest.RunAndValidate(t, pipe)
}

func TestReadRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "part-00000.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	pw := parquet.NewGenericWriter[schemas.DeadLetter](f, parquet.KeyValueMetadata(schemas.MetaVersion, strconv.Itoa(schemas.Version+1)))
	pw.Write([]schemas.DeadLetter{deadLetter(1)})
	pw.Close()
	f.Close()

	if err := readFile(t.Context(), f.Name(), func(schemas.DeadLetter) {}); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("readFile: %v, want ErrNewerSchema", err)
	}
	pipe, s := beam.NewPipelineWithRoot()
	Read[schemas.DeadLetter](s, dir)
	if err := ptest.Run(pipe); err == nil || !strings.Contains(err.Error(), "newer vrlaif schema") {
		t.Errorf("pipeline error %v, want one about a newer schema", err)
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"part-b.parquet", "part-a.parquet", ".part-c.parquet.123.tmp", "other.parquet"} {
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	os.Mkdir(filepath.Join(dir, "sub.parquet"), 0o755)
	in := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
		return out
	}
	tests := []struct {
		name, glob string
		want       []string
		err        bool
	}{
		{name: "folder: complete shards", glob: dir, want: in("part-a.parquet", "part-b.parquet")},
		{name: "glob: no hidden files or folders", glob: filepath.Join(dir, "*"), want: in("other.parquet", "part-a.parquet", "part-b.parquet")},
		{name: "one file", glob: filepath.Join(dir, "other.parquet"), want: in("other.parquet")},
		{name: "missing folder", glob: filepath.Join(dir, "none")},
		{name: "glob matching nothing", glob: filepath.Join(dir, "*.csv"), err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expand(tt.glob)
			if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
				t.Errorf("expand(%q) = %v, %v; want %v (error %v)", tt.glob, got, err, tt.want, tt.err)
			}
		})
	}
}

// TestLowLevelReaderReadsShards reads the sink's files without GenericReader: parquet.OpenFile
// and the column chunks' pages, as an independent reader would.
func TestLowLevelReaderReadsShards(t *testing.T) {
	dir := t.TempDir()
	var in []any
	for i := range 9 {
		in = append(in, clip(i))
	}
	pipe, s := beam.NewPipelineWithRoot()
	Write[schemas.Clip](s, dir, schemas.RowClip, beam.Create(s, in...), WriteParams{IDField: "ID", ShardRows: 4, RowGroupRows: 2})
	ptest.RunAndValidate(t, pipe)
	files, _ := dataset.Shards(dir)
	if len(files) != 3 {
		t.Fatalf("%d shards, want 3", len(files))
	}
	seen := 0
	for _, path := range files {
		pf := openParquet(t, path)
		ids := columnStrings(t, pf, "id")
		uris := columnStrings(t, pf, "source_uri")
		frames := columnValues(t, pf, "frames", "list", "element")
		widths := columnValues(t, pf, "width")
		if len(ids) != int(pf.NumRows()) || len(uris) != len(ids) || len(widths) != len(ids) || len(frames) != 3*len(ids) {
			t.Fatalf("%s: %d rows, %d ids, %d uris, %d widths, %d frames", path, pf.NumRows(), len(ids), len(uris), len(widths), len(frames))
		}
		for r, id := range ids {
			i, err := strconv.Atoi(strings.TrimPrefix(id, "clip-"))
			if err != nil {
				t.Fatalf("%s: id %q", path, id)
			}
			want := clip(i)
			if uris[r] != want.SourceURI || widths[r].Int32() != want.Width {
				t.Errorf("%s row %d: uri %q width %d, want %q %d", path, r, uris[r], widths[r].Int32(), want.SourceURI, want.Width)
			}
			for k := range 3 {
				v := frames[3*r+k]
				if wantRep := min(k, 1); v.RepetitionLevel() != wantRep || !bytes.Equal(v.ByteArray(), want.Frames[k]) {
					t.Errorf("%s row %d frame %d: rep %d, %x; want rep %d, %x", path, r, k, v.RepetitionLevel(), v.ByteArray(), wantRep, want.Frames[k])
				}
			}
			seen++
		}
	}
	if seen != 9 {
		t.Errorf("read %d rows, want 9", seen)
	}
}

// columnValues reads every value of the leaf column at path, row group by row group, page by page.
func columnValues(t *testing.T, pf *parquet.File, path ...string) []parquet.Value {
	t.Helper()
	leaf, ok := pf.Schema().Lookup(path...)
	if !ok {
		t.Fatalf("no column %v", path)
	}
	var out []parquet.Value
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[leaf.ColumnIndex].Pages()
		for {
			page, err := pages.ReadPage()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			vals := make([]parquet.Value, page.NumValues())
			n, err := page.Values().ReadValues(vals)
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			for _, v := range vals[:n] {
				out = append(out, v.Clone())
			}
		}
		pages.Close()
	}
	return out
}

func columnStrings(t *testing.T, pf *parquet.File, path ...string) []string {
	t.Helper()
	var out []string
	for _, v := range columnValues(t, pf, path...) {
		out = append(out, v.String())
	}
	return out
}
