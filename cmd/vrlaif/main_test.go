package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/internal/runlock"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/judge"
)

// TestMain lets the tests run this very binary as the vrlaif CLI (as a user would), without a
// separate build step: with VRLAIF_RUN_MAIN=1 the test binary is vrlaif.
func TestMain(m *testing.M) {
	if os.Getenv("VRLAIF_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// vrlaif runs the CLI and returns its combined output; wantOK says whether it must succeed.
func vrlaif(t *testing.T, wantOK bool, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Env = append(os.Environ(), "VRLAIF_RUN_MAIN=1")
	out, err := cmd.CombinedOutput()
	if wantOK && err != nil {
		t.Fatalf("vrlaif %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if !wantOK && err == nil {
		t.Fatalf("vrlaif %s succeeded, want failure\n%s", strings.Join(args, " "), out)
	}
	return string(out)
}

func readSummary(t *testing.T, dir string) schemas.Summary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s schemas.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	return s
}

func readShards[T any](t *testing.T, dir string) []T {
	t.Helper()
	shards, _ := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	var out []T
	for _, s := range shards {
		rows, err := parquet.ReadFile[T](s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rows...)
	}
	return out
}

func TestFramesOverMixedFolder(t *testing.T) {
	world := filepath.Join(t.TempDir(), "world")
	vrlaif(t, true, "synth", "--n", "4", "--seed", "3", "--output", world)
	videos := filepath.Join(world, "videos")
	good, _ := filepath.Glob(filepath.Join(videos, "*.mp4"))
	if len(good) != 4 {
		t.Fatalf("synth made %d videos", len(good))
	}
	data, _ := os.ReadFile(good[0])
	bad := map[string][]byte{
		"empty.mp4":     nil,
		"notes.txt":     []byte("not a video"),
		"truncated.mp4": data[:len(data)/2],
		"random.bin":    []byte(strings.Repeat("\x13\x37\xca\xfe", 5000)),
	}
	for name, b := range bad {
		os.WriteFile(filepath.Join(videos, name), b, 0o644)
	}
	out := filepath.Join(t.TempDir(), "frames")
	log := vrlaif(t, true, "frames", "--input", videos, "--output", out, "--frames", "6", "--size", "64")
	if !strings.Contains(log, "8 videos in, 4 clips out, 4 dead letters") {
		t.Errorf("report: %s", log)
	}
	s := readSummary(t, out)
	if got := s.Stages["frames"]; got.In != 8 || got.Out != 4 || got.DeadLetter != 4 {
		t.Errorf("summary frames stage %+v", got)
	}
	clips := readShards[schemas.Clip](t, filepath.Join(out, "clips"))
	if len(clips) != 4 {
		t.Fatalf("%d clip rows", len(clips))
	}
	for _, c := range clips {
		if len(c.Frames) != 6 || c.FrameWidth != 64 || c.FrameHeight != 64 {
			t.Errorf("%s: %d frames of %dx%d", c.SourceURI, len(c.Frames), c.FrameWidth, c.FrameHeight)
		}
	}
	dead := readShards[schemas.DeadLetter](t, filepath.Join(out, "deadletter"))
	if len(dead) != 4 {
		t.Fatalf("%d dead letters", len(dead))
	}
	for _, d := range dead {
		if _, ok := bad[filepath.Base(d.InputRef)]; !ok || d.ErrorKind == "" || d.Message == "" {
			t.Errorf("dead letter %+v", d)
		}
	}
	// Export to the seed's frame folders.
	seed := filepath.Join(t.TempDir(), "seed")
	vrlaif(t, true, "export", "--format", "frames", "--input", out, "--output", seed)
	imgs, _ := filepath.Glob(filepath.Join(seed, "*", "image_*.jpg"))
	if len(imgs) != 24 {
		t.Errorf("%d exported frames, want 24", len(imgs))
	}
	if _, err := os.Stat(filepath.Join(seed, strings.TrimSuffix(filepath.Base(good[0]), ".mp4"), "image_06.jpg")); err != nil {
		t.Errorf("seed layout: %v", err)
	}
}

func TestImportExportSeedJSON(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "rm.json")
	os.WriteFile(in, []byte(`[
 {"conversations": [[{"from": "human", "value": "<image>\nWhat moves?"}, {"from": "gpt", "value": ""}]],
  "output_1": {"value": "A red circle."}, "output_2": {"from": "gpt", "value": "Nothing."}, "preference": 1,
  "images": ["v1/image_01.jpg", "v1/image_02.jpg"]},
 {"conversations": [{"from": "human", "value": "<image>\nQ"}], "output_1": {"value": "a"}, "output_2": {"value": "b"}, "preference": 7},
 {"conversations": [{"from": "human", "value": "<image>\nWhich colour?"}, {"from": "gpt", "value": ""}],
  "output_1": {"value": "Blue."}, "output_2": {"value": "Green."}, "preference": 2, "images": ["v2/image_01.jpg"]}
]`), 0o644)
	out := filepath.Join(dir, "out")
	vrlaif(t, true, "import", "--format", "rm", "--input", in, "--output", out)
	if s := readSummary(t, out).Stages["import"]; s.In != 3 || s.Out != 2 || s.DeadLetter != 1 {
		t.Errorf("import counts %+v", s)
	}
	rows := readShards[schemas.RMRow](t, filepath.Join(out, "rm"))
	if len(rows) != 2 || rows[0].Output2 != "Nothing." || rows[1].Preference != 2 {
		t.Fatalf("rows %+v", rows)
	}
	back := filepath.Join(dir, "back.json")
	vrlaif(t, true, "export", "--format", "rm", "--input", out, "--output", back)
	var recs []map[string]any
	b, _ := os.ReadFile(back)
	if err := json.Unmarshal(b, &recs); err != nil || len(recs) != 2 {
		t.Fatalf("exported JSON: %v (%d records)", err, len(recs))
	}
	if recs[1]["preference"].(float64) != 2 || recs[0]["output_1"].(map[string]any)["value"] != "A red circle." {
		t.Errorf("exported records %v", recs)
	}
	// A second import into the same folder is refused rather than mixed in.
	vrlaif(t, false, "import", "--format", "rm", "--input", in, "--output", out)
}

// import leaves out a record that repeats an earlier one exactly and one whose id an earlier record
// gave to other frames, each as a dead letter of its own kind; records sharing an id and frames
// (two conversations about one video) are kept.
func TestImportLeavesOutDuplicates(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "sft.json")
	rec := func(id, frame, q string) string {
		return fmt.Sprintf(`{"id": %q, "conversations": [{"from": "human", "value": "<image>\n%s"}, {"from": "gpt", "value": "red"}], "images": [%q]}`, id, q, frame)
	}
	os.WriteFile(in, []byte("["+strings.Join([]string{
		rec("v1", "v1/image_01.jpg", "What colour?"),
		rec("v1", "v1/image_01.jpg", "What shape?"),  // same video, another question: kept
		rec("v1", "v1/image_01.jpg", "What colour?"), // the first again: duplicate_record
		rec("v1", "v9/image_01.jpg", "What colour?"), // v1 on other frames: id_conflict
		rec("v2", "v2/image_01.jpg", "What colour?"),
	}, ",")+"]"), 0o644)
	out := filepath.Join(dir, "out")
	vrlaif(t, true, "import", "--format", "sft", "--input", in, "--output", out)
	sum := readSummary(t, out)
	if s := sum.Stages["import"]; s.In != 5 || s.Out != 3 || s.DeadLetter != 2 {
		t.Errorf("import counts %+v", s)
	}
	if k := sum.ErrorKinds["import"]; k["duplicate_record"] != 1 || k["id_conflict"] != 1 {
		t.Errorf("dead letters by kind %v", k)
	}
	dead := readShards[schemas.DeadLetter](t, filepath.Join(out, "deadletter"))
	msgs := map[string]string{}
	for _, d := range dead {
		msgs[d.ErrorKind] = d.Message
	}
	if msgs["duplicate_record"] != "record 2 repeats record 0 exactly" || msgs["id_conflict"] != "id v1 was given to record 0 with other frames" {
		t.Errorf("dead letters %v", msgs)
	}
	if rows := readShards[schemas.SFTRow](t, filepath.Join(out, "sft")); len(rows) != 3 {
		t.Errorf("%d rows, want 3", len(rows))
	}
}

func TestDemoQuick(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo")
	log := vrlaif(t, true, "demo", "--quick", "--output", out)
	s := readSummary(t, out)
	if s.Stages["synth"].Out != 8 || s.Stages["frames"].Out != 8 || s.Stages["frames"].DeadLetter != 0 || s.Stages["sft"].Out != 1 {
		t.Errorf("demo summary %+v", s.Stages)
	}
	for _, f := range []string{"model.safetensors", "config.json", "tokenizer.json", "summary.json"} {
		if _, err := os.Stat(filepath.Join(out, "sft", f)); err != nil {
			t.Errorf("demo's SFT checkpoint lacks %s", f)
		}
	}
	if !strings.Contains(log, "held-out short-answer accuracy") {
		t.Errorf("demo does not report the SFT accuracies:\n%s", log)
	}
	if !strings.Contains(log, out) {
		t.Errorf("demo does not say where its output went:\n%s", log)
	}
	// The reward model and three PPO steps ran on those preferences.
	if _, err := os.Stat(filepath.Join(out, "rm", "rm_config.json")); err != nil {
		t.Errorf("demo: no reward model: %v", err)
	}
	if ms := metricsLines(t, filepath.Join(out, "ppo", "metrics.jsonl")); len(ms) != 3 || ms[2].Applied != 24 {
		t.Errorf("demo: %d PPO steps logged", len(ms))
	}
	// generate and feedback ran on the training clips, and their rows agree with the summary.
	resp := readShards[schemas.Response](t, filepath.Join(out, "generate", "responses"))
	prefs := readShards[schemas.Preference](t, filepath.Join(out, "feedback", "preferences"))
	if len(resp) == 0 || len(resp) != s.Stages["responses"].Out || len(prefs) != s.Stages["judge"].Out || len(prefs) == 0 {
		t.Errorf("demo: %d responses, %d preferences; summary %+v", len(resp), len(prefs), s.Stages)
	}
	for _, p := range prefs {
		if p.Context == "" || p.Judge.Template != prompts.JudgeLikelihood || p.Forward.Method != judge.MethodLikelihood { // the demo's default judge
			t.Errorf("demo preference without context or template: %+v", p)
			break
		}
	}
	clips := readShards[schemas.Clip](t, filepath.Join(out, "clips"))
	if len(clips) != 8 || len(clips[0].Frames) != 50 || clips[0].FrameWidth != 224 {
		t.Errorf("demo clips: %d", len(clips))
	}
	checkDemoEvalAndReport(t, out, s, prefs)

	// Run again into the same folder: SFT and the reward model have nothing left to train and say
	// so, and SFT's summary keeps the first run's result (it was overwritten with zero steps and
	// losses).
	first := readSummary(t, filepath.Join(out, "sft")).Settings["result"]
	log = vrlaif(t, true, "demo", "--quick", "--output", out)
	if !strings.Contains(log, "is trained to --steps 20 already; nothing to train") {
		t.Errorf("the re-run does not say SFT had nothing to train:\n%s", log)
	}
	if !strings.Contains(log, "(trained by an earlier run; nothing to train)") { // the reward model is not trained again either
		t.Errorf("the re-run does not say the reward model had nothing to train:\n%s", log)
	}
	again := readSummary(t, filepath.Join(out, "sft")).Settings["result"]
	if r, ok := again.(map[string]any); !ok || r["steps"] != float64(20) || !reflect.DeepEqual(again, first) {
		t.Errorf("SFT result after the re-run %v, want the first run's %v", again, first)
	}

	// The folder moved elsewhere (copied to another machine) resumes the same way: SFT finds its
	// data by contents, the reward model its base relative to itself, PPO both by weights hash.
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(out, moved); err != nil {
		t.Fatal(err)
	}
	log = vrlaif(t, true, "demo", "--quick", "--output", moved)
	for _, want := range []string{"is trained to --steps 20 already; nothing to train", "(trained by an earlier run; nothing to train)"} {
		if !strings.Contains(log, want) {
			t.Errorf("the moved folder's re-run does not say %q:\n%s", want, log)
		}
	}
	// 'train rm' on the demo's reward model with the demo's settings finds it finished; with
	// another learning rate it is refused by name.
	rmArgs := []string{"train", "rm", "--data", filepath.Join(moved, "feedback"), "--base", filepath.Join(moved, "sft"), "--output", filepath.Join(moved, "rm"), "--epochs", "1"}
	if log = vrlaif(t, true, rmArgs...); !strings.Contains(log, "is trained already; nothing to train (earlier run: ") {
		t.Errorf("train rm on the demo's finished reward model:\n%s", log)
	}
	if log = vrlaif(t, false, append(rmArgs, "--lr", "0.01")...); !strings.Contains(log, "lr 0.001 (now 0.01)") {
		t.Errorf("train rm with another learning rate:\n%s", log)
	}
}

// checkDemoEvalAndReport: the ablation judged exactly the same pairs without the narrative; the
// evaluation scored every held-out question of both models, and its rows, the summary and the
// report say the same numbers.
func checkDemoEvalAndReport(t *testing.T, out string, s schemas.Summary, prefs []schemas.Preference) {
	t.Helper()
	noctx := readShards[schemas.Preference](t, filepath.Join(out, "feedback-nocontext", "preferences"))
	pairKey := func(p schemas.Preference) string { return p.Response1 + "/" + p.Response2 }
	with := map[string]bool{}
	for _, p := range prefs {
		with[pairKey(p)] = true
	}
	if len(noctx) != len(prefs) {
		t.Errorf("no-context feedback judged %d pairs, the context-aware one %d", len(noctx), len(prefs))
	}
	for _, p := range noctx {
		if !with[pairKey(p)] || p.Context != "" || p.Judge.Template != prompts.JudgeLikelihoodNoContext {
			t.Errorf("no-context preference %+v is not a context-aware pair judged without context", p)
			break
		}
	}
	truths := readShards[schemas.Truth](t, filepath.Join(out, "world", "truth"))
	questions := 0
	split := map[string]string{}
	for _, tr := range truths {
		split[tr.ClipID] = tr.Split
		if tr.Split == "heldout" {
			questions += len(tr.QA)
		}
	}
	// RL learns from the training clips only; the evaluation asks about the held-out clips only.
	for _, p := range prefs {
		if split[p.VideoID] != "train" {
			t.Fatalf("a preference on clip %s (%q): RL data must come from the training clips", p.VideoID, split[p.VideoID])
		}
	}
	scores := readShards[schemas.EvalScore](t, filepath.Join(out, "eval", "scores"))
	perModel := map[string]map[string]int{}
	sums := map[string]map[string]float64{}
	ids := map[string]bool{}
	for _, r := range scores {
		if perModel[r.Model] == nil {
			perModel[r.Model], sums[r.Model] = map[string]int{}, map[string]float64{}
		}
		perModel[r.Model][r.Axis]++
		sums[r.Model][r.Axis] += float64(r.Score)
		if ids[r.ID] {
			t.Errorf("score id %s twice", r.ID)
		}
		ids[r.ID] = true
		if r.Score < 0 || r.Score > 5 || r.Judge != "groundtruth-v1" || split[r.ClipID] != "heldout" {
			t.Errorf("score row %+v", r)
		}
	}
	for _, m := range []string{"sft", "rlaif"} {
		a := perModel[m]
		// every question is scored once per axis it belongs to; a consistency pair once
		if got := a["correctness"] + a["temporal"] + a["qa"] + 2*a["consistency"]; got != questions || a["detail"] != a["correctness"] || a["context"] != a["correctness"] {
			t.Errorf("%s: rows per axis %v for %d held-out questions", m, a, questions)
		}
	}
	checkDemoRewards(t, out, truths, scores)
	if s.Stages["eval"].In != 2*questions || s.Stages["eval"].Out != len(scores) {
		t.Errorf("summary eval stage %+v; %d questions × 2 models, %d score rows", s.Stages["eval"], questions, len(scores))
	}
	md, err := os.ReadFile(filepath.Join(out, "report", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, axis := range []string{"correctness", "detail", "context", "temporal", "consistency"} {
		sft, rl := sums["sft"][axis]/float64(perModel["sft"][axis]), sums["rlaif"][axis]/float64(perModel["rlaif"][axis])
		row := fmt.Sprintf("| %s | %.2f | %.2f | %+.2f |", axis, sft, rl, rl-sft)
		if !strings.Contains(string(md), row) {
			t.Errorf("report.md lacks %q (from the score rows)", row)
		}
	}
	html, _ := os.ReadFile(filepath.Join(out, "report", "index.html"))
	for _, png := range []string{"ppo.png", "preference.png", "axes.png"} {
		if _, err := os.Stat(filepath.Join(out, "report", png)); err != nil || !strings.Contains(string(html), `src="`+png+`"`) {
			t.Errorf("report: %s missing or not shown (%v)", png, err)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, sub := range []string{"synth", "frames", "import", "export", "demo", "serve", "eval"} {
		help := vrlaif(t, true, sub, "--help")
		if flag := map[bool]string{true: "--model", false: "--output"}[sub == "serve"]; !strings.Contains(help, flag) {
			t.Errorf("%s --help does not document %s", sub, flag)
		}
		msg := vrlaif(t, false, sub)
		if !strings.Contains(msg, "required") {
			t.Errorf("%s without flags: %q", sub, msg)
		}
	}
	if msg := vrlaif(t, false, "import", "--format", "xml", "--input", "a", "--output", "b"); !strings.Contains(msg, "sft, rm or rl") {
		t.Errorf("bad format: %q", msg)
	}
	if msg := vrlaif(t, false, "frames", "--input", "x", "--output", t.TempDir(), "--quality", "0"); !strings.Contains(msg, "quality") {
		t.Errorf("bad quality: %q", msg)
	}
}

// An import stopped by a syntax error late in the file writes nothing (it left every shard
// finished before the error, which the re-run then refused as "already holds a dataset"); the
// fixed file then imports into the same folder.
func TestImportStoppedWritesNothing(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("[")
	for i := range 2500 { // past two 1000-row shards
		fmt.Fprintf(&b, `{"id": "r%d", "image": "v/image_01.jpg", "conversations": [{"from": "human", "value": "<image>\nWhat moves?"}, {"from": "gpt", "value": "A circle."}]},`, i)
	}
	in := filepath.Join(dir, "sft.json")
	os.WriteFile(in, []byte(b.String()+`{"id": oops}]`), 0o644)
	out := filepath.Join(dir, "out")
	if msg := vrlaif(t, false, "import", "--format", "sft", "--input", in, "--output", out); !strings.Contains(msg, "nothing was written") {
		t.Errorf("message %q, want it to say nothing was written", msg)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if e.Name() == runlock.File {
			// The run lock stays, as after every run: it holds no data, and removing it would let
			// two later runs lock two different files (runlock.Release).
			continue
		}
		if shards, _ := os.ReadDir(filepath.Join(out, e.Name())); e.IsDir() && len(shards) > 0 || !e.IsDir() {
			t.Errorf("the failed import left %s (%d entries)", e.Name(), len(shards))
		}
	}
	os.WriteFile(in, []byte(strings.TrimSuffix(b.String(), ",")+"]"), 0o644)
	vrlaif(t, true, "import", "--format", "sft", "--input", in, "--output", out)
	if rows := readShards[schemas.SFTRow](t, filepath.Join(out, "sft")); len(rows) != 2500 {
		t.Errorf("%d rows after the fixed import, want 2500", len(rows))
	}
}

// Every command that writes into an output folder refuses to while another run holds it (here:
// this test holds the lock), naming the holder, before it reads its input. (train ppo checks its
// inputs first: TestTrainPPOWithActors; generate and feedback: pipelines/feedback's e2e test.)
func TestCommandsRefuseAHeldOutputFolder(t *testing.T) {
	dir := t.TempDir()
	held := filepath.Join(dir, "held")
	lock, err := runlock.Acquire(held, "generate")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	missing := filepath.Join(dir, "missing")
	for name, args := range map[string][]string{
		"frames":    {"frames", "--input", missing, "--output", held},
		"import":    {"import", "--format", "sft", "--input", missing, "--output", held},
		"train sft": {"train", "sft", "--data", missing, "--output", held},
		"train rm":  {"train", "rm", "--data", missing, "--base", missing, "--output", held},
		"eval":      {"eval", "--world", missing, "--model", "sft=" + missing, "--output", held},
		"demo":      {"demo", "--quick", "--output", held},
	} {
		msg := vrlaif(t, false, args...)
		if !strings.Contains(msg, "another run is writing into "+held+" ('generate', pid ") {
			t.Errorf("%s into a held folder: %s", name, msg)
		}
	}
}
