package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vrlaif/vrlaif/schemas"
)

// Benchmark is the Video-ChatGPT benchmark's own annotation files (and zero-shot QA's), for
// evaluating on real videos instead of the synthetic world. There is no ground truth to score
// against, so it needs the openai judge.
type Benchmark struct {
	// Dir holds any of generic_qa.json, temporal_qa.json ([{"video_name", "Q", "A"}]) and
	// consistency_qa.json ([{"video_name", "Q1", "Q2", "A"}]).
	Dir string `json:"dir,omitempty"`
	// QA is a zero-shot QA file with "video_name", "question_id", "question" and "answer" in each
	// record; or QAQuestions and QAAnswers, the split layout (answers joined on question_id).
	QA          string `json:"qa,omitempty"`
	QAQuestions string `json:"qa_questions,omitempty"`
	QAAnswers   string `json:"qa_answers,omitempty"`
	// Videos is the folder of the videos; a record's video_name is found as given or with one of
	// the usual extensions.
	Videos string `json:"videos"`
}

func (b Benchmark) empty() bool { return b.Dir == "" && b.QA == "" && b.QAQuestions == "" }

var videoExts = []string{"", ".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v"}

// benchmarkTruths turns the annotation files into one Truth per video (only ClipID, VideoPath and
// QA are set). A record that is malformed, or whose video is missing, becomes a dead letter.
func benchmarkTruths(b Benchmark) ([]schemas.Truth, []schemas.DeadLetter, error) {
	if b.Videos == "" {
		return nil, nil, errors.New("eval: the benchmark needs its video folder")
	}
	byVideo := map[string]*schemas.Truth{} // by the video's path
	var dead []schemas.DeadLetter
	bad := func(ref, msg string) {
		dead = append(dead, deadLetter(ref, "bad_record", errors.New("eval: "+msg)))
	}
	add := func(ref, video string, items ...schemas.QAItem) {
		path := findVideo(b.Videos, video)
		if path == "" {
			dead = append(dead, deadLetter(ref, "unreadable", fmt.Errorf("eval: no video %q in %s", video, b.Videos)))
			return
		}
		t, ok := byVideo[path] // "v_1" and "v_1.mp4" are the same video
		if !ok {
			t = &schemas.Truth{ClipID: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), VideoPath: path, Split: "benchmark"}
			byVideo[path] = t
		}
		t.QA = append(t.QA, items...)
	}
	for _, f := range []struct{ file, category string }{{"generic_qa.json", "generic"}, {"temporal_qa.json", "temporal"}, {"consistency_qa.json", "consistency"}} {
		if b.Dir == "" {
			break
		}
		path := filepath.Join(b.Dir, f.file)
		recs, err := readRecords(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		for i, r := range recs {
			ref := fmt.Sprintf("%s#%d", f.file, i)
			video, a := r.str("video_name"), r.str("A")
			id := fmt.Sprintf("%s-%d", f.category, i)
			if f.category == "consistency" {
				q1, q2 := r.str("Q1"), r.str("Q2")
				if video == "" || q1 == "" || q2 == "" || a == "" {
					bad(ref, "a consistency record needs video_name, Q1, Q2 and A")
					continue
				}
				add(ref, video, schemas.QAItem{ID: id + "a", Category: "consistency", Question: q1, Answer: a, PairID: id},
					schemas.QAItem{ID: id + "b", Category: "consistency", Question: q2, Answer: a, PairID: id})
				continue
			}
			q := r.str("Q")
			if video == "" || q == "" || a == "" {
				bad(ref, "a record needs video_name, Q and A")
				continue
			}
			add(ref, video, schemas.QAItem{ID: id, Category: f.category, Question: q, Answer: a})
		}
	}
	qa, qaDead, err := zeroShotRecords(b)
	if err != nil {
		return nil, nil, err
	}
	dead = append(dead, qaDead...)
	for _, r := range qa {
		add(r.ref, r.video, r.item)
	}
	if len(byVideo) == 0 && len(dead) == 0 {
		return nil, nil, fmt.Errorf("eval: no benchmark records in %s / %s", b.Dir, b.QA+b.QAQuestions)
	}
	out := make([]schemas.Truth, 0, len(byVideo))
	for _, t := range byVideo {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ClipID < out[j].ClipID })
	return out, dead, nil
}

type qaRecord struct {
	ref, video string
	item       schemas.QAItem
}

// zeroShotRecords reads the zero-shot QA annotations, in one file or split in two.
func zeroShotRecords(b Benchmark) ([]qaRecord, []schemas.DeadLetter, error) {
	var qs []record
	var file string
	answers := map[string]string{}
	switch {
	case b.QA != "":
		recs, err := readRecords(b.QA)
		if err != nil {
			return nil, nil, err
		}
		qs, file = recs, filepath.Base(b.QA)
	case b.QAQuestions != "":
		if b.QAAnswers == "" {
			return nil, nil, errors.New("eval: zero-shot QA questions need their answers file")
		}
		recs, err := readRecords(b.QAQuestions)
		if err != nil {
			return nil, nil, err
		}
		ans, err := readRecords(b.QAAnswers)
		if err != nil {
			return nil, nil, err
		}
		for _, a := range ans {
			answers[a.str("question_id")] = a.str("answer")
		}
		qs, file = recs, filepath.Base(b.QAQuestions)
	default:
		return nil, nil, nil
	}
	var out []qaRecord
	var dead []schemas.DeadLetter
	for i, r := range qs {
		ref := fmt.Sprintf("%s#%d", file, i)
		id, video, q, a := r.str("question_id"), r.str("video_name"), r.str("question"), r.str("answer")
		if a == "" {
			a = answers[id]
		}
		if id == "" || video == "" || q == "" || a == "" {
			dead = append(dead, deadLetter(ref, "bad_record", errors.New("eval: a zero-shot QA record needs video_name, question_id, question and an answer")))
			continue
		}
		out = append(out, qaRecord{ref: ref, video: video, item: schemas.QAItem{ID: "qa-" + id, Category: "qa", Question: q, Answer: a, Gold: a}})
	}
	return out, dead, nil
}

// record is one JSON object of an annotation file.
type record map[string]json.RawMessage

// str is a field as text: a JSON string as it is, a number as written, anything else empty.
func (r record) str(key string) string {
	raw, ok := r[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func readRecords(path string) ([]record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	var recs []record
	if err := json.Unmarshal(b, &recs); err != nil {
		return nil, fmt.Errorf("eval: %s is not a JSON list of records: %w", path, err)
	}
	return recs, nil
}

// findVideo finds name in dir as given or with a usual extension, never outside dir.
func findVideo(dir, name string) string {
	if name == "" || strings.Contains(name, "..") || filepath.IsAbs(name) {
		return ""
	}
	for _, ext := range videoExts {
		p := filepath.Join(dir, name+ext)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}
