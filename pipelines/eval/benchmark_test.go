package eval

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// The benchmark's own annotation files over real video files: every good record is asked and
// judged (by a stand-in for the GPT judge); a malformed record and a record whose video is missing
// are dead letters; the ground-truth judge is refused, since there is no truth.
func TestBenchmarkFiles(t *testing.T) {
	dir, truths := world(t)
	videos := filepath.Join(dir, "videos")
	name := strings.TrimSuffix(filepath.Base(truths[0].VideoPath), ".mp4")
	ann := t.TempDir()
	write := func(file, body string) {
		if err := os.WriteFile(filepath.Join(ann, file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("generic_qa.json", `[{"video_name":"`+name+`","Q":"What is in the video?","A":"A red square."},
		{"video_name":"`+name+`","Q":"","A":"no question"},
		{"video_name":"missing-video","Q":"What?","A":"Nothing."}]`)
	write("temporal_qa.json", `[{"video_name":"`+name+`.mp4","Q":"What happens first?","A":"The square appears."}]`)
	write("consistency_qa.json", `[{"video_name":"`+name+`","Q1":"How many shapes?","Q2":"How many objects are there?","A":"Two."}]`)
	write("qa_q.json", `[{"video_name":"`+name+`","question_id":7,"question":"Is there a square?"},{"video_name":"`+name+`","question_id":8,"question":"No answer?"}]`)
	write("qa_a.json", `[{"question_id":7,"answer":"yes"}]`)

	fake := &fakeGPTJudge{calls: map[string]int{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := smallConfig(t, "")
	cfg.World = ""
	cfg.Benchmark = Benchmark{Dir: ann, QAQuestions: filepath.Join(ann, "qa_q.json"), QAAnswers: filepath.Join(ann, "qa_a.json"), Videos: videos}
	cfg.Models = []ModelSpec{{Name: "m", Backend: backend.Config{Name: "builtin", Model: backendtest.Checkpoint(t)}}}
	if _, err := Run(t.Context(), cfg, nil); err == nil || !strings.Contains(err.Error(), "openai judge") {
		t.Errorf("the ground-truth judge on the benchmark: %v", err)
	}
	cfg.Judge = JudgeConfig{Kind: JudgeOpenAI, Backend: backend.Config{Name: "openai", URL: srv.URL + "/v1", Model: "gpt-3.5-turbo"}}
	res, err := Run(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// good: 1 generic, 1 temporal, 2 consistency phrasings, 1 qa
	if res.Clips != 1 || res.Questions != 5 || res.DeadLetters != 3 {
		t.Fatalf("result %+v", res)
	}
	m := res.Models[0]
	for axis, n := range map[string]int{AxisCorrectness: 1, AxisDetail: 1, AxisContext: 1, AxisTemporal: 1, AxisConsistency: 1, AxisQA: 1} {
		if m.Axes[axis].N != n || m.Axes[axis].Mean != 4 {
			t.Errorf("axis %s: %+v", axis, m.Axes[axis])
		}
	}
	dead, _ := dataset.ReadAll[schemas.DeadLetter](filepath.Join(cfg.Output, schemas.RowDeadLetter))
	kinds := map[string]int{}
	for _, d := range dead {
		kinds[d.ErrorKind]++
	}
	if kinds["bad_record"] != 2 || kinds["unreadable"] != 1 {
		t.Errorf("dead letters %+v", dead)
	}
}
