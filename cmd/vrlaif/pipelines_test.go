package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/judge"
)

// idsAndTexts is a dataset's rows as id → JSON without the creation time.
func idsAndTexts[T any](t *testing.T, dir string) map[string]string {
	t.Helper()
	all, err := dataset.ReadAll[T](dir)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	out := map[string]string{}
	for _, r := range all {
		var m map[string]any
		b, _ := json.Marshal(r)
		json.Unmarshal(b, &m)
		delete(m, "created_micros")
		b, _ = json.Marshal(m)
		out[m["id"].(string)] = string(b)
	}
	return out
}

// A generate run killed with SIGKILL part-way and started again into the same folder ends with
// exactly the rows of an uninterrupted run: shards are renamed into place only when complete,
// rows already written are skipped, and the model calls are replayed from the cache.
func TestGenerateKilledAndRerun(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	vrlaif(t, true, "synth", "--n", "6", "--output", world)
	ckpt := backendtest.Checkpoint(t)
	args := func(out string) []string {
		return []string{"generate", "--input", world, "--model", ckpt, "--output", out, "--frames", "16", "--size", "32",
			"--k", "3", "--max-tokens", "24", "--narrative-max-tokens", "24"}
	}
	whole := filepath.Join(dir, "whole")
	log := vrlaif(t, true, args(whole)...)
	if !strings.Contains(log, "generate: input 6→6") {
		t.Errorf("no final counts line:\n%s", log)
	}

	killed := filepath.Join(dir, "killed")
	cmd := exec.Command(os.Args[0], args(killed)...)
	cmd.Env = append(os.Environ(), "VRLAIF_RUN_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	partial := false
wait:
	for {
		select {
		case <-exited:
			t.Log("the run finished before any shard appeared to kill it at; checking the re-run anyway")
			break wait
		case <-deadline:
			t.Fatal("no shard appeared in two minutes")
		case <-time.After(5 * time.Millisecond):
			if shards, _ := filepath.Glob(filepath.Join(killed, "*", "part-*.parquet")); len(shards) > 0 {
				cmd.Process.Signal(syscall.SIGKILL)
				<-exited
				partial = true
				break wait
			}
		}
	}
	if partial { // whatever is there must be complete shards
		for _, sub := range []string{"clips", "narratives", "responses"} {
			shards, _ := filepath.Glob(filepath.Join(killed, sub, "part-*.parquet"))
			for _, s := range shards {
				f, err := os.Open(s)
				if err != nil {
					t.Fatal(err)
				}
				st, _ := f.Stat()
				if _, err := parquet.OpenFile(f, st.Size()); err != nil {
					t.Errorf("a shard left by the killed run is not a complete Parquet file: %s: %v", s, err)
				}
				f.Close()
			}
		}
	}
	vrlaif(t, true, args(killed)...)
	for name, read := range map[string]func(*testing.T, string) map[string]string{
		"clips": idsAndTexts[schemas.Clip], "narratives": idsAndTexts[schemas.Narrative],
		"responses": idsAndTexts[schemas.Response], "deadletter": idsAndTexts[schemas.DeadLetter],
	} {
		want, got := read(t, filepath.Join(whole, name)), read(t, filepath.Join(killed, name))
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: %d rows after kill and re-run, %d in one run (or different values)", name, len(got), len(want))
		}
	}
	var s schemas.Summary
	b, _ := os.ReadFile(filepath.Join(killed, "summary.json"))
	json.Unmarshal(b, &s)
	t.Logf("killed part-way: %v; the re-run skipped %d responses already written", partial, s.Stages["responses"].Skipped)
}

// feedback over a generate folder, then its labeled pairs exported in the seed's RM layout, which
// our own importer reads back.
func TestFeedbackAndExportRM(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	vrlaif(t, true, "synth", "--n", "2", "--output", world)
	ckpt := backendtest.Checkpoint(t)
	gen, fb := filepath.Join(dir, "gen"), filepath.Join(dir, "fb")
	vrlaif(t, true, "generate", "--input", world, "--model", ckpt, "--output", gen, "--frames", "8", "--size", "32", "--max-tokens", "6", "--narrative-max-tokens", "6")
	log := vrlaif(t, true, "feedback", "--input", gen, "--model", ckpt, "--output", fb)
	if !strings.Contains(log, "flip rate") {
		t.Errorf("feedback does not report the judge's statistics:\n%s", log)
	}
	var s schemas.Summary
	b, _ := os.ReadFile(filepath.Join(fb, "summary.json"))
	if err := json.Unmarshal(b, &s); err != nil || s.Extra["judge_stats"] == nil {
		t.Fatalf("summary: %v %s", err, b)
	}
	prefs, _ := dataset.ReadAll[schemas.Preference](filepath.Join(fb, "preferences"))
	labeled := 0
	for _, p := range prefs {
		if p.Labeled {
			labeled++
		}
	}
	rm := filepath.Join(dir, "rm.json")
	vrlaif(t, true, "export", "--format", "rm", "--input", fb, "--output", rm)
	back := filepath.Join(dir, "rm-back")
	vrlaif(t, true, "import", "--format", "rm", "--input", rm, "--output", back)
	rows, _ := dataset.ReadAll[schemas.RMRow](filepath.Join(back, "rm"))
	if len(rows) != labeled {
		t.Errorf("%d RM records back, %d labeled preferences", len(rows), labeled)
	}
	if msg := vrlaif(t, false, "feedback", "--input", world, "--model", ckpt, "--output", filepath.Join(dir, "x")); !strings.Contains(msg, "generate") {
		t.Errorf("feedback on a folder without responses: %q", msg)
	}
	// The likelihood judge, without the narrative: every pair scored, by its template.
	lk := filepath.Join(dir, "fb-likelihood")
	vrlaif(t, true, "feedback", "--input", gen, "--model", ckpt, "--output", lk, "--judge", "likelihood", "--no-context")
	lprefs, _ := dataset.ReadAll[schemas.Preference](filepath.Join(lk, "preferences"))
	if len(lprefs) != len(prefs) || len(prefs) == 0 {
		t.Errorf("the likelihood judge judged %d pairs, the verdict judge %d", len(lprefs), len(prefs))
	}
	for _, p := range lprefs {
		if p.Judge.Template != prompts.JudgeLikelihoodNoContext || p.Context != "" || p.Forward.Method != judge.MethodLikelihood {
			t.Errorf("likelihood preference %+v", p)
			break
		}
	}
	if msg := vrlaif(t, false, "feedback", "--input", gen, "--model", ckpt, "--output", filepath.Join(dir, "y"), "--judge", "vote"); !strings.Contains(msg, "--judge must be") {
		t.Errorf("an unknown judge: %q", msg)
	}
}

// Records of the seed's RL_data.json that share a video (one record per question, as the seed
// has them) share its clip: generate writes the clip and its narrative once, and every preference
// carries the record id of its own answers.
func TestRecordsSharingAVideo(t *testing.T) {
	dir := t.TempDir()
	imgs := backendtest.Frames(t, 8)
	for v, folder := range []string{"vidA", "vidB"} {
		if err := os.MkdirAll(filepath.Join(dir, folder), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			if err := os.WriteFile(filepath.Join(dir, folder, fmt.Sprintf("image_%02d.jpg", i)), imgs[4*v+i], 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	record := func(uid int, folder, question string) map[string]any {
		var images []string
		for i := range 4 {
			images = append(images, fmt.Sprintf("%s/image_%02d.jpg", folder, i))
		}
		return map[string]any{"uid": uid, "images": images,
			"conversations": []map[string]string{{"from": "human", "value": "<video>\n" + question}, {"from": "gpt", "value": ""}}}
	}
	recs := []map[string]any{record(1, "vidA", "What color is the ball?"), record(2, "vidA", "Which way does it move?"),
		record(3, "vidB", "What color is the ball?"), record(4, "vidA", "What color is the ball?")}
	b, _ := json.Marshal(recs)
	input := filepath.Join(dir, "RL_data.json")
	if err := os.WriteFile(input, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ckpt := backendtest.Checkpoint(t)
	gen, fb := filepath.Join(dir, "gen"), filepath.Join(dir, "fb")
	vrlaif(t, true, "generate", "--input", input, "--model", ckpt, "--output", gen, "--frames", "4", "--size", "32",
		"--max-tokens", "6", "--narrative-max-tokens", "6", "--k", "3")
	vrlaif(t, true, "feedback", "--input", gen, "--model", ckpt, "--output", fb)

	unique := func(what string, ids []string) {
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("%s: id %s twice", what, id)
			}
			seen[id] = true
		}
	}
	clips, _ := dataset.ReadAll[schemas.Clip](filepath.Join(gen, "clips"))
	narrs, _ := dataset.ReadAll[schemas.Narrative](filepath.Join(gen, "narratives"))
	resps, _ := dataset.ReadAll[schemas.Response](filepath.Join(gen, "responses"))
	prefs, _ := dataset.ReadAll[schemas.Preference](filepath.Join(fb, "preferences"))
	if len(clips) != 2 || len(narrs) != 2 {
		t.Errorf("%d clips and %d narratives for two videos", len(clips), len(narrs))
	}
	ids := func(n int, id func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = id(i)
		}
		return out
	}
	unique("clips", ids(len(clips), func(i int) string { return clips[i].ID }))
	unique("narratives", ids(len(narrs), func(i int) string { return narrs[i].ID }))
	unique("responses", ids(len(resps), func(i int) string { return resps[i].ID }))
	unique("preferences", ids(len(prefs), func(i int) string { return prefs[i].ID }))
	// Each record is its own prompt (the seed's question id is the record's uid), records 1 and 4
	// included although they ask vidA the same question.
	if len(resps) != 12 {
		t.Errorf("%d responses, want 3 answers for each of 4 records", len(resps))
	}
	byID := map[string]schemas.Response{}
	videos := map[string]bool{}
	for _, r := range resps {
		byID[r.ID] = r
	}
	for _, p := range prefs {
		r1, r2 := byID[p.Response1], byID[p.Response2]
		if p.VideoID != r1.VideoID || p.VideoID != r2.VideoID || p.QuestionID != r1.QuestionID || p.Question != r1.Question {
			t.Errorf("preference on record %s (%s), its answers from records %s and %s (%s)", p.VideoID, p.Question, r1.VideoID, r2.VideoID, r1.Question)
		}
		videos[p.VideoID] = true
	}
	if len(videos) < 2 {
		t.Errorf("preferences on records %v only; want pairs from more than one record", videos)
	}
}

// `vrlaif frames` over a manifest with a malformed line and a line without a video: the good
// lines' videos are extracted, each bad line is a dead letter at file:line, and a re-run writes
// nothing twice.
func TestFramesManifestWithBadLines(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	vrlaif(t, true, "synth", "--n", "2", "--output", world)
	videos, _ := filepath.Glob(filepath.Join(world, "videos", "*.mp4"))
	m := filepath.Join(dir, "m.jsonl")
	os.WriteFile(m, []byte(fmt.Sprintf("{\"video\": %q}\n{not json\n{\"name\": \"x\"}\n{\"video\": %q}\n", videos[0], videos[1])), 0o644)
	out := filepath.Join(dir, "frames")
	for run := range 2 {
		vrlaif(t, true, "frames", "--input", m, "--output", out, "--frames", "4", "--size", "32")
		dead, _ := dataset.ReadAll[schemas.DeadLetter](filepath.Join(out, "deadletter"))
		clips, _ := dataset.ReadAll[schemas.Clip](filepath.Join(out, "clips"))
		refs := map[string]bool{}
		for _, d := range dead {
			refs[d.InputRef] = true
		}
		if len(clips) != 2 || len(dead) != 2 || !refs["m.jsonl:2"] || !refs["m.jsonl:3"] {
			t.Errorf("run %d: %d clips, dead letters %v; want 2 clips and lines 2 and 3 once each", run+1, len(clips), dead)
		}
	}
	if s := readSummary(t, out).Stages["frames"]; s.In != 4 || s.Skipped != 4 {
		t.Errorf("the re-run's summary %+v: want 4 inputs, all already done", s)
	}
}

// A model server that is down, with no --model to skip asking it for its model, fails the command
// at once with the cause in one line: no pipeline is built, no Beam graph dumped.
func TestGenerateWithServerDown(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	vrlaif(t, true, "synth", "--n", "1", "--output", world)
	msg := vrlaif(t, false, "generate", "--input", world, "--backend", "openai", "--url", "http://127.0.0.1:1/v1",
		"--output", filepath.Join(dir, "gen"), "--timeout", "2s", "--max-retries", "0")
	if !strings.Contains(msg, "connection refused") || len(msg) > 1000 {
		t.Errorf("server down: %d bytes of output %q, want one line naming the refused connection", len(msg), msg)
	}
}
