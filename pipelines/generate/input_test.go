package generate

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/synth"
)

func write(t *testing.T, path, text string) string {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestResolveRefusesEscapes(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(root, "link"))
	for _, c := range []struct {
		p  string
		ok bool
	}{
		{"videos/a.mp4", true},
		{"./a/../b.mp4", true},
		{filepath.Join(root, "c.mp4"), true},
		{"../secret.mp4", false},
		{"a/../../secret.mp4", false},
		{"/etc/passwd", false},
		{"link/x.mp4", false}, // a symbolic link out of the root
		{"gs://bucket/v.mp4", true},
	} {
		_, err := Resolve(root, c.p)
		if (err == nil) != c.ok {
			t.Errorf("Resolve(%q): %v, want ok=%v", c.p, err, c.ok)
		}
	}
}

func TestLoadJSONLManifest(t *testing.T) {
	dir := t.TempDir()
	m := write(t, filepath.Join(dir, "m.jsonl"), `{"id":"v1","video":"videos/a.mp4","questions":["What color?",{"id":"q2","question":"How many?"}]}
{"id":"v2","video":"../../etc/passwd","question":"What?"}
not json
{"id":"v3","images":["f/1.jpg","f/2.jpg"],"question":"Where?"}
{"id":"v4","video":"b.mp4"}
{"id":"v5","images":["/../../x.jpg"],"question":"Why?"}
`)
	tasks, dead, err := LoadTasks(context.Background(), Input{Spec: m})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || tasks[0].ID != "v1" || len(tasks[0].Questions) != 2 || tasks[0].Questions[1].ID != "q2" ||
		tasks[0].VideoURI != filepath.Join(dir, "videos/a.mp4") || tasks[1].ID != "v3" || len(tasks[1].Images) != 2 ||
		tasks[1].Images[0] != filepath.Join(dir, "f/1.jpg") || tasks[1].ImageRefs[0] != "f/1.jpg" {
		t.Errorf("tasks %+v", tasks)
	}
	kinds := map[string]string{}
	for _, d := range dead {
		kinds[d.InputRef] = d.ErrorKind
		if d.Stage != InputStage || d.Message == "" {
			t.Errorf("dead letter %+v", d)
		}
	}
	want := map[string]string{"v2": "path_outside_root", "m.jsonl:3": "bad_record", "v4": "bad_record", "v5": "path_outside_root"}
	if len(kinds) != len(want) {
		t.Errorf("dead letters %v, want %v", kinds, want)
	}
	for k, v := range want {
		if kinds[k] != v {
			t.Errorf("dead letter %s: %q, want %q", k, kinds[k], v)
		}
	}
}

func TestLoadCSVAndParquetManifests(t *testing.T) {
	dir := t.TempDir()
	c := write(t, filepath.Join(dir, "m.csv"), "id,video,question_id,question\nv1,a.mp4,q1,What color?\nv1,a.mp4,q2,How many?\nv2,b.mp4,,Where?\n")
	type row struct {
		ID       string `parquet:"id"`
		URI      string `parquet:"uri"`
		Question string `parquet:"question"`
	}
	p := filepath.Join(dir, "m.parquet")
	if err := parquet.WriteFile(p, []row{{"v1", "a.mp4", "What color?"}, {"v1", "a.mp4", "How many?"}, {"v2", "b.mp4", "Where?"}}); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{c, p} {
		tasks, dead, err := LoadTasks(context.Background(), Input{Spec: spec})
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) != 0 || len(tasks) != 2 || len(tasks[0].Questions) != 2 || tasks[1].VideoURI != filepath.Join(dir, "b.mp4") ||
			!strings.HasPrefix(tasks[1].Questions[0].ID, "q") || tasks[0].Questions[1].Text != "How many?" {
			t.Errorf("%s: tasks %+v dead %+v", filepath.Base(spec), tasks, dead)
		}
	}
}

func TestLoadSeedRLData(t *testing.T) {
	spec := filepath.Join("..", "..", "..", "shared", "testdata", "seed-json", "rl_sample.json")
	if _, err := os.Stat(spec); err != nil {
		t.Skipf("seed sample not here: %v", err)
	}
	folder := t.TempDir()
	tasks, dead, err := LoadTasks(context.Background(), Input{Spec: spec, ImageFolder: folder})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || len(dead) != 0 || tasks[0].ID != "17" || len(tasks[0].Images) != 50 ||
		tasks[0].Questions[0].Text != "Describe what the woman is cooking." || !strings.HasPrefix(tasks[0].Images[0], folder) {
		t.Errorf("tasks %+v dead %+v", tasks, dead)
	}
}

func TestVideosNeedQuestions(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.mp4"), "x")
	if _, _, err := LoadTasks(context.Background(), Input{Spec: filepath.Join(dir, "*.mp4")}); err == nil || !strings.Contains(err.Error(), "--questions") {
		t.Errorf("videos without questions: %v", err)
	}
	q := write(t, filepath.Join(dir, "q.txt"), "What color?\n\nHow many?\n")
	tasks, _, err := LoadTasks(context.Background(), Input{Spec: filepath.Join(dir, "*.mp4"), Questions: q})
	if err != nil || len(tasks) != 1 || len(tasks[0].Questions) != 2 || !strings.HasPrefix(tasks[0].ID, "a-") {
		t.Errorf("tasks %+v: %v", tasks, err)
	}
}

// A CSV manifest's unusable rows are dead letters that say where they are, and the good rows
// still come through: a malformed row (a bare quote), a row without an id or a question, and an
// id given a second video (its question must not be asked about the first video).
func TestCSVManifestBadRows(t *testing.T) {
	dir := t.TempDir()
	c := write(t, filepath.Join(dir, "m.csv"), "id,video,question\n"+
		"g0,good0.mp4,What color is it?\n"+ // line 2
		"g0,good1.mp4,Second video for g0?\n"+ // 3: conflicting video
		"g1,good1.mp4,\n"+ // 4: no question
		",good0.mp4,no id\n"+ // 5
		"g2,good0.mp4,He said \"hi\n"+ // 6: bare quote
		"g3,good1.mp4,Fine?\n"+ // 7
		"g0,good0.mp4,What color is it?\n") // 8: asked already
	tasks, dead, err := LoadTasks(context.Background(), Input{Spec: c})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range tasks {
		for _, q := range tk.Questions {
			got = append(got, tk.ID+"@"+filepath.Base(tk.VideoURI)+":"+q.Text)
		}
	}
	if want := []string{"g0@good0.mp4:What color is it?", "g3@good1.mp4:Fine?"}; !slices.Equal(got, want) {
		t.Errorf("questions %q, want %q", got, want)
	}
	refs := map[string]string{}
	for _, d := range dead {
		refs[d.InputRef] = d.ErrorKind + ": " + d.Message
	}
	for ref, kind := range map[string]string{"m.csv:3": "conflicting_video", "m.csv:4": "bad_record", "m.csv:5": "bad_record", "m.csv:6": "bad_record"} {
		if !strings.HasPrefix(refs[ref], kind) {
			t.Errorf("%s: dead letter %q, want %s", ref, refs[ref], kind)
		}
	}
	if len(dead) != 4 {
		t.Errorf("%d dead letters %v, want 4", len(dead), refs)
	}
}

// JSONL records that would give empty prompts or ambiguous ids are dead letters at their line;
// a question listed twice is asked once, and a second line of a record (same id, same video)
// adds its questions.
func TestJSONLManifestBadRecords(t *testing.T) {
	dir := t.TempDir()
	m := write(t, filepath.Join(dir, "m.jsonl"), `{"id":"a","video":"a.mp4","question":"Same?","questions":["Same?","Other?"]}
{"video":"b.mp4","question":"No id?"}
null
{"id":"ws","video":"a.mp4","question":"   "}
{"id":"e","video":"a.mp4","questions":[""]}
{"id":"a","video":"c.mp4","question":"Again?"}
{"id":"a","video":"a.mp4","questions":["Third?","Other?"]}
`)
	tasks, dead, err := LoadTasks(context.Background(), Input{Spec: m})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || len(tasks[0].Questions) != 3 || tasks[0].Questions[0].Text != "Same?" || tasks[0].Questions[1].Text != "Other?" ||
		tasks[0].Questions[2].Text != "Third?" {
		t.Errorf("tasks %+v, want record a with its three distinct questions, from lines 1 and 7", tasks)
	}
	kinds := map[string]string{}
	for _, d := range dead {
		kinds[d.InputRef] = d.ErrorKind
	}
	want := map[string]string{"m.jsonl:2": "bad_record", "m.jsonl:3": "bad_record", "m.jsonl:4": "bad_record", "m.jsonl:5": "bad_record", "m.jsonl:6": "conflicting_video"}
	if !maps.Equal(kinds, want) || len(dead) != len(want) {
		t.Errorf("dead letters %v, want %v", kinds, want)
	}
}

// A run over a whole synthetic world says how many held-out clips it takes (PPO's prompts from
// them would be the clips eval scores); --split and other inputs say nothing.
func TestHeldOutIncludedCountsAWorldsHeldOutClips(t *testing.T) {
	world := filepath.Join(t.TempDir(), "world")
	p := synth.DefaultParams()
	p.N, p.HeldoutEvery = 6, 3 // clips 2 and 5 held out
	if _, err := synth.Generate(context.Background(), world, p, nil); err != nil {
		t.Fatal(err)
	}
	manifest := write(t, filepath.Join(t.TempDir(), "m.jsonl"), `{"video": "a.mp4", "question": "Q?"}`+"\n")
	for _, c := range []struct {
		in   Input
		want int
	}{
		{Input{Spec: world}, 2},
		{Input{Spec: world, Split: "train"}, 0},
		{Input{Spec: world, Split: "heldout"}, 0},
		{Input{Spec: manifest}, 0},
	} {
		_, _, got, err := loadTasks(context.Background(), c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("loadTasks(%+v) counts %d held-out clips, want %d", c.in, got, c.want)
		}
	}
}
