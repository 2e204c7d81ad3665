package webui

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/judge"
)

// Pair filters (the list's "show" menu).
const (
	ShowAll        = "all"
	ShowAgree      = "agree"      // both orders picked the same answer
	ShowDisagree   = "disagree"   // the orders disagree (the judge's position bias)
	ShowUnreadable = "unreadable" // a verdict could not be read
	ShowLabeled    = "labeled"
	ShowUnlabeled  = "unlabeled"
	ShowMarked     = "marked" // marked wrong by a reviewer
)

func (u *UI) routeReview() {
	if u.data == nil {
		return
	}
	u.mux.HandleFunc("GET /api/datasets", u.datasets)
	u.mux.HandleFunc("GET /api/pairs", u.pairs)
	u.mux.HandleFunc("GET /api/pairs/{id}", u.pair)
	u.mux.HandleFunc("GET /api/deadletters", u.deadLetters)
	u.mux.HandleFunc("GET /api/stats", u.stats)
	u.mux.HandleFunc("GET /api/clips/{clip}/frames/{i}", u.clipFrame)
	u.mux.HandleFunc("PUT /api/marks", u.mark)
}

func (u *UI) set(w http.ResponseWriter, r *http.Request) (*feedbackSet, bool) {
	s, err := u.data.open(r.URL.Query().Get("ds"))
	if errors.Is(err, errNoDataset) {
		writeError(w, http.StatusNotFound, err.Error()+" (pick one from /api/datasets)")
		return nil, false
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return nil, false
	}
	return s, true
}

type datasetInfo struct {
	Name      string `json:"name"`
	Pairs     int    `json:"pairs"`
	Labeled   int    `json:"labeled"`
	Dead      int    `json:"deadletters"`
	HasFrames bool   `json:"has_frames"`
	Error     string `json:"error,omitempty"`
}

func (u *UI) datasets(w http.ResponseWriter, r *http.Request) {
	names, err := u.data.scan()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := []datasetInfo{}
	for _, n := range names {
		s, err := u.data.open(n)
		if err != nil {
			out = append(out, datasetInfo{Name: n, Error: err.Error()})
			continue
		}
		d := datasetInfo{Name: n, Pairs: len(s.prefs), Dead: len(s.dead), HasFrames: s.clips != nil}
		for _, p := range s.prefs {
			if p.Labeled {
				d.Labeled++
			}
		}
		out = append(out, d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"root": u.data.root, "datasets": out})
}

// pairRow is one line of the list.
type pairRow struct {
	ID         string  `json:"id"`
	ClipID     string  `json:"clip_id"`
	Question   string  `json:"question"`
	Labeled    bool    `json:"labeled"`
	Chosen     int32   `json:"chosen"`
	Reason     string  `json:"reason"`
	Template   string  `json:"template"`
	ProbOut1   float64 `json:"prob_output_1"`
	Forward    string  `json:"forward"` // the verdict letters in each order
	Swapped    string  `json:"swapped"`
	Marked     bool    `json:"marked"`
	Output1Len int     `json:"output_1_words"`
	Output2Len int     `json:"output_2_words"`
}

func matches(p schemas.Preference, show string, marked bool) bool {
	switch show {
	case ShowAgree:
		return p.Reason == "" && p.Labeled
	case ShowDisagree:
		return p.Reason == judge.ReasonDisagree
	case ShowUnreadable:
		return p.Reason == judge.ReasonUnreadable
	case ShowLabeled:
		return p.Labeled
	case ShowUnlabeled:
		return !p.Labeled
	case ShowMarked:
		return marked
	}
	return true
}

func (u *UI) pairs(w http.ResponseWriter, r *http.Request) {
	s, ok := u.set(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	show := q.Get("show")
	if show == "" {
		show = ShowAll
	}
	switch show {
	case ShowAll, ShowAgree, ShowDisagree, ShowUnreadable, ShowLabeled, ShowUnlabeled, ShowMarked:
	default:
		writeError(w, http.StatusBadRequest, "show must be one of all, agree, disagree, unreadable, labeled, unlabeled, marked")
		return
	}
	page, size, ok := paging(w, q.Get("page"), q.Get("size"))
	if !ok {
		return
	}
	marks, err := s.marks.All()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	template, text := q.Get("template"), strings.ToLower(strings.TrimSpace(q.Get("q")))
	var hits []int
	for i, p := range s.prefs {
		_, marked := marks[p.ID]
		if !matches(p, show, marked) || (template != "" && p.Judge.Template != template) ||
			(text != "" && !strings.Contains(strings.ToLower(p.Question), text)) {
			continue
		}
		hits = append(hits, i)
	}
	rows := []pairRow{}
	lo, hi := window(page, size, len(hits))
	for _, i := range hits[lo:hi] {
		p := s.prefs[i]
		_, marked := marks[p.ID]
		rows = append(rows, pairRow{ID: p.ID, ClipID: p.ClipID, Question: p.Question, Labeled: p.Labeled, Chosen: p.Chosen,
			Reason: p.Reason, Template: p.Judge.Template, ProbOut1: p.ProbOutput1, Forward: p.Forward.Letter, Swapped: p.Swapped.Letter,
			Marked: marked, Output1Len: words(p.Output1), Output2Len: words(p.Output2)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(hits), "page": page, "size": size,
		"pages": (len(hits) + size - 1) / size, "rows": rows, "templates": s.templates, "marked": len(marks)})
}

func paging(w http.ResponseWriter, pageS, sizeS string) (page, size int, ok bool) {
	page, size = 0, 25
	var err error
	if pageS != "" {
		if page, err = strconv.Atoi(pageS); err != nil || page < 0 {
			writeError(w, http.StatusBadRequest, "page must be a number ≥ 0")
			return 0, 0, false
		}
	}
	if sizeS != "" {
		if size, err = strconv.Atoi(sizeS); err != nil || size < 1 || size > 500 {
			writeError(w, http.StatusBadRequest, "size must be in 1..500")
			return 0, 0, false
		}
	}
	return page, size, true
}

// window is the half-open range [lo, hi) of n rows that page shows at size rows a page; a page past
// the end is empty (lo == hi == n). It never multiplies a page beyond the end, so a huge page
// number cannot overflow into a negative index.
func window(page, size, n int) (lo, hi int) {
	if page > n/size {
		return n, n
	}
	lo = page * size // ≤ n, since page ≤ n/size
	return lo, lo + min(size, n-lo)
}

func words(s string) int { return len(strings.Fields(s)) }

// pairDetail is one pair with everything a reviewer needs.
type pairDetail struct {
	schemas.Preference
	Marked     bool               `json:"marked"`
	Mark       schemas.ReviewMark `json:"mark"`
	Frames     int                `json:"frames"`
	FrameTimes []float64          `json:"frame_times"`
	FramesNote string             `json:"frames_note,omitempty"`
	Source     string             `json:"source_uri,omitempty"`
}

func (u *UI) pair(w http.ResponseWriter, r *http.Request) {
	s, ok := u.set(w, r)
	if !ok {
		return
	}
	i, ok := s.byID[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, "no pair with that id in "+s.name)
		return
	}
	marks, err := s.marks.All()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	d := pairDetail{Preference: s.prefs[i]}
	d.Mark, d.Marked = marks[d.ID]
	switch {
	case s.clips == nil:
		d.FramesNote = "the generate folder this feedback run read (its clips/) was not found"
	default:
		cl, found, err := s.clips.get(d.ClipID)
		switch {
		case err != nil:
			d.FramesNote = "reading the clip: " + err.Error()
		case !found:
			d.FramesNote = "clip " + d.ClipID + " is not in " + s.clips.dir
		default:
			d.Frames, d.FrameTimes, d.Source = len(cl.Frames), cl.TimestampsSeconds, cl.SourceURI
		}
	}
	writeJSON(w, http.StatusOK, d)
}

func (u *UI) clipFrame(w http.ResponseWriter, r *http.Request) {
	s, ok := u.set(w, r)
	if !ok {
		return
	}
	if s.clips == nil {
		writeError(w, http.StatusNotFound, "this dataset's frames were not found")
		return
	}
	cl, found, err := s.clips.get(r.PathValue("clip"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	i, perr := strconv.Atoi(r.PathValue("i"))
	if !found || perr != nil || i < 0 || i >= len(cl.Frames) {
		writeError(w, http.StatusNotFound, "no such frame")
		return
	}
	writeJPEG(w, cl.Frames[i])
}

func (u *UI) deadLetters(w http.ResponseWriter, r *http.Request) {
	s, ok := u.set(w, r)
	if !ok {
		return
	}
	page, size, ok := paging(w, r.URL.Query().Get("page"), r.URL.Query().Get("size"))
	if !ok {
		return
	}
	lo, hi := window(page, size, len(s.dead))
	rows := append([]schemas.DeadLetter{}, s.dead[lo:hi]...) // [] rather than null when none
	writeJSON(w, http.StatusOK, map[string]any{"total": len(s.dead), "page": page, "size": size,
		"pages": (len(s.dead) + size - 1) / size, "rows": rows})
}

// stats are the summary charts' numbers: the judge's statistics, label counts, reasons, and a
// histogram of answer lengths in words.
func (u *UI) stats(w http.ResponseWriter, r *http.Request) {
	s, ok := u.set(w, r)
	if !ok {
		return
	}
	marks, err := s.marks.All()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	st := judge.Summarize(s.prefs, s.identical)
	reasons := map[string]int{}
	var chose1, chose2 int
	const binWords, bins = 5, 12 // 0–4, 5–9, … 55+ words
	hist := make([]int, bins)
	for _, p := range s.prefs {
		if p.Reason != "" {
			reasons[p.Reason]++
		}
		switch {
		case p.Labeled && p.Chosen == 1:
			chose1++
		case p.Labeled && p.Chosen == 2:
			chose2++
		}
		for _, o := range []string{p.Output1, p.Output2} {
			hist[min(words(o)/binWords, bins-1)]++
		}
	}
	kinds := map[string]int{}
	for _, d := range s.dead {
		kinds[d.Stage+"/"+d.ErrorKind]++
	}
	writeJSON(w, http.StatusOK, map[string]any{"judge": st, "chosen_1": chose1, "chosen_2": chose2,
		"unlabeled": len(s.prefs) - chose1 - chose2, "reasons": reasons, "marked": len(marks),
		"length_bin_words": binWords, "length_histogram": hist, "deadletter_kinds": kinds,
		"decision": s.summary.Settings["judge"]})
}

// markRequest sets (mark "wrong") or clears (mark "") a reviewer's mark on one pair.
type markRequest struct {
	Dataset  string `json:"ds"`
	ID       string `json:"id"`
	Mark     string `json:"mark"`
	Note     string `json:"note"`
	Reviewer string `json:"reviewer"`
}

func (u *UI) mark(w http.ResponseWriter, r *http.Request) {
	var req markRequest
	if !decodeJSON(w, r, 64<<10, &req) {
		return
	}
	s, err := u.data.open(req.Dataset)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if _, ok := s.byID[req.ID]; !ok {
		writeError(w, http.StatusNotFound, "no pair with that id in "+s.name)
		return
	}
	if req.Mark != "" && req.Mark != schemas.MarkWrong {
		writeError(w, http.StatusBadRequest, `mark must be "wrong" or "" (clear)`)
		return
	}
	if utf8.RuneCountInString(req.Note) > 2000 || utf8.RuneCountInString(req.Reviewer) > 100 {
		writeError(w, http.StatusBadRequest, "a note has at most 2000 characters, a reviewer name 100")
		return
	}
	var all map[string]schemas.ReviewMark
	if req.Mark == "" {
		all, err = s.marks.Clear(req.ID)
	} else {
		all, err = s.marks.Set(schemas.ReviewMark{PreferenceID: req.ID, Mark: req.Mark, Note: req.Note, Reviewer: req.Reviewer})
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	_, marked := all[req.ID]
	writeJSON(w, http.StatusOK, map[string]any{"id": req.ID, "marked": marked, "marks": len(all)})
}
