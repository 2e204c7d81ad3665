package feedback_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/internal/beamtest"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/internal/duckdb"
	"github.com/vrlaif/vrlaif/internal/runlock"
	"github.com/vrlaif/vrlaif/pipelines/feedback"
	"github.com/vrlaif/vrlaif/pipelines/generate"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
	"github.com/vrlaif/vrlaif/transforms/frames"
	"github.com/vrlaif/vrlaif/transforms/judge"
	"github.com/vrlaif/vrlaif/transforms/narrative"
	"github.com/vrlaif/vrlaif/transforms/sample"
)

// TestMain runs the pipelines on Prism, in process.
func TestMain(m *testing.M) { ptest.Main(m) }

// fixture is a small synthetic world, a manifest over it with a bad video and a path that escapes
// the manifest's root, and a model checkpoint.
type fixture struct {
	manifest, ckpt string
	videos         int
	questions      int
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	p := synth.DefaultParams()
	p.N, p.HeldoutEvery = 3, 0
	truths, err := synth.Generate(context.Background(), world, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(world, "videos", "bad.mp4"), []byte("this is not a video"), 0o644)
	f := fixture{manifest: filepath.Join(world, "manifest.jsonl"), ckpt: backendtest.Checkpoint(t)}
	m, _ := os.Create(f.manifest)
	for _, tr := range truths {
		var qs []map[string]string
		for _, q := range tr.QA[:3] {
			qs = append(qs, map[string]string{"id": q.ID, "question": q.Question})
		}
		b, _ := json.Marshal(map[string]any{"id": tr.ClipID, "video": tr.VideoPath, "questions": qs})
		fmt.Fprintln(m, string(b))
		f.videos++
		f.questions += 3
	}
	// A record with a folder of pre-extracted frames (the seed's layout) instead of a video.
	var imgs []string
	for i, fr := range backendtest.Frames(t, 6) {
		name := fmt.Sprintf("frames/v_9/image_%02d.jpg", i+1)
		os.MkdirAll(filepath.Join(world, "frames", "v_9"), 0o755)
		os.WriteFile(filepath.Join(world, name), fr, 0o644)
		imgs = append(imgs, name)
	}
	b, _ := json.Marshal(map[string]any{"id": "folder", "images": imgs, "questions": []string{"What moves?", "What color is it?", "Where is it?"}})
	fmt.Fprintln(m, string(b))
	f.videos++
	f.questions += 3
	fmt.Fprintln(m, `{"id":"bad","video":"videos/bad.mp4","question":"What is shown?"}`)
	fmt.Fprintln(m, `{"id":"escape","video":"../../etc/hostname","question":"What is shown?"}`)
	m.Close()
	return f
}

func (f fixture) generateConfig(out string) generate.Config {
	b := backend.Config{Name: "builtin", Model: f.ckpt, CacheDir: filepath.Join(out, "cache")}
	fp := frames.DefaultParams()
	fp.Frames, fp.Size = 12, 32
	sp := sample.DefaultParams(b)
	sp.MaxTokens = 8
	return generate.Config{Input: generate.Input{Spec: f.manifest}, Output: out, Frames: fp,
		Narrative: narrative.Params{Backend: b, MaxTokens: 8}, Sample: sp}
}

// rows reads a dataset as id → the row's JSON without its creation time.
func rows[T any](t *testing.T, dir string) map[string]string {
	t.Helper()
	all, err := dataset.ReadAll[T](dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range all {
		v := reflect.ValueOf(&r).Elem()
		v.FieldByName("CreatedMicros").SetInt(0)
		b, _ := json.Marshal(r)
		id := v.FieldByName("ID").String()
		if _, dup := out[id]; dup {
			t.Errorf("%s: id %s twice", dir, id)
		}
		out[id] = string(b)
	}
	return out
}

func generated(t *testing.T, out string) map[string]map[string]string {
	return map[string]map[string]string{
		"clips":      rows[schemas.Clip](t, filepath.Join(out, "clips")),
		"narratives": rows[schemas.Narrative](t, filepath.Join(out, "narratives")),
		"responses":  rows[schemas.Response](t, filepath.Join(out, "responses")),
		"deadletter": rows[schemas.DeadLetter](t, filepath.Join(out, "deadletter")),
	}
}

func TestGenerateAndFeedback(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "gen")
	sum, err := generate.Run(ctx, f.generateConfig(out), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := generated(t, out)
	if len(got["clips"]) != f.videos || len(got["narratives"]) != f.videos || len(got["responses"]) != 2*f.questions {
		t.Fatalf("rows: %d clips, %d narratives, %d responses; want %d, %d, %d",
			len(got["clips"]), len(got["narratives"]), len(got["responses"]), f.videos, f.videos, 2*f.questions)
	}
	kinds := map[string]string{}
	for _, d := range got["deadletter"] {
		var dl schemas.DeadLetter
		json.Unmarshal([]byte(d), &dl)
		kinds[dl.InputRef] = dl.Stage + "/" + dl.ErrorKind
	}
	if want := map[string]string{"bad": "frames/not_a_video", "escape": "input/path_outside_root"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("dead letters %v, want %v", kinds, want)
	}
	if s := sum.Stages["frames"]; s.In != f.videos+1 || s.Out != f.videos || s.DeadLetter != 1 {
		t.Errorf("frames counts %+v", s)
	}
	if s := sum.Stages["responses"]; s.In != f.questions || s.Out != 2*f.questions {
		t.Errorf("responses counts %+v", s)
	}

	t.Run("DuckDB", func(t *testing.T) {
		duckdb.Need(t)
		for name, want := range got {
			res, err := duckdb.Query(ctx, fmt.Sprintf("SELECT id FROM read_parquet(%s) ORDER BY id", duckdb.Literal(filepath.Join(out, name, "*.parquet"))))
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range res {
				ids = append(ids, r["id"].(string))
			}
			var wantIDs []string
			for id := range want {
				wantIDs = append(wantIDs, id)
			}
			sort.Strings(wantIDs)
			if !reflect.DeepEqual(ids, wantIDs) {
				t.Errorf("%s: DuckDB reads ids %v, our reader %v", name, ids, wantIDs)
			}
		}
		// Values too: every response's text, log-probability count and policy, and the frames.
		res, err := duckdb.Query(ctx, fmt.Sprintf(`SELECT id, text, len(logprobs) AS n, policy.template AS tmpl FROM read_parquet(%s)`,
			duckdb.Literal(filepath.Join(out, "responses", "*.parquet"))))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			var want schemas.Response
			json.Unmarshal([]byte(got["responses"][r["id"].(string)]), &want)
			if r["text"] != want.Text || int(r["n"].(float64)) != len(want.LogProbs) || r["tmpl"] != "answer-v1" {
				t.Errorf("response %v: DuckDB %v, ours %q with %d log-probs", r["id"], r, want.Text, len(want.LogProbs))
			}
		}
		res, err = duckdb.Query(ctx, fmt.Sprintf(`SELECT sum(len(frames)) AS n FROM read_parquet(%s)`, duckdb.Literal(filepath.Join(out, "clips", "*.parquet"))))
		if err != nil || int(res[0]["n"].(float64)) != 12*f.videos {
			t.Errorf("frames through DuckDB: %v %v", res, err)
		}
	})

	t.Run("RerunWritesNothing", func(t *testing.T) {
		before, _ := filepath.Glob(filepath.Join(out, "*", "*.parquet"))
		sum, err := generate.Run(ctx, f.generateConfig(out), nil)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := filepath.Glob(filepath.Join(out, "*", "*.parquet"))
		if !reflect.DeepEqual(before, after) || !reflect.DeepEqual(generated(t, out), got) {
			t.Errorf("a re-run changed the output: %d → %d shards", len(before), len(after))
		}
		if s := sum.Stages["responses"]; s.Skipped != 2*f.questions {
			t.Errorf("re-run skipped %d responses, want %d", s.Skipped, 2*f.questions)
		}
		if sum.Counters["responses.written"] != 0 {
			t.Errorf("re-run wrote %d responses", sum.Counters["responses.written"])
		}
		// Every model call of the re-run was answered by the cache.
		for _, stage := range []string{"narrative", "responses"} {
			if calls, hits := sum.Counters[stage+".model_calls"], sum.Counters[stage+".cache_hits"]; calls != 0 || hits == 0 {
				t.Errorf("%s re-run: %d model calls, %d cache hits", stage, calls, hits)
			}
		}
	})

	t.Run("RerunWithOtherSettingsIsRefused", func(t *testing.T) {
		// A re-run with another temperature, or a retrained model under the same path (here: its
		// revision), would add rows of a second kind beside the first's; it is refused before
		// anything is written, and a larger --k (more answers to the same questions) goes on.
		before, _ := filepath.Glob(filepath.Join(out, "*", "*.parquet"))
		hotter := f.generateConfig(out)
		hotter.Sample.Temperature = 1.1
		retrained := f.generateConfig(out)
		retrained.Sample.Backend.Revision = "retrained"
		for name, c := range map[string]generate.Config{"temperature": hotter, "revision": retrained} {
			_, err := generate.Run(ctx, c, nil)
			if err == nil {
				t.Errorf("%s: a re-run with other settings was accepted", name)
				continue
			}
			for _, want := range []string{"holds rows made with other settings", name, "give another output folder"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %q does not say %q", name, err, want)
				}
			}
		}
		after, _ := filepath.Glob(filepath.Join(out, "*", "*.parquet"))
		if !reflect.DeepEqual(before, after) || !reflect.DeepEqual(generated(t, out), got) {
			t.Errorf("a refused re-run changed the output: %d → %d shards", len(before), len(after))
		}
		fewer := f.generateConfig(out)
		fewer.Sample.K = 1
		if _, err := generate.Run(ctx, fewer, nil); err == nil || !strings.Contains(err.Error(), "sample.k 2 (now 1; it may only grow)") {
			t.Errorf("a smaller k: %v", err)
		}
	})

	t.Run("RerunRemovesResolvedDeadLetters", func(t *testing.T) {
		// Dead letters an earlier run left for items that now have their rows (a video whose
		// frames failed, a narrative, a question's answers) go after a re-run; one for an item
		// still missing stays.
		dir := filepath.Join(t.TempDir(), "gen")
		if err := os.CopyFS(dir, os.DirFS(out)); err != nil {
			t.Fatal(err)
		}
		resp, err := dataset.ReadAll[schemas.Response](filepath.Join(dir, "responses"))
		if err != nil || len(resp) == 0 {
			t.Fatal(resp, err)
		}
		r := resp[0]
		stale := []schemas.DeadLetter{
			frames.DeadLetter(r.VideoID, errors.New("decoder crashed")),
			narrative.DeadLetter(narrative.Stage, r.ClipID, errors.New("timeout")),
			narrative.DeadLetter(sample.Stage, r.ClipID+"/"+r.QuestionID, errors.New("timeout")),
		}
		missing := narrative.DeadLetter(sample.Stage, r.ClipID+"/no-such-question", errors.New("timeout"))
		w, _ := dataset.NewWriter[schemas.DeadLetter](filepath.Join(dir, "deadletter"), schemas.RowDeadLetter, 0)
		w.Write(append(stale, missing)...)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		sum, err := generate.Run(ctx, f.generateConfig(dir), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := maps.Clone(got["deadletter"])
		m := missing
		m.CreatedMicros = 0
		b, _ := json.Marshal(m)
		want[missing.ID] = string(b)
		if left := rows[schemas.DeadLetter](t, filepath.Join(dir, "deadletter")); !reflect.DeepEqual(left, want) || sum.Counters["deadletter.resolved"] != 3 {
			t.Errorf("dead letters after the re-run: %d (want %d), %d resolved (want 3)", len(left), len(want), sum.Counters["deadletter.resolved"])
		}
	})

	t.Run("OneRunAtATime", func(t *testing.T) {
		// A run into a folder another run holds is refused, naming it, and writes nothing; once
		// the holder is gone, the next run removes the temporary shard a killed run left.
		dir := filepath.Join(t.TempDir(), "gen")
		if err := os.CopyFS(dir, os.DirFS(out)); err != nil {
			t.Fatal(err)
		}
		leftover := filepath.Join(dir, "responses", ".part-0123456789abcdef.parquet.77.tmp")
		if err := os.WriteFile(leftover, []byte("half a shard"), 0o644); err != nil {
			t.Fatal(err)
		}
		holder, err := runlock.Acquire(dir, "generate")
		if err != nil {
			t.Fatal(err)
		}
		_, err = generate.Run(ctx, f.generateConfig(dir), nil)
		if err == nil || !strings.Contains(err.Error(), "another run is writing into "+dir) {
			t.Errorf("a run into a held folder: %v", err)
		}
		if _, serr := os.Stat(leftover); serr != nil {
			t.Errorf("the refused run touched the holder's files: %v", serr)
		}
		holder.Release()
		var progress strings.Builder
		if _, err := generate.Run(ctx, f.generateConfig(dir), &progress); err != nil {
			t.Fatal(err)
		}
		if _, serr := os.Stat(leftover); !os.IsNotExist(serr) || !strings.Contains(progress.String(), "removed 1 temporary files a killed run left") {
			t.Errorf("the killed run's temporary shard: %v; progress:\n%s", serr, progress.String())
		}
		if again := generated(t, dir); !reflect.DeepEqual(again, got) {
			t.Errorf("the output changed")
		}
	})

	t.Run("InterruptedRunCompletes", func(t *testing.T) {
		// A run that stopped after part of the work (here: it had only the first video), then
		// the whole run into the same folder, must give exactly the rows of one whole run.
		part := filepath.Join(t.TempDir(), "gen")
		cfg := f.generateConfig(part)
		first, _ := os.ReadFile(f.manifest)
		partial := filepath.Join(filepath.Dir(f.manifest), "first.jsonl")
		os.WriteFile(partial, first[:len(first)-len(first)+indexNewline(first)+1], 0o644)
		cfg.Input.Spec = partial
		if _, err := generate.Run(ctx, cfg, nil); err != nil {
			t.Fatal(err)
		}
		if n := len(rows[schemas.Clip](t, filepath.Join(part, "clips"))); n != 1 {
			t.Fatalf("the partial run wrote %d clips", n)
		}
		if _, err := generate.Run(ctx, f.generateConfig(part), nil); err != nil {
			t.Fatal(err)
		}
		if again := generated(t, part); !reflect.DeepEqual(again, got) {
			for k := range got {
				if !reflect.DeepEqual(again[k], got[k]) {
					t.Errorf("%s: %d rows after resuming, %d in one run", k, len(again[k]), len(got[k]))
				}
			}
		}
	})

	t.Run("UniversalRunner", func(t *testing.T) {
		endpoint := beamtest.StartPrism(t)
		for name, v := range map[string]string{"runner": "universal", "endpoint": endpoint, "environment_type": "LOOPBACK"} {
			old := flag.Lookup(name).Value.String()
			flag.Set(name, v)
			defer flag.Set(name, old)
		}
		remote := filepath.Join(t.TempDir(), "gen")
		if _, err := generate.Run(ctx, f.generateConfig(remote), nil); err != nil {
			t.Fatal(err)
		}
		if r := generated(t, remote); !reflect.DeepEqual(r, got) {
			t.Errorf("the standalone job server produced different rows")
		}
	})

	t.Run("Feedback", func(t *testing.T) {
		fb := filepath.Join(t.TempDir(), "fb")
		b := backend.Config{Name: "builtin", Model: f.ckpt, CacheDir: filepath.Join(fb, "cache")}
		sum, err := feedback.Run(ctx, feedback.Config{Input: out, Output: fb, Judge: judge.Params{Backend: b}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		prefs, err := dataset.ReadAll[schemas.Preference](filepath.Join(fb, "preferences"))
		if err != nil {
			t.Fatal(err)
		}
		st := sum.Extra["judge_stats"].(judge.Stats)
		if len(prefs)+st.Identical != f.questions || st.Pairs != len(prefs) {
			t.Errorf("%d preferences + %d identical pairs, want %d questions' worth; stats %+v", len(prefs), st.Identical, f.questions, st)
		}
		for _, p := range prefs {
			if p.Context == "" || p.Judge.Template != "judge-v1" || p.Forward.Method != judge.MethodLogProbs ||
				p.Labeled != (p.Reason == "") || (p.Labeled && p.Chosen != 1 && p.Chosen != 2) {
				t.Errorf("preference %+v", p)
			}
		}
		// A judge call that failed in an earlier run for a pair judged now is resolved by a re-run.
		p0 := prefs[0]
		w, _ := dataset.NewWriter[schemas.DeadLetter](filepath.Join(fb, "deadletter"), schemas.RowDeadLetter, 0)
		w.Write(narrative.DeadLetter(judge.Stage, p0.Response1+"|"+p0.Response2, errors.New("timeout")),
			narrative.DeadLetter(judge.Stage, "r-unknown|r-other", errors.New("timeout")))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := feedback.Run(ctx, feedback.Config{Input: out, Output: fb, Judge: judge.Params{Backend: b}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		left := rows[schemas.DeadLetter](t, filepath.Join(fb, "deadletter"))
		if _, kept := left[schemas.DeadLetterID(judge.Stage, "r-unknown|r-other")]; !kept || again.Counters["deadletter.resolved"] != 1 {
			t.Errorf("feedback re-run: %d resolved (want 1), unresolved one kept: %v", again.Counters["deadletter.resolved"], kept)
		}
		// The ablation's judge template into the same folder would mix two judges' labels.
		noContext := feedback.Config{Input: out, Output: fb, Judge: judge.Params{Backend: b, Template: prompts.JudgeNoContext}}
		if _, err := feedback.Run(ctx, noContext, nil); err == nil || !strings.Contains(err.Error(), "judge.template") {
			t.Errorf("feedback re-run with another template: %v", err)
		}
		duckdb.Need(t)
		res, err := duckdb.Query(ctx, fmt.Sprintf(`SELECT count(*) AS n, count(*) FILTER (WHERE labeled) AS l FROM read_parquet(%s)`,
			duckdb.Literal(filepath.Join(fb, "preferences", "*.parquet"))))
		if err != nil || int(res[0]["n"].(float64)) != len(prefs) || int(res[0]["l"].(float64)) != st.Labeled {
			t.Errorf("DuckDB: %v %v; want %d rows, %d labeled", res, err, len(prefs), st.Labeled)
		}
	})
}

func indexNewline(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return len(b)
}
