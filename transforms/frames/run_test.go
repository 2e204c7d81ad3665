package frames

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"
	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
)

// readRows reads a dataset folder with parquet-go's own file reader, independent of dataset.Read.
func readRows[T any](t *testing.T, dir string) []T {
	t.Helper()
	shards, err := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, s := range shards {
		rows, err := parquet.ReadFile[T](s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		out = append(out, rows...)
	}
	return out
}

func TestRunWritesGoodFilesAndDeadLettersBadOnes(t *testing.T) {
	in := t.TempDir()
	want := badFiles(t, in)
	wp := synth.DefaultParams()
	var good []string
	for i := 0; i < 3; i++ {
		tr := synth.Scene(wp, i)
		path := filepath.Join(in, tr.ClipID+".mp4")
		if err := synth.Render(tr, path); err != nil {
			t.Fatal(err)
		}
		good = append(good, path)
	}
	inputs, _, err := ListInputs(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	p := DefaultParams()
	p.Frames = 10
	var progress int
	st, err := Run(t.Context(), inputs, out, p, RunOptions{Workers: 2, Progress: func(string, error) { progress++ }})
	if err != nil {
		t.Fatal(err)
	}
	if st.In != len(good)+len(want) || st.Out != len(good) || st.DeadLetter != len(want) || progress != st.In {
		t.Fatalf("stats %+v, progress %d; want %d good, %d bad", st, progress, len(good), len(want))
	}
	clips := readRows[schemas.Clip](t, filepath.Join(out, "clips"))
	var uris []string
	for _, c := range clips {
		uris = append(uris, c.SourceURI)
		if len(c.Frames) != 10 || c.ID != ClipID(c.ContentSHA256, p.Spec()) || c.FrameWidth != 224 {
			t.Errorf("%s: %d frames, id %s, width %d", c.SourceURI, len(c.Frames), c.ID, c.FrameWidth)
		}
		for _, f := range c.Frames {
			decodeJPEG(t, f)
		}
	}
	sort.Strings(uris)
	if !slices.Equal(uris, good) {
		t.Errorf("clips for %v, want %v", uris, good)
	}
	dead := readRows[schemas.DeadLetter](t, filepath.Join(out, "deadletter"))
	for _, d := range dead {
		name := filepath.Base(d.InputRef)
		if d.Stage != "frames" || d.ErrorKind != want[name] || d.Message == "" || d.CreatedMicros == 0 {
			t.Errorf("dead letter %+v, want kind %q", d, want[name])
		}
		delete(want, name)
	}
	if len(want) != 0 {
		t.Errorf("no dead letter for %v", want)
	}
	// Version metadata is in every file.
	shards, _ := filepath.Glob(filepath.Join(out, "*", "part-*.parquet"))
	for _, s := range shards {
		f, _ := os.Open(s)
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := pf.Lookup(schemas.MetaVersion); !ok || v != "1" {
			t.Errorf("%s: schema version %q", s, v)
		}
		f.Close()
	}

	// A rerun resumes: everything is skipped and nothing new is written.
	st2, err := Run(t.Context(), inputs, out, p, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st2.Skipped != st.In || st2.Out != 0 || st2.DeadLetter != 0 {
		t.Errorf("rerun stats %+v, want all %d skipped", st2, st.In)
	}
	if n := len(readRows[schemas.Clip](t, filepath.Join(out, "clips"))); n != len(good) {
		t.Errorf("after the rerun there are %d clips, want %d", n, len(good))
	}
	// Other sampling settings are a different dataset row: nothing is skipped.
	p.Frames = 4
	st3, err := Run(t.Context(), good, out, p, RunOptions{})
	if err != nil || st3.Out != len(good) {
		t.Errorf("new settings: %+v, %v", st3, err)
	}
}

func TestRemoteURIsAreFetched(t *testing.T) {
	dir := t.TempDir()
	path := writeFixture(t, dir, fixture{name: "v.mp4", codec: "libx264", w: 128, h: 96, fps: 25, n: 30, gop: 25}, stripes)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	memfs.Write("memfs://bucket/videos/v.mp4", b)
	memfs.Write("memfs://bucket/videos/w.mp4", b)
	inputs, _, err := ListInputs(t.Context(), "memfs://bucket/videos/*.mp4")
	if err != nil || len(inputs) != 2 {
		t.Fatalf("ListInputs: %v, %v", inputs, err)
	}
	p := DefaultParams()
	p.Frames = 3
	remote := mustExtract(t, inputs[0], p)
	local := mustExtract(t, path, p)
	if remote.ContentSHA256 != local.ContentSHA256 || remote.ID != local.ID || remote.SourceURI != inputs[0] {
		t.Errorf("remote clip %s/%s differs from local %s", remote.ID, remote.SourceURI, local.ID)
	}
	if _, err := ExtractFile(t.Context(), "memfs://bucket/videos/missing.mp4", p); Kind(err) != "unreadable" {
		t.Errorf("missing remote file: %v", err)
	}
}

func TestManifests(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.mp4", "b.mp4"} {
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644)
	}
	want := []string{filepath.Join(dir, "a.mp4"), filepath.Join(dir, "b.mp4")}
	jsonl := filepath.Join(dir, "m.jsonl")
	os.WriteFile(jsonl, []byte(`{"uri":"a.mp4"}`+"\n\n"+`{"path":"`+want[1]+`","label":3}`+"\n"), 0o644)
	csvPath := filepath.Join(dir, "m.csv")
	f, _ := os.Create(csvPath)
	w := csv.NewWriter(f)
	w.WriteAll([][]string{{"id", "video"}, {"1", "a.mp4"}, {"2", "b.mp4"}})
	f.Close()
	pq := filepath.Join(dir, "m.parquet")
	type row struct {
		URI string `parquet:"uri"`
		N   int    `parquet:"n"`
	}
	if err := parquet.WriteFile(pq, []row{{"a.mp4", 1}, {"b.mp4", 2}}); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{jsonl, csvPath, pq, filepath.Join(dir, "*.mp4")} {
		got, bad, err := ListInputs(t.Context(), spec)
		if err != nil || !slices.Equal(got, want) || len(bad) != 0 {
			t.Errorf("ListInputs(%s) = %v, %v; want %v", filepath.Base(spec), got, err, want)
		}
	}
	// Lines and rows that name no video are dead letters at their place; the rest are listed.
	badJSONL := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(badJSONL, []byte(`{"uri": "a.mp4"}`+"\n{not json\n"+`{"name": "x"}`+"\n"+`{"uri": "b.mp4"}`+"\n"), 0o644)
	badCSV := filepath.Join(dir, "bad.csv")
	os.WriteFile(badCSV, []byte("id,video\n1,a.mp4\n2,\n3,he said \"hi\n4,b.mp4\n"), 0o644)
	for spec, refs := range map[string][]string{badJSONL: {"bad.jsonl:2", "bad.jsonl:3"}, badCSV: {"bad.csv:3", "bad.csv:4"}} {
		got, bad, err := ListInputs(t.Context(), spec)
		var gotRefs []string
		for _, d := range bad {
			gotRefs = append(gotRefs, d.InputRef)
			if d.Stage != Stage || d.ErrorKind != "bad_record" || d.Message == "" || d.ID != schemas.DeadLetterID(Stage, d.InputRef) {
				t.Errorf("dead letter %+v", d)
			}
		}
		slices.Sort(gotRefs)
		if err != nil || !slices.Equal(got, want) || !slices.Equal(gotRefs, refs) {
			t.Errorf("ListInputs(%s) = %v, %v, %v; want %v and dead letters at %v", filepath.Base(spec), got, gotRefs, err, want, refs)
		}
	}
	if _, _, err := ListInputs(t.Context(), filepath.Join(dir, "*.mkv")); err == nil {
		t.Error("a glob that matches nothing should be an error")
	}
}
