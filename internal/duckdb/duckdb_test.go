package duckdb

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// glob is the read_parquet argument for dir's shards.
func glob(dir string) string { return Literal(filepath.Join(dir, "*.parquet")) }

func query(t *testing.T, sql string) []map[string]any {
	t.Helper()
	rows, err := Query(t.Context(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}

func write[T any](t *testing.T, dir, rowType string, shardRows int, rows []T) {
	t.Helper()
	if err := dataset.WriteAll(dir, rowType, shardRows, rows...); err != nil {
		t.Fatal(err)
	}
}

func TestDeadLetterRows(t *testing.T) {
	Need(t)
	dir := t.TempDir()
	var want []schemas.DeadLetter
	for i := range 5 {
		want = append(want, schemas.DeadLetter{
			Stage: "frames", InputRef: fmt.Sprintf("/v/%d.mp4", i), ErrorKind: []string{"not_a_video", "decode"}[i%2],
			Message: "bad 'quoted' \"input\" ü", Detail: strings.Repeat("log\n", i), CreatedMicros: 1_700_000_000_000_000 + int64(i),
		})
	}
	write(t, dir, schemas.RowDeadLetter, 2, want) // 3 shards: 2+2+1

	if got := query(t, "SELECT count(*) AS n FROM read_parquet("+glob(dir)+")"); got[0]["n"] != float64(len(want)) {
		t.Fatalf("count %v, want %d", got, len(want))
	}
	rows := query(t, `SELECT stage, input_ref, error_kind, message, detail, epoch_us(created_micros) AS us
		FROM read_parquet(`+glob(dir)+`) ORDER BY input_ref`)
	for i, w := range want {
		r := rows[i]
		got := schemas.DeadLetter{Stage: r["stage"].(string), InputRef: r["input_ref"].(string), ErrorKind: r["error_kind"].(string),
			Message: r["message"].(string), Detail: r["detail"].(string), CreatedMicros: int64(r["us"].(float64))}
		if got != w {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
}

func testClip(i int) schemas.Clip {
	c := schemas.Clip{
		ID: "c" + strconv.Itoa(i), SourceURI: "/v/" + strconv.Itoa(i) + ".mp4", Codec: "h264", Width: 640, Height: 360,
		Sampling:      schemas.SamplingSpec{Frames: int32(i), Size: 224, Resize: "short", Pad: i%2 == 0, Quality: 90},
		FrameCount:    int64(100 * i),
		DecodedFrames: int64(i),
		CreatedMicros: int64(i),
	}
	for j := range i { // clip i has i frames; clip 0 none
		c.PlannedSeconds = append(c.PlannedSeconds, float64(j)*1.5)
		c.TimestampsSeconds = append(c.TimestampsSeconds, float64(j)*1.5+0.01)
		c.Frames = append(c.Frames, []byte{0xff, 0xd8, byte(i), byte(j), 0x00, 0xff, 0xd9})
	}
	if i == 3 {
		c.DecodedFrames = 1<<60 + 1 // beyond float64's exact integers: comes back as a string
	}
	return c
}

func TestClipRowsListsAndMetadata(t *testing.T) {
	Need(t)
	dir := t.TempDir()
	var want []schemas.Clip
	for i := range 7 {
		want = append(want, testClip(i))
	}
	write(t, dir, schemas.RowClip, 3, want) // 3 shards: 3+3+1
	shards, _ := dataset.Shards(dir)

	if got := query(t, "SELECT count(*) AS n FROM read_parquet("+glob(dir)+")"); got[0]["n"] != float64(len(want)) {
		t.Fatalf("count %v, want %d", got, len(want))
	}

	// Logical types as DuckDB sees them.
	types := map[string]string{}
	for _, r := range query(t, "DESCRIBE SELECT * FROM read_parquet("+glob(dir)+")") {
		types[r["column_name"].(string)] = r["column_type"].(string)
	}
	for col, typ := range map[string]string{
		"id": "VARCHAR", "width": "INTEGER", "frame_count": "BIGINT", "fps": "DOUBLE", "frames": "BLOB[]",
		"planned_seconds": "DOUBLE[]", "created_micros": "TIMESTAMP WITH TIME ZONE", // isAdjustedToUTC
		"sampling": "STRUCT(frames INTEGER, fps DOUBLE, size INTEGER, resize VARCHAR, pad BOOLEAN, quality INTEGER)",
	} {
		if types[col] != typ {
			t.Errorf("column %s has type %q, want %q", col, types[col], typ)
		}
	}

	rows := query(t, `SELECT id, len(frames) AS nframes, frames, planned_seconds, len(timestamps_seconds) AS nts,
		timestamps_seconds, sampling, frame_count, decoded_frames, epoch_us(created_micros) AS us
		FROM read_parquet(`+glob(dir)+`) ORDER BY id`)
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		if r["id"] != w.ID || r["nframes"] != float64(len(w.Frames)) || r["nts"] != float64(len(w.TimestampsSeconds)) ||
			r["frame_count"] != float64(w.FrameCount) || r["us"] != float64(w.CreatedMicros) {
			t.Errorf("row %d: %v", i, r)
		}
		var frames [][]byte
		for _, f := range r["frames"].([]any) {
			b, err := base64.StdEncoding.DecodeString(f.(string))
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, b)
		}
		if !reflect.DeepEqual(frames, w.Frames) {
			t.Errorf("row %d frames %x, want %x", i, frames, w.Frames)
		}
		if got := floats(r["planned_seconds"]); !reflect.DeepEqual(got, w.PlannedSeconds) {
			t.Errorf("row %d planned_seconds %v, want %v", i, got, w.PlannedSeconds)
		}
		if got := floats(r["timestamps_seconds"]); !reflect.DeepEqual(got, w.TimestampsSeconds) {
			t.Errorf("row %d timestamps_seconds %v, want %v", i, got, w.TimestampsSeconds)
		}
		s := r["sampling"].(map[string]any)
		if s["frames"] != float64(w.Sampling.Frames) || s["resize"] != w.Sampling.Resize || s["pad"] != w.Sampling.Pad {
			t.Errorf("row %d sampling %v, want %+v", i, s, w.Sampling)
		}
		wantDecoded := any(float64(w.DecodedFrames))
		if w.DecodedFrames > 1<<53 {
			wantDecoded = strconv.FormatInt(w.DecodedFrames, 10)
		}
		if r["decoded_frames"] != wantDecoded {
			t.Errorf("row %d decoded_frames %#v, want %#v", i, r["decoded_frames"], wantDecoded)
		}
	}

	// Every shard carries the schema version and row type in its key-value metadata.
	meta := query(t, `SELECT file_name, decode(key) AS k, decode(value) AS v
		FROM parquet_kv_metadata(`+glob(dir)+`) WHERE decode(key) LIKE 'vrlaif.%' ORDER BY file_name, k`)
	if len(meta) != 2*len(shards) {
		t.Fatalf("%d vrlaif metadata entries in %d shards: %v", len(meta), len(shards), meta)
	}
	for i, m := range meta {
		if m["file_name"] != shards[i/2] {
			t.Errorf("metadata entry %d from %v, want %s", i, m["file_name"], shards[i/2])
		}
		wantKV := map[any]string{schemas.MetaRowType: schemas.RowClip, schemas.MetaVersion: strconv.Itoa(schemas.Version)}
		if v, ok := wantKV[m["k"]]; !ok || m["v"] != v {
			t.Errorf("metadata %v = %v", m["k"], m["v"])
		}
	}
}

func floats(v any) []float64 {
	var out []float64
	for _, x := range v.([]any) {
		out = append(out, x.(float64))
	}
	return out
}

func TestValueMappingAndErrors(t *testing.T) {
	Need(t)
	r := query(t, `SELECT 9007199254740993::BIGINT AS big, -5::BIGINT AS small, 'ab'::BLOB AS b, [1, NULL]::INT[] AS l,
		{'x': 'y'} AS s, 'nan'::DOUBLE AS nan, TIMESTAMP '2024-01-02 03:04:05.123456' AS ts,
		make_timestamptz(1700000000000001) AS tz`)[0]
	want := map[string]any{"big": "9007199254740993", "small": float64(-5), "b": "YWI=", "l": []any{float64(1), nil},
		"s": map[string]any{"x": "y"}, "nan": "NaN", "ts": "2024-01-02 03:04:05.123456",
		"tz": "2023-11-14 22:13:20.000001+00"}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got  %#v\nwant %#v", r, want)
	}
	if rows := query(t, "SELECT 1 AS a WHERE false"); rows == nil || len(rows) != 0 {
		t.Errorf("empty result %#v, want []", rows)
	}
	_, err := Query(t.Context(), "SELECT * FROM read_parquet("+Literal(filepath.Join(t.TempDir(), "none-*.parquet"))+")")
	if err == nil || !strings.Contains(err.Error(), "No files found") {
		t.Errorf("query of missing files: %v", err)
	}
}

func TestRequired(t *testing.T) {
	for _, c := range []struct {
		ci, req string
		want    bool
	}{{"", "", false}, {"true", "", true}, {"false", "", false}, {"0", "", false}, {"", "1", true}, {"", "0", false}} {
		t.Setenv("CI", c.ci)
		t.Setenv(EnvRequire, c.req)
		if got := Required(); got != c.want {
			t.Errorf("CI=%q %s=%q: Required() = %v", c.ci, EnvRequire, c.req, got)
		}
	}
}

func TestLiteral(t *testing.T) {
	if got := Literal("/tmp/it's"); got != "'/tmp/it''s'" {
		t.Errorf("Literal = %s", got)
	}
}
