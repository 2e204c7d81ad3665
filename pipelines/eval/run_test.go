package eval

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
)

// world renders a small synthetic world (3 clips) and breaks the video of the third, so that one
// clip is a dead letter.
func world(t *testing.T) (string, []schemas.Truth) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "world")
	p := synth.DefaultParams()
	p.N = 3
	truths, err := synth.Generate(t.Context(), dir, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, truths[2].VideoPath), []byte("not a video"), 0o644)
	return dir, truths
}

func smallConfig(t *testing.T, dir string) Config {
	cfg := DefaultConfig()
	cfg.World, cfg.Split, cfg.Output, cfg.MaxTokens = dir, "all", filepath.Join(t.TempDir(), "eval"), 12
	cfg.Frames.Frames, cfg.Frames.Size = 8, 32
	return cfg
}

// Every question of every readable clip is answered and scored once per axis it belongs to; the
// stored prediction is the one the rubric scored; two models with the same weights score the
// same; a broken video is a dead letter; a re-run through the cache writes the same rows.
func TestRunGroundTruth(t *testing.T) {
	dir, truths := world(t)
	ckpt := backendtest.Checkpoint(t)
	cfg := smallConfig(t, dir)
	cache := filepath.Join(t.TempDir(), "cache")
	cfg.Models = []ModelSpec{{Name: "a", Backend: backend.Config{Name: "builtin", Model: ckpt, CacheDir: cache}},
		{Name: "b", Backend: backend.Config{Name: "builtin", Model: ckpt, CacheDir: cache}}}
	var calls int
	var mu sync.Mutex
	res, err := Run(t.Context(), cfg, func(done, total int) { mu.Lock(); calls++; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	questions := len(truths[0].QA) + len(truths[1].QA)
	if res.Clips != 2 || res.Questions != questions || calls != 2*questions || res.DeadLetters != 1 ||
		len(res.ClipIDs) != 2 || res.ClipIDs[0] != truths[0].ClipID || res.ClipIDs[1] != truths[1].ClipID {
		t.Fatalf("result %+v, %d progress calls", res, calls)
	}
	dead, _ := dataset.ReadAll[schemas.DeadLetter](filepath.Join(cfg.Output, schemas.RowDeadLetter))
	if len(dead) != 1 || dead[0].ErrorKind != "not_a_video" || !strings.Contains(dead[0].InputRef, truths[2].VideoPath) {
		t.Errorf("dead letters %+v", dead)
	}
	rows, err := dataset.ReadAll[schemas.EvalScore](filepath.Join(cfg.Output, schemas.RowScore))
	if err != nil || len(rows) != res.Scores {
		t.Fatalf("%d rows (%v), result says %d", len(rows), err, res.Scores)
	}
	byClip := map[string]schemas.Truth{truths[0].ClipID: truths[0], truths[1].ClipID: truths[1]}
	items := map[string]schemas.QAItem{}
	for _, tr := range truths[:2] {
		for _, it := range tr.QA {
			items[it.ID] = it
		}
	}
	count := map[string]int{}
	for _, r := range rows {
		count[r.Model+"/"+r.Axis]++
		it := items[r.QuestionID]
		var want Judgement
		switch r.Axis {
		case AxisCorrectness, AxisDetail, AxisContext:
			c, d, x := ScoreGeneric(byClip[r.ClipID], it, r.Prediction)
			want = map[string]Judgement{AxisCorrectness: c, AxisDetail: d, AxisContext: x}[r.Axis]
		case AxisTemporal:
			want = ScoreTemporal(it, r.Prediction)
		case AxisQA:
			want = ScoreQA(it, r.Prediction)
		case AxisConsistency:
			var second schemas.QAItem
			for _, o := range items {
				if o.PairID == it.PairID && o.ID != it.ID {
					second = o
				}
			}
			if r.Question2 != second.Question {
				t.Errorf("consistency row pairs %q with %q", r.Question, r.Question2)
			}
			want = ScoreConsistency(it, second, r.Prediction, r.Prediction2)
		}
		if int(r.Score) != want.Score || r.Correct != want.Correct || r.Reason != want.Reason || r.Judge != GroundTruthRubric {
			t.Errorf("row %s/%s: score %d %q, the rubric gives %d %q for its prediction", r.QuestionID, r.Axis, r.Score, r.Reason, want.Score, want.Reason)
		}
	}
	wantPer := map[string]int{}
	for _, it := range items {
		switch it.Category {
		case "generic":
			wantPer[AxisCorrectness]++
			wantPer[AxisDetail]++
			wantPer[AxisContext]++
		case "temporal":
			wantPer[AxisTemporal]++
		case "qa":
			wantPer[AxisQA]++
		case "consistency":
			wantPer[AxisConsistency]++ // counted per phrasing: halved below
		}
	}
	wantPer[AxisConsistency] /= 2
	for _, m := range []string{"a", "b"} {
		for axis, n := range wantPer {
			if count[m+"/"+axis] != n {
				t.Errorf("model %s axis %s: %d rows, want %d", m, axis, count[m+"/"+axis], n)
			}
		}
	}
	if a, b := res.Models[0], res.Models[1]; a.Mean != b.Mean || a.QAAccuracy != b.QAAccuracy || a.Answers != questions {
		t.Errorf("same weights, different scores: %+v vs %+v", a, b)
	}

	again, err := Run(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows2, _ := dataset.ReadAll[schemas.EvalScore](filepath.Join(cfg.Output, schemas.RowScore))
	if len(rows2) != len(rows) || again.Models[0].Mean != res.Models[0].Mean {
		t.Fatalf("re-run: %d rows, mean %v; first run %d, %v", len(rows2), again.Models[0].Mean, len(rows), res.Models[0].Mean)
	}
	for i := range rows {
		if rows[i].ID != rows2[i].ID || rows[i].Prediction != rows2[i].Prediction || rows[i].Score != rows2[i].Score {
			t.Errorf("re-run row %d differs: %+v vs %+v", i, rows[i], rows2[i])
			break
		}
	}
}

// fakeGPTJudge stands in for gpt-3.5-turbo, a remote service we cannot run here: an
// OpenAI-compatible endpoint that replies with the benchmark's dicts. It scores every answer 4
// (QA: pred yes), except that questions about the background get an unreadable reply every time,
// and each prompt's first attempt is chatter without a dict, so the judge must retry.
type fakeGPTJudge struct {
	mu    sync.Mutex
	calls map[string]int // system + user prompt → calls
}

func (f *fakeGPTJudge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) != 2 || req.Messages[0].Role != "system" {
		http.Error(w, "want a system and a user message", http.StatusBadRequest)
		return
	}
	user := req.Messages[1].Content
	f.mu.Lock()
	f.calls[req.Messages[0].Content+"\n"+user]++
	n := f.calls[req.Messages[0].Content+"\n"+user]
	f.mu.Unlock()
	reply := "Let me think about this answer."
	switch {
	case strings.Contains(strings.SplitN(user, "\n", 2)[0], "background"): // the question, not the reference
		reply = "The background looks fine to me."
	case n == 1:
	case strings.Contains(user, "'pred'"):
		reply = "{'pred': 'yes', 'score': 4}"
	default:
		reply = "{'score': 4}"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": "gpt-3.5-turbo",
		"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": reply}}},
		"usage":   map[string]int{"prompt_tokens": 10, "completion_tokens": 5}})
}

func TestOpenAIJudge(t *testing.T) {
	dir, truths := world(t)
	fake := &fakeGPTJudge{calls: map[string]int{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := smallConfig(t, dir)
	cfg.Limit = 1
	cfg.Models = []ModelSpec{{Name: "m", Backend: backend.Config{Name: "builtin", Model: backendtest.Checkpoint(t)}}}
	cfg.Judge = JudgeConfig{Kind: JudgeOpenAI, Backend: backend.Config{Name: "openai", URL: srv.URL + "/v1", Model: "gpt-3.5-turbo"}}
	res, err := Run(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Models[0]
	for _, a := range Axes {
		if m.Axes[a].N > 0 && m.Axes[a].Mean != 4 {
			t.Errorf("axis %s mean %v, the judge said 4 every time", a, m.Axes[a].Mean)
		}
	}
	background := 0
	for _, it := range truths[0].QA {
		if strings.Contains(it.Question, "background") {
			background++
		}
	}
	if m.QAAccuracy != 1 || m.Failed != background || res.Judge != "openai:gpt-3.5-turbo" {
		t.Errorf("model result %+v (want %d failures, the background questions)", m, background)
	}
	dead, _ := dataset.ReadAll[schemas.DeadLetter](filepath.Join(cfg.Output, schemas.RowDeadLetter))
	if len(dead) != background || !strings.Contains(dead[0].Message, "no readable score after 3 attempts") {
		t.Errorf("dead letters %+v", dead)
	}
	for user, n := range fake.calls {
		if want := map[bool]int{true: 3, false: 2}[strings.Contains(strings.SplitN(strings.SplitN(user, "\nQuestion", 2)[1], "\n", 2)[0], "background")]; n != want {
			t.Errorf("%d calls for a prompt, want %d:\n%s", n, want, user)
		}
	}
	rows, _ := dataset.ReadAll[schemas.EvalScore](filepath.Join(cfg.Output, schemas.RowScore))
	for _, r := range rows {
		if r.Judge != "openai:gpt-3.5-turbo" || !strings.Contains(r.Reason, "eval-") {
			t.Errorf("row judge %q reason %q", r.Judge, r.Reason)
			break
		}
	}
}

func TestParseVerdict(t *testing.T) {
	for _, c := range []struct {
		text     string
		withPred bool
		ok       bool
		score    int
		correct  bool
	}{
		{"{'score': 4}", false, true, 4, false},
		{`{"score": "3"}`, false, true, 3, false},
		{"Sure. {'score': 5} is my answer", false, true, 5, false},
		{"{'score': 7}", false, false, 0, false},
		{"score 4", false, false, 0, false},
		{"{'pred': 'yes', 'score': 4}", true, true, 4, true},
		{"{'pred': 'no', 'score': 1}", true, true, 1, false},
		{"{'score': 4}", true, false, 0, false}, // QA needs pred
	} {
		j, ok := parseVerdict(c.text, c.withPred)
		if ok != c.ok || j.Score != c.score || j.Correct != c.correct {
			t.Errorf("parseVerdict(%q) = %+v %v", c.text, j, ok)
		}
	}
}

// A judge's labels against the truth: a pair is counted only when labeled and the truth tells its
// answers apart.
func TestComparePreferences(t *testing.T) {
	tr := handTruth()
	tr.QA = []schemas.QAItem{{ID: "q1", Category: "generic", Kind: "color", Question: "What colour is the square?", Answer: "The square is red.", Gold: "red"}}
	p := func(id, o1, o2 string, labeled bool, chosen int32, reason string) schemas.Preference {
		return schemas.Preference{ID: id, VideoID: "hand", QuestionID: "q1", Output1: o1, Output2: o2, Labeled: labeled, Chosen: chosen, Reason: reason,
			Judge: schemas.ModelRef{Template: "judge-v1"}}
	}
	prefs := []schemas.Preference{
		p("right", "It is red.", "It is blue.", true, 1, ""),
		p("wrong", "It is red.", "It is blue.", true, 2, ""),
		p("right2", "green", "The square is red.", true, 2, "orders_disagree"),
		p("tie", "red", "red!", true, 1, ""),
		p("unlabeled", "red", "blue", false, 0, "orders_disagree"),
		{ID: "elsewhere", VideoID: "other", QuestionID: "q1", Labeled: true, Chosen: 1},
	}
	r := ComparePreferences("ctx", prefs, []schemas.Truth{tr})
	if r.Pairs != 6 || r.Labeled != 5 || r.Comparable != 3 || r.Agree != 2 || r.Unknown != 1 || r.OracleComparable != 4 || r.Template != "judge-v1" {
		t.Errorf("%+v", r)
	}
	if r.Accuracy != 2.0/3 || r.FlipRate != 2.0/6 {
		t.Errorf("accuracy %v flip rate %v", r.Accuracy, r.FlipRate)
	}
}

// The oracle labels exactly the pairs the truth tells apart, with the better answer, so its own
// preference accuracy is 1.
func TestOracleLabels(t *testing.T) {
	tr := handTruth()
	tr.QA = []schemas.QAItem{{ID: "q1", Category: "generic", Kind: "color", Question: "What colour is the square?", Answer: "The square is red.", Gold: "red"}}
	prefs := []schemas.Preference{
		{ID: "a", VideoID: "hand", QuestionID: "q1", Output1: "blue", Output2: "red", Labeled: true, Chosen: 1},
		{ID: "b", VideoID: "hand", QuestionID: "q1", Output1: "red", Output2: "red.", Labeled: true, Chosen: 2},
		{ID: "c", VideoID: "other", QuestionID: "q1", Output1: "red", Output2: "blue"},
	}
	o := OracleLabels(prefs, []schemas.Truth{tr})
	if !o[0].Labeled || o[0].Chosen != 2 || o[1].Labeled || o[1].Reason != "tie" || o[2].Labeled || o[0].ID == "a" || o[0].Judge.Template != OracleTemplate {
		t.Errorf("oracle labels %+v", o)
	}
	if r := ComparePreferences("oracle", o, []schemas.Truth{tr}); r.Accuracy != 1 || r.Comparable != 1 {
		t.Errorf("the oracle against itself: %+v", r)
	}
}
