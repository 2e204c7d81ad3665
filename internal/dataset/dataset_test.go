package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/schemas"
)

func clip(i int) schemas.Clip {
	return schemas.Clip{
		ID: "c" + strconv.Itoa(i), SourceURI: "/v/" + strconv.Itoa(i) + ".mp4", Codec: "h264", Width: 640, Height: 360,
		Sampling:          schemas.SamplingSpec{Frames: 2, Size: 224, Resize: "short", Pad: true, Quality: 90},
		PlannedSeconds:    []float64{0, 1.5},
		TimestampsSeconds: []float64{0, 1.5},
		Frames:            [][]byte{{0xff, 0xd8, byte(i)}, {0xff, 0xd8, 0x01, byte(i)}},
		CreatedMicros:     int64(i),
	}
}

func TestWriteReadRoundTripAcrossShards(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter[schemas.Clip](dir, schemas.RowClip, 3)
	if err != nil {
		t.Fatal(err)
	}
	var want []schemas.Clip
	for i := 0; i < 7; i++ {
		want = append(want, clip(i))
	}
	if err := w.Write(want...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	shards, _ := Shards(dir)
	if len(shards) != 3 {
		t.Fatalf("%d shards, want 3 (3+3+1 rows)", len(shards))
	}
	got, err := ReadAll[schemas.Clip](dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n%+v\n%+v", got[0], want[0])
	}
	// A second writer appends new shards after the existing ones.
	w2, _ := NewWriter[schemas.Clip](dir, schemas.RowClip, 3)
	w2.Write(clip(7))
	w2.Close()
	shards, _ = Shards(dir)
	if len(shards) != 4 || filepath.Base(shards[3]) != "part-00003.parquet" {
		t.Errorf("appended shards %v", shards)
	}
}

func TestColumnCompressionAndMetadata(t *testing.T) {
	dir := t.TempDir()
	w, _ := NewWriter[schemas.Clip](dir, schemas.RowClip, 0)
	w.Write(clip(1))
	w.Close()
	shards, _ := Shards(dir)
	f, err := os.Open(shards[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := pf.Lookup(schemas.MetaVersion); v != strconv.Itoa(schemas.Version) {
		t.Errorf("version metadata %q", v)
	}
	if v, _ := pf.Lookup(schemas.MetaRowType); v != schemas.RowClip {
		t.Errorf("row type metadata %q", v)
	}
	codecs := map[string]string{}
	for _, cc := range pf.Metadata().RowGroups[0].Columns {
		codecs[cc.MetaData.PathInSchema[0]] = cc.MetaData.Codec.String()
	}
	if codecs["frames"] != "UNCOMPRESSED" {
		t.Errorf("JPEG column codec %s, want UNCOMPRESSED", codecs["frames"])
	}
	if codecs["source_uri"] != "ZSTD" {
		t.Errorf("metadata column codec %s, want ZSTD", codecs["source_uri"])
	}
}

func TestInterruptedShardIsInvisible(t *testing.T) {
	dir := t.TempDir()
	w, _ := NewWriter[schemas.Clip](dir, schemas.RowClip, 10)
	w.Write(clip(1)) // not closed: the shard is still a hidden temp file
	if shards, _ := Shards(dir); len(shards) != 0 {
		t.Errorf("unfinished shard visible: %v", shards)
	}
	w.Abort()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("abort left %d files", len(entries))
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	f, _ := os.Create(filepath.Join(dir, "part-00000.parquet"))
	pw := parquet.NewGenericWriter[schemas.DeadLetter](f, parquet.KeyValueMetadata(schemas.MetaVersion, strconv.Itoa(schemas.Version+1)))
	pw.Write([]schemas.DeadLetter{{Stage: "frames"}})
	pw.Close()
	f.Close()
	if _, err := ReadAll[schemas.DeadLetter](dir); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("got %v, want ErrNewerSchema", err)
	}
}

func TestMissingDirIsEmpty(t *testing.T) {
	rows, err := ReadAll[schemas.Clip](filepath.Join(t.TempDir(), "none"))
	if err != nil || len(rows) != 0 {
		t.Errorf("%v, %v", rows, err)
	}
}

// Rows of another dataset are refused by their recorded row type (clips read as preferences came
// back as zero-valued preferences); a file with no recorded type (written by another tool), or a
// projection type that is no dataset's row, reads as before.
func TestWrongRowTypeIsRefused(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter[schemas.Clip](dir, schemas.RowClip, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(clip(1), clip(2))
	w.Close()
	_, err = ReadAll[schemas.Preference](dir)
	if !errors.Is(err, ErrWrongRowType) || !strings.Contains(err.Error(), "holds clips rows, not preferences") {
		t.Errorf("clips read as preferences: %v, want ErrWrongRowType naming both", err)
	}
	if rows, err := ReadAll[schemas.Clip](dir); err != nil || len(rows) != 2 {
		t.Errorf("clips read as clips: %d rows, %v", len(rows), err)
	}
	type idOnly struct {
		ID string `parquet:"id"`
	}
	if rows, err := ReadAll[idOnly](dir); err != nil || len(rows) != 2 || rows[1].ID != "c2" {
		t.Errorf("a projection: %+v, %v", rows, err)
	}
	untyped := t.TempDir()
	f, _ := os.Create(filepath.Join(untyped, "part-00000.parquet"))
	pw := parquet.NewGenericWriter[schemas.Preference](f)
	pw.Write([]schemas.Preference{{ID: "p1"}})
	pw.Close()
	f.Close()
	if rows, err := ReadAll[schemas.Preference](untyped); err != nil || len(rows) != 1 {
		t.Errorf("a file with no row type: %d rows, %v", len(rows), err)
	}
}
