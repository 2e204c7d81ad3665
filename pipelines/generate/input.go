package generate

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/frames"
)

// InputStage names dead letters of input records that could not become tasks.
const InputStage = "input"

// Input says where the tasks come from.
type Input struct {
	// Spec is a synthetic world folder (it has truth/), the seed's RL_data.json, a manifest
	// (.jsonl, .csv, .parquet), or videos (a file, a folder, a glob, gs://…).
	Spec string `json:"spec"`
	// Questions is a file of questions asked of every video when Spec names videos: one per line,
	// or a JSON list of strings or of {"id", "question"} objects.
	Questions string `json:"questions,omitempty"`
	// ImageFolder is the root of frame paths in RL_data.json and manifests (default: the file's
	// folder). Root is the root every relative path of a manifest must stay under (default: the
	// manifest's folder). Paths that escape their root are refused.
	ImageFolder string `json:"image_folder,omitempty"`
	Root        string `json:"root,omitempty"`
	// Split keeps only a synthetic world's clips of this split ("train", "heldout"; "" = all).
	Split string `json:"split,omitempty"`
}

// manifestRecord is a line of a .jsonl manifest.
type manifestRecord struct {
	ID        string            `json:"id"`
	Video     string            `json:"video"`
	URI       string            `json:"uri"`
	Path      string            `json:"path"`
	Images    []string          `json:"images"`
	Question  string            `json:"question"`
	Questions []json.RawMessage `json:"questions"`
}

// LoadTasks reads the input into tasks. A record that cannot become a task (a path outside its
// root, no video, no question) becomes a dead letter; only an unreadable input fails.
func LoadTasks(ctx context.Context, in Input) (tasks []schemas.Task, dead []schemas.DeadLetter, err error) {
	tasks, dead, _, err = loadTasks(ctx, in)
	return tasks, dead, err
}

// loadTasks is LoadTasks that also counts, for a synthetic world read whole (no --split), the
// held-out clips among the tasks (0 for any other input).
func loadTasks(ctx context.Context, in Input) (tasks []schemas.Task, dead []schemas.DeadLetter, heldOut int, err error) {
	if isWorld(in.Spec) {
		return worldTasks(in.Spec, in.Split)
	}
	tasks, dead, err = fileTasks(ctx, in)
	return tasks, dead, 0, err
}

// fileTasks reads an input other than a synthetic world: the seed's RL_data.json, a manifest, or
// videos with --questions.
func fileTasks(ctx context.Context, in Input) (tasks []schemas.Task, dead []schemas.DeadLetter, err error) {
	spec := in.Spec
	ext := strings.ToLower(filepath.Ext(spec))
	root := in.Root
	if root == "" {
		root = filepath.Dir(spec)
	}
	imageRoot := in.ImageFolder
	if imageRoot == "" {
		imageRoot = filepath.Dir(spec)
	}
	switch ext {
	case ".json":
		return rlTasks(spec, imageRoot)
	case ".jsonl", ".ndjson":
		return jsonlTasks(spec, root, imageRoot)
	case ".csv":
		return csvTasks(spec, root)
	case ".parquet":
		if _, err := os.Stat(spec); err == nil {
			return parquetTasks(spec, root)
		}
	}
	if in.Questions == "" {
		return nil, nil, fmt.Errorf("generate: %s names videos; give --questions (a file of questions to ask about each)", spec)
	}
	qs, err := readQuestions(in.Questions)
	if err != nil {
		return nil, nil, err
	}
	uris, bad, err := frames.ListInputs(ctx, spec)
	if err != nil {
		return nil, nil, fmt.Errorf("generate: %w", err)
	}
	for _, u := range uris {
		base := strings.TrimSuffix(filepath.Base(u), filepath.Ext(u))
		tasks = append(tasks, schemas.Task{ID: base + "-" + shortHash(u), VideoURI: u, Questions: qs})
	}
	for _, d := range bad { // the list's own bad lines: dead letters of the input stage
		dead = append(dead, badRecord(d.InputRef, d.ErrorKind, d.Message))
	}
	return tasks, dead, nil
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}

// questionID is a question's id when the input gives none: a hash of its text.
func questionID(text string) string { return "q" + shortHash(text) }

// Resolve joins p to root and refuses a result outside root (".." escapes, absolute paths
// elsewhere, symbolic links leading out). Remote URIs (scheme://) are returned as they are.
func Resolve(root, p string) (string, error) {
	if strings.Contains(p, "://") && !strings.HasPrefix(p, "file://") {
		return p, nil
	}
	p = strings.TrimPrefix(p, "file://")
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	full := p
	if !filepath.IsAbs(p) {
		full = filepath.Join(absRoot, p)
	}
	full = filepath.Clean(full)
	if !within(absRoot, full) {
		return "", fmt.Errorf("path %q is outside its root %s", p, absRoot)
	}
	if realRoot, err := filepath.EvalSymlinks(absRoot); err == nil && !within(realRoot, realPath(full)) {
		return "", fmt.Errorf("path %q leads outside its root %s through a symbolic link", p, absRoot)
	}
	return full, nil
}

// realPath resolves the symbolic links of the longest existing prefix of p.
func realPath(p string) string {
	rest := ""
	for cur := p; ; {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(real, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

func within(root, p string) bool {
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

func badRecord(ref, kind, msg string) schemas.DeadLetter {
	return schemas.DeadLetter{ID: schemas.DeadLetterID(InputStage, ref), Stage: InputStage, InputRef: ref, ErrorKind: kind, Message: msg, CreatedMicros: time.Now().UnixMicro()}
}

// task builds one task, resolving its paths; a problem becomes a dead letter.
func task(id, video string, images []string, qs []schemas.Question, root, imageRoot string) (schemas.Task, *schemas.DeadLetter) {
	t := schemas.Task{ID: id, Questions: qs}
	if id == "" {
		d := badRecord(video, "bad_record", "the record has no id")
		return t, &d
	}
	if len(qs) == 0 {
		d := badRecord(id, "bad_record", "the record has no question")
		return t, &d
	}
	switch {
	case len(images) > 0:
		for _, im := range images {
			p, err := Resolve(imageRoot, strings.TrimPrefix(im, "/"))
			if err != nil {
				d := badRecord(id, "path_outside_root", err.Error())
				return t, &d
			}
			t.Images = append(t.Images, p)
		}
		t.ImageRefs = images
	case video != "":
		p, err := Resolve(root, video)
		if err != nil {
			d := badRecord(id, "path_outside_root", err.Error())
			return t, &d
		}
		t.VideoURI = p
	default:
		d := badRecord(id, "bad_record", "the record names neither a video nor frames")
		return t, &d
	}
	return t, nil
}

// rlTasks reads the seed's RL_data.json: one question per record, frames under imageRoot.
func rlTasks(path, imageRoot string) (tasks []schemas.Task, dead []schemas.DeadLetter, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("generate: %w", err)
	}
	defer f.Close()
	err = schemas.DecodeSeed(f, func(i int, r schemas.RLRow, rerr error) error {
		ref := fmt.Sprintf("%s#%d", filepath.Base(path), i)
		if rerr != nil {
			dead = append(dead, badRecord(ref, "bad_record", rerr.Error()))
			return nil
		}
		id := fmt.Sprint(r.UID)
		var q string
		for _, t := range r.Conversations {
			if t.From == "human" {
				q = strings.TrimSpace(strings.NewReplacer("<image>", "", "<video>", "").Replace(t.Value))
				break
			}
		}
		t, d := task(id, "", r.Images, []schemas.Question{{ID: id, Text: q}}, imageRoot, imageRoot)
		if d != nil {
			dead = append(dead, *d)
			return nil
		}
		tasks = append(tasks, t)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("generate: %s: %w", path, err)
	}
	return tasks, dead, nil
}

// parseQuestions reads a record's question and questions. A question without text is an error
// (the record becomes a dead letter rather than an empty prompt); one listed twice is asked once.
func parseQuestions(raw []json.RawMessage, single string) ([]schemas.Question, error) {
	var qs []schemas.Question
	seen := map[string]bool{}
	add := func(id, text string) error {
		if text = strings.TrimSpace(text); text == "" {
			return fmt.Errorf("question %d has no text", len(qs)+1)
		}
		if id == "" {
			id = questionID(text)
		}
		if !seen[id] {
			seen[id] = true
			qs = append(qs, schemas.Question{ID: id, Text: text})
		}
		return nil
	}
	if single != "" {
		if err := add("", single); err != nil {
			return nil, err
		}
	}
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			if err := add("", s); err != nil {
				return nil, err
			}
			continue
		}
		var o struct{ ID, Question, Text string }
		if err := json.Unmarshal(r, &o); err != nil {
			return nil, fmt.Errorf("a question must be a string or {\"id\", \"question\"}: %s", r)
		}
		if err := add(o.ID, o.Question+o.Text); err != nil {
			return nil, err
		}
	}
	return qs, nil
}

func jsonlTasks(path, root, imageRoot string) (tasks []schemas.Task, dead []schemas.DeadLetter, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("generate: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	type seen struct {
		ref, source string
		task        int // index in tasks
	}
	ids := map[string]seen{}
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		ref := fmt.Sprintf("%s:%d", filepath.Base(path), line)
		var r manifestRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			dead = append(dead, badRecord(ref, "bad_record", "malformed JSON: "+err.Error()))
			continue
		}
		qs, err := parseQuestions(r.Questions, r.Question)
		if err != nil {
			dead = append(dead, badRecord(ref, "bad_record", err.Error()))
			continue
		}
		if r.ID == "" {
			dead = append(dead, badRecord(ref, "bad_record", "the record has no id"))
			continue
		}
		video := r.Video + r.URI + r.Path
		source := video + "\x00" + strings.Join(r.Images, "\x00")
		if first, dup := ids[r.ID]; dup { // another line of the same record: its questions join it
			if first.source != source {
				dead = append(dead, badRecord(ref, "conflicting_video", fmt.Sprintf("id %q names other frames at %s: one id, one video", r.ID, first.ref)))
			} else if first.task >= 0 {
				tasks[first.task].Questions = mergeQuestions(tasks[first.task].Questions, qs)
			}
			continue
		}
		t, d := task(r.ID, video, r.Images, qs, root, imageRoot)
		if d != nil {
			ids[r.ID] = seen{ref, source, -1}
			dead = append(dead, *d)
			continue
		}
		ids[r.ID] = seen{ref, source, len(tasks)}
		tasks = append(tasks, t)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("generate: %s: %w", path, err)
	}
	return tasks, dead, nil
}

// mergeQuestions adds to qs those of more it does not have (by id).
func mergeQuestions(qs, more []schemas.Question) []schemas.Question {
	have := map[string]bool{}
	for _, q := range qs {
		have[q.ID] = true
	}
	for _, q := range more {
		if !have[q.ID] {
			have[q.ID] = true
			qs = append(qs, q)
		}
	}
	return qs
}

// flatRow is one row of a CSV or Parquet manifest: (id, video, question_id, question) and where
// it is (file:line or file#row), for its dead letter.
type flatRow struct {
	ref, id, video, qid, q string
}

// flatRows groups manifest rows into tasks by id, keeping first-seen order. A row that cannot be
// used is a dead letter naming its place in the file, never dropped quietly: no id, no question,
// or an id already given another video (its question would be asked about the wrong video).
func flatRows(rows []flatRow, root string) (tasks []schemas.Task, dead []schemas.DeadLetter) {
	byID := map[string]*schemas.Task{}
	var order []string
	first := map[string]flatRow{}
	for _, r := range rows {
		switch f, seen := first[r.id]; {
		case r.id == "":
			dead = append(dead, badRecord(r.ref, "bad_record", "the row has no id"))
			continue
		case r.q == "":
			dead = append(dead, badRecord(r.ref, "bad_record", fmt.Sprintf("row %q has no question", r.id)))
			continue
		case seen && f.video != r.video:
			dead = append(dead, badRecord(r.ref, "conflicting_video", fmt.Sprintf("id %q is video %q at %s, and %q here: one id, one video",
				r.id, f.video, f.ref, r.video)))
			continue
		}
		qid := r.qid
		if qid == "" {
			qid = questionID(r.q)
		}
		t, ok := byID[r.id]
		if !ok {
			t = &schemas.Task{ID: r.id}
			byID[r.id], first[r.id] = t, r
			order = append(order, r.id)
		}
		t.Questions = mergeQuestions(t.Questions, []schemas.Question{{ID: qid, Text: r.q}})
	}
	for _, id := range order {
		t, d := task(id, first[id].video, nil, byID[id].Questions, root, root)
		if d != nil {
			dead = append(dead, *d)
			continue
		}
		tasks = append(tasks, t)
	}
	return tasks, dead
}

func csvTasks(path, root string) ([]schemas.Task, []schemas.DeadLetter, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("generate: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("generate: %s: %w", path, err)
	}
	col := columns(header)
	if col["id"] < 0 || col["video"] < 0 || col["question"] < 0 {
		return nil, nil, fmt.Errorf("generate: %s needs columns id, video (or uri/path) and question; has %v", path, header)
	}
	var rows []flatRow
	var dead []schemas.DeadLetter
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) { // a malformed row is that row's dead letter; the reader goes on at the next
			dead = append(dead, badRecord(fmt.Sprintf("%s:%d", filepath.Base(path), pe.StartLine), "bad_record", pe.Error()))
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("generate: %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		get := func(k string) string {
			if i := col[k]; i >= 0 && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		rows = append(rows, flatRow{ref: fmt.Sprintf("%s:%d", filepath.Base(path), line), id: get("id"), video: get("video"),
			qid: get("question_id"), q: get("question")})
	}
	tasks, more := flatRows(rows, root)
	return tasks, append(dead, more...), nil
}

// columns maps the manifest's column names to their positions (−1 when absent).
func columns(header []string) map[string]int {
	col := map[string]int{"id": -1, "video": -1, "question_id": -1, "question": -1}
	for i, h := range header {
		switch k := strings.ToLower(strings.TrimSpace(h)); k {
		case "uri", "path", "video":
			col["video"] = i
		case "id", "question_id", "question":
			col[k] = i
		}
	}
	return col
}

func readQuestions(path string) ([]schemas.Question, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("generate: questions: %w", err)
	}
	var raw []json.RawMessage
	if json.Unmarshal(b, &raw) == nil {
		qs, err := parseQuestions(raw, "")
		if err != nil {
			return nil, fmt.Errorf("generate: %s: %w", path, err)
		}
		return qs, nil
	}
	var qs []schemas.Question
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			qs = append(qs, schemas.Question{ID: questionID(l), Text: l})
		}
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("generate: %s holds no question", path)
	}
	return qs, nil
}
