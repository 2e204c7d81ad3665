package parquetio

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// writeClips runs Create → Reshuffle → Write over clips 0..n-1 and returns the pipeline's
// result. With split, a slow step before the sink makes Prism split the bundle, so that the sink
// sees several bundles; Prism then under-reports counters incremented in ProcessElement (seen
// with v2.77: 13 of 25 skips reported), so exact counter checks use unsplit runs.
func writeClips(t *testing.T, dir string, n int, p WriteParams, split bool) beam.PipelineResult {
	t.Helper()
	var in []any
	for i := range n {
		in = append(in, clip(i))
	}
	pipe, s := beam.NewPipelineWithRoot()
	rows := beam.Reshuffle(s, beam.Create(s, in...))
	if split {
		rows = beam.ParDo(s, slowClip, rows)
	}
	Write[schemas.Clip](s, dir, schemas.RowClip, rows, p)
	return ptest.RunAndValidate(t, pipe)
}

func TestWriteClipsReadBackWithDataset(t *testing.T) {
	dir := t.TempDir()
	const n = 30
	p := WriteParams{IDField: "ID", ShardRows: 8, RowGroupRows: 3}
	writeClips(t, dir, n, p, true)
	files, err := dataset.Shards(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < (n+p.ShardRows-1)/p.ShardRows {
		t.Errorf("%d shard files, want at least %d", len(files), (n+p.ShardRows-1)/p.ShardRows)
	}
	t.Logf("%d rows in %d shards", n, len(files))
	checkNames(t, dir)

	got, err := dataset.ReadAll[schemas.Clip](dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []schemas.Clip
	for i := range n {
		want = append(want, clip(i))
	}
	if g, w := summaries(got, clipSummary), summaries(want, clipSummary); !slices.Equal(g, w) {
		t.Errorf("dataset.ReadAll returned %d rows that differ from the %d written:\n%v\n%v", len(g), len(w), g[0], w[0])
	}

	for _, path := range files {
		pf := openParquet(t, path)
		if v, _ := pf.Lookup(schemas.MetaVersion); v != strconv.Itoa(schemas.Version) {
			t.Errorf("%s: version metadata %q", path, v)
		}
		if v, _ := pf.Lookup(schemas.MetaRowType); v != schemas.RowClip {
			t.Errorf("%s: row type metadata %q", path, v)
		}
		if pf.NumRows() > int64(p.ShardRows) {
			t.Errorf("%s: %d rows, more than ShardRows %d", path, pf.NumRows(), p.ShardRows)
		}
		for i, rg := range pf.Metadata().RowGroups {
			if rg.NumRows > int64(p.RowGroupRows) {
				t.Errorf("%s: row group %d has %d rows, more than %d", path, i, rg.NumRows, p.RowGroupRows)
			}
			for _, cc := range rg.Columns {
				col, codec := cc.MetaData.PathInSchema[0], cc.MetaData.Codec.String()
				if want := map[bool]string{true: "UNCOMPRESSED", false: "ZSTD"}[col == "frames"]; codec != want {
					t.Errorf("%s: column %s is %s, want %s", path, col, codec, want)
				}
			}
		}
		ids := columnStrings(t, pf, "id")
		if !slices.IsSorted(ids) {
			t.Errorf("%s: ids not sorted: %v", path, ids)
		}
	}
}

func TestRerunWithSkipExistingWritesNothing(t *testing.T) {
	dir := t.TempDir()
	p := WriteParams{IDField: "id", ShardRows: 7, RowGroupRows: 64, SkipExisting: true}
	writeClips(t, dir, 20, p, true)
	before := dirContents(t, dir)

	for _, split := range []bool{true, false} {
		pr := writeClips(t, dir, 20, p, split)
		if after := dirContents(t, dir); !maps.Equal(before, after) {
			t.Errorf("re-run (split %v) changed the folder:\nbefore %v\nafter  %v", split, before, after)
		}
		w, s, n := counter(pr, schemas.RowClip, "written"), counter(pr, schemas.RowClip, "skipped"), counter(pr, schemas.RowClip, "shards")
		if w != 0 || n != 0 || (!split && s != 20) {
			t.Errorf("re-run (split %v) wrote %d rows in %d shards and skipped %d, want 0, 0 and 20", split, w, n, s)
		}
	}

	// A run with five new rows writes only those.
	pr := writeClips(t, dir, 25, p, false)
	if w, s := counter(pr, schemas.RowClip, "written"), counter(pr, schemas.RowClip, "skipped"); w != 5 || s != 20 {
		t.Errorf("extended run wrote %d and skipped %d, want 5 and 20", w, s)
	}
	got, err := dataset.ReadAll[schemas.Clip](dir)
	if err != nil || len(got) != 25 {
		t.Errorf("%d rows after the extended run, want 25 (%v)", len(got), err)
	}
	checkNames(t, dir)
}

func TestSameRowsGiveSameShards(t *testing.T) {
	var rows []any
	for i := range 12 {
		rows = append(rows, deadLetter(i))
	}
	reversed := slices.Clone(rows)
	slices.Reverse(reversed)
	for _, idField := range []string{"InputRef", ""} {
		t.Run("IDField="+idField, func(t *testing.T) {
			var dirs []string
			for _, in := range [][]any{rows, reversed} {
				dir := t.TempDir()
				pipe, s := beam.NewPipelineWithRoot()
				Write[schemas.DeadLetter](s, dir, schemas.RowDeadLetter, beam.Create(s, in...), WriteParams{IDField: idField, ShardRows: 100})
				ptest.RunAndValidate(t, pipe)
				dirs = append(dirs, dir)
			}
			a, b := dirContents(t, dirs[0]), dirContents(t, dirs[1])
			if len(a) == 0 || !maps.Equal(a, b) {
				t.Errorf("the same rows in another order gave different shards:\n%v\n%v", a, b)
			}
		})
	}
}

func TestShardPathsAreReturned(t *testing.T) {
	dir := t.TempDir()
	var in []any
	for i := range 10 {
		in = append(in, deadLetter(i))
	}
	pipe, s := beam.NewPipelineWithRoot()
	paths := Write[schemas.DeadLetter](s, dir, schemas.RowDeadLetter, beam.Create(s, in...), WriteParams{ShardRows: 4})
	passert.Count(s, paths, "shards", 3) // one bundle of 10 rows: 4 + 4 + 2
	ptest.RunAndValidate(t, pipe)
	if files, _ := dataset.Shards(dir); len(files) != 3 {
		t.Errorf("%d shards, want 3", len(files))
	}
}

func TestTryWriteRejectsBadParams(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		rowType string
		p       WriteParams
		clips   bool // write a PCollection of clips instead of dead letters
	}{
		{name: "no dir", rowType: "x"},
		{name: "no row type", dir: "d"},
		{name: "unknown id field", dir: "d", rowType: "x", p: WriteParams{IDField: "Nope"}},
		{name: "id field not a string", dir: "d", rowType: "x", p: WriteParams{IDField: "CreatedMicros"}},
		{name: "skip without id", dir: "d", rowType: "x", p: WriteParams{SkipExisting: true}},
		{name: "negative shard rows", dir: "d", rowType: "x", p: WriteParams{ShardRows: -1}},
		{name: "wrong element type", dir: "d", rowType: "x", clips: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := beam.NewPipelineWithRoot()
			col := beam.Create(s, deadLetter(1))
			if tt.clips {
				col = beam.Create(s, clip(1))
			}
			if _, err := TryWrite[schemas.DeadLetter](s, tt.dir, tt.rowType, col, tt.p); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestFailedShardLeavesNoFile makes the final rename fail (a folder holds the shard's name) and
// checks that the temporary file is gone and the error says so.
func TestFailedShardLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	rows := []schemas.DeadLetter{deadLetter(1), deadLetter(2)}
	f := &writeFn[schemas.DeadLetter]{Dir: dir, RowType: schemas.RowDeadLetter, Params: WriteParams{IDField: "InputRef"}}
	if err := f.Setup(); err != nil {
		t.Fatal(err)
	}
	name := shardName(schemas.RowDeadLetter, []string{rows[0].InputRef, rows[1].InputRef})
	if err := os.MkdirAll(filepath.Join(dir, name, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	var emitted []string
	emit := func(p string) { emitted = append(emitted, p) }
	f.StartBundle(t.Context(), emit)
	for _, r := range rows {
		if err := f.ProcessElement(t.Context(), r, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.FinishBundle(t.Context(), emit); err == nil {
		t.Fatal("no error from a failed rename")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || len(emitted) != 0 {
		t.Errorf("after a failed shard: %d entries in the folder, %d paths emitted; want only the blocking folder", len(entries), len(emitted))
	}
}

// TestRetriedBundleReplacesItsShard runs the DoFn twice over the same rows in different orders,
// as a retried bundle would: one shard, the same bytes.
func TestRetriedBundleReplacesItsShard(t *testing.T) {
	dir := t.TempDir()
	var rows []schemas.DeadLetter
	for i := range 5 {
		rows = append(rows, deadLetter(i))
	}
	var states []map[string]string
	for try := range 2 {
		f := &writeFn[schemas.DeadLetter]{Dir: dir, RowType: schemas.RowDeadLetter, Params: WriteParams{IDField: "InputRef"}}
		if err := f.Setup(); err != nil {
			t.Fatal(err)
		}
		emit := func(string) {}
		f.StartBundle(t.Context(), emit)
		for i := range rows {
			r := rows[i]
			if try == 1 {
				r = rows[len(rows)-1-i]
				r.CreatedMicros++ // a retry recomputes rows: same ids, other times
			}
			if err := f.ProcessElement(t.Context(), r, emit); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.FinishBundle(t.Context(), emit); err != nil {
			t.Fatal(err)
		}
		states = append(states, dirContents(t, dir))
	}
	if len(states[0]) != 1 || len(states[1]) != 1 {
		t.Fatalf("folder after the first try %v, after the retry %v; want one shard each", states[0], states[1])
	}
	for name := range states[0] {
		if _, ok := states[1][name]; !ok {
			t.Errorf("the retry wrote another shard: %v then %v", states[0], states[1])
		}
	}
}
