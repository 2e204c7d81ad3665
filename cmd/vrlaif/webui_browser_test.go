package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/backend/builtin"
	"github.com/vrlaif/vrlaif/internal/browsertest"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/internal/duckdb"
	"github.com/vrlaif/vrlaif/internal/reviewmarks"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/frames"
)

// browserSeen is what tools/browser/webui.mjs reports it saw on the page.
type browserSeen struct {
	UploadFrames int      `json:"upload_frames"`
	UploadStatus string   `json:"upload_status"`
	Answer1      string   `json:"answer_1"`
	Answers      []string `json:"answers"`
	BadUpload    string   `json:"bad_upload"`
	Datasets     []string `json:"datasets"`
	Charts       []string `json:"charts"`
	Pages, Total int
	LabeledTags  []string   `json:"labeled_tags"`
	SearchInfo   string     `json:"search_info"`
	DeadLetters  [][]string `json:"deadletters"`
	Pair         struct {
		ID, Question, Narrative, Status string
		Frames                          int
		Output1                         string     `json:"output_1"`
		Output2                         string     `json:"output_2"`
		Chosen                          []string   `json:"chosen"`
		Verdicts                        [][]string `json:"verdicts"`
	} `json:"pair"`
	MarkedID       string `json:"marked_id"`
	StatsAfterMark string `json:"stats_after_mark"`
}

// The web page in a real browser: `vrlaif serve --model CKPT --data DIR` over the outputs of real
// generate and feedback runs (three synthetic clips and a file that is not a video); Chromium
// uploads a clip, asks two questions, tries a bad file, then reviews the feedback run: pages,
// filters, searches, lists dead letters, opens a pair and marks it wrong. The test then checks what
// the page changed on disk: the mark (read back by DuckDB), the preference rows untouched, export
// leaving the marked pair out, and no upload left in the upload area. Screenshots are kept in
// out/test-artifacts/webui.
func TestWebPageInBrowser(t *testing.T) {
	browsertest.Need(t)
	shots := browsertest.ArtifactDir(t, "webui")
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	vrlaif(t, true, "synth", "--n", "3", "--output", world)
	videos := filepath.Join(dir, "videos")
	os.MkdirAll(videos, 0o755)
	mp4s, _ := filepath.Glob(filepath.Join(world, "videos", "*.mp4"))
	for _, v := range mp4s {
		b, _ := os.ReadFile(v)
		os.WriteFile(filepath.Join(videos, filepath.Base(v)), b, 0o644)
	}
	bad := filepath.Join(dir, "broken.mp4")
	os.WriteFile(bad, []byte("this is a text file, not a video\n"), 0o644)
	os.WriteFile(filepath.Join(videos, "broken.mp4"), []byte("this is a text file, not a video\n"), 0o644)
	questions := filepath.Join(dir, "questions.txt")
	os.WriteFile(questions, []byte("What color is the square?\nWhich shape moves first?\nWhat color is the background?\nWhat happens at the end?\n"), 0o644)

	ckpt := backendtest.Checkpoint(t)
	data := filepath.Join(dir, "run")
	gen, fb := filepath.Join(data, "generate"), filepath.Join(data, "feedback")
	vrlaif(t, true, "generate", "--input", videos, "--questions", questions, "--model", ckpt, "--output", gen,
		"--frames", "24", "--size", "32", "--k", "3", "--max-tokens", "8", "--narrative-max-tokens", "8")
	vrlaif(t, true, "feedback", "--input", gen, "--model", ckpt, "--output", fb)
	prefs, err := dataset.ReadAll[schemas.Preference](filepath.Join(fb, schemas.RowPreference))
	if err != nil || len(prefs) < 6 {
		t.Fatalf("feedback wrote %d pairs (%v); the page test needs more than one page of 5", len(prefs), err)
	}
	before := shardHashes(t, filepath.Join(fb, schemas.RowPreference))

	tmp := filepath.Join(dir, "tmp")
	os.MkdirAll(tmp, 0o755)
	srv := exec.Command(os.Args[0], "serve", "--model", ckpt, "--data", data, "--addr", "127.0.0.1:0")
	srv.Env = append(os.Environ(), "VRLAIF_RUN_MAIN=1", "TMPDIR="+tmp)
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	lines := bufio.NewScanner(stderr)
	var url string
	var log strings.Builder
	for url == "" && lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if m := regexp.MustCompile(`web page on (http://\S+/)`).FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("serve did not say where the page is:\n%s", log.String())
	}
	go func() { // keep draining, so the server never blocks on a full pipe
		for lines.Scan() {
		}
	}()

	arg, _ := json.Marshal(map[string]any{"url": url, "video": mp4s[0], "bad": bad, "shots": shots, "size": 5, "search": "color"})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	out, err := browsertest.Run(ctx, "webui.mjs", string(arg))
	if err != nil {
		t.Fatalf("%v\nscreenshots in %s", err, shots)
	}
	var seen browserSeen
	if err := json.Unmarshal(out, &seen); err != nil {
		t.Fatalf("browser script output: %v\n%s", err, out)
	}
	t.Logf("screenshots in %s", shots)

	// Chat: the page's greedy answer is the model's own answer to that question about those frames.
	clip, err := frames.ExtractFile(t.Context(), mp4s[0], uploadParams())
	if err != nil {
		t.Fatal(err)
	}
	if seen.UploadFrames != len(clip.Frames) {
		t.Errorf("the strip shows %d frames, the upload has %d", seen.UploadFrames, len(clip.Frames))
	}
	b, err := builtin.Load(ckpt, "")
	if err != nil {
		t.Fatal(err)
	}
	want, err := b.Chat(t.Context(), &backend.ChatRequest{Messages: []backend.Message{backend.VideoMessage(clip.Frames, "What color is the square?")},
		MaxTokens: 12, Template: "webui-chat"})
	if err != nil {
		t.Fatal(err)
	}
	if got := seen.Answer1; got != want.Choices[0].Text && !(got == "(empty answer)" && want.Choices[0].Text == "") {
		t.Errorf("page answered %q, the model answers %q", got, want.Choices[0].Text)
	}
	if len(seen.Answers) != 2 {
		t.Errorf("answers %q, want two turns", seen.Answers)
	}
	if !strings.Contains(seen.BadUpload, "broken.mp4") {
		t.Errorf("bad upload message %q does not name the file", seen.BadUpload)
	}

	// Review: the list matches the data.
	if seen.Total != len(prefs) || seen.Pages != (len(prefs)+4)/5 {
		t.Errorf("page shows %d pairs on %d pages, feedback wrote %d", seen.Total, seen.Pages, len(prefs))
	}
	if len(seen.DeadLetters) != 1 || !strings.Contains(strings.Join(seen.DeadLetters[0], " "), "not_a_video") {
		t.Errorf("dead letters on the page: %q (want broken.mp4 as not_a_video)", seen.DeadLetters)
	}
	var marked schemas.Preference
	for _, p := range prefs {
		if p.ID == seen.MarkedID {
			marked = p
		}
	}
	if marked.ID == "" {
		t.Fatalf("the page marked %q, which is not a pair of the run", seen.MarkedID)
	}
	if seen.Pair.Question != marked.Question || strings.TrimPrefix(seen.Pair.Output1, "Output 1") != marked.Output1 ||
		strings.TrimPrefix(seen.Pair.Output2, "Output 2") != marked.Output2 || seen.Pair.Narrative != marked.Context || seen.Pair.Frames != 24 {
		t.Errorf("the pair's page does not show its row: %+v\nrow: %+v", seen.Pair, marked)
	}
	if wantChosen := fmt.Sprintf("answer-%d", marked.Chosen); marked.Labeled != (len(seen.Pair.Chosen) == 1 && seen.Pair.Chosen[0] == wantChosen) {
		t.Errorf("chosen answer shown as %q; row labeled %v chosen %d", seen.Pair.Chosen, marked.Labeled, marked.Chosen)
	}

	// What the page changed on disk: one mark beside the data, nothing else.
	marks, err := reviewmarks.Load(fb)
	if err != nil || len(marks) != 1 || marks[marked.ID].Mark != schemas.MarkWrong || !strings.Contains(marks[marked.ID].Note, "missed the colour") {
		t.Errorf("marks on disk: %+v (%v)", marks, err)
	}
	duckdb.Need(t)
	rows, err := duckdb.Query(t.Context(), "SELECT preference_id, mark FROM read_parquet("+duckdb.Literal(filepath.Join(reviewmarks.Dir(fb), "*.parquet"))+")")
	if err != nil || len(rows) != 1 || rows[0]["preference_id"] != marked.ID || rows[0]["mark"] != "wrong" {
		t.Errorf("DuckDB reads the marks as %v (%v)", rows, err)
	}
	if after := shardHashes(t, filepath.Join(fb, schemas.RowPreference)); !equalMaps(before, after) {
		t.Errorf("the preference shards changed: %v → %v", before, after)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "vrlaif-uploads-*", "*")); len(left) != 0 {
		t.Errorf("uploads left in the upload area: %v", left)
	}
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()
	if left, _ := filepath.Glob(filepath.Join(tmp, "vrlaif-uploads-*")); len(left) != 0 {
		t.Errorf("the upload area outlived the server: %v", left)
	}

	// Export leaves the marked pair out by default.
	labeled := 0
	for _, p := range prefs {
		if p.Labeled {
			labeled++
		}
	}
	isOut := 0
	if marked.Labeled {
		isOut = 1
	}
	for _, c := range []struct {
		flag string
		want int
	}{{"exclude", labeled - isOut}, {"include", labeled}, {"only", isOut}} {
		rm := filepath.Join(dir, "rm-"+c.flag+".json")
		vrlaif(t, true, "export", "--format", "rm", "--input", fb, "--output", rm, "--marked", c.flag)
		var recs []json.RawMessage
		b, _ := os.ReadFile(rm)
		if err := json.Unmarshal(b, &recs); err != nil || len(recs) != c.want {
			t.Errorf("export --marked %s: %d records (%v), want %d", c.flag, len(recs), err, c.want)
		}
	}
}

func uploadParams() frames.Params {
	p := frames.DefaultParams()
	p.Limits.MaxPixels = 3840 * 2160
	p.Limits.MaxDuration = 10 * time.Minute
	p.Limits.MaxDecodeTime = 2 * time.Minute
	return p
}

func shardHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	shards, err := dataset.Shards(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range shards {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		out[filepath.Base(s)] = hex.EncodeToString(sum[:])
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
