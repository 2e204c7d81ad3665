package main

import (
	"encoding/json"
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
	"github.com/vrlaif/vrlaif/schemas"
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
}
