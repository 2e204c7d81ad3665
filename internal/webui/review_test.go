package webui

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/internal/reviewmarks"
	"github.com/vrlaif/vrlaif/schemas"
)

type pairsPage struct {
	Total, Page, Size, Pages, Marked int
	Rows                             []pairRow
	Templates                        []string
}

func ids(rows []pairRow) string {
	var out []string
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return strings.Join(out, ",")
}

// The list, its filters and pages, one pair, its frames, the dead letters and the statistics, all
// against the rows the fixture wrote.
func TestReviewAPI(t *testing.T) {
	f := newFixture(t)
	_, srv := newServer(t, Options{DataDir: f.root})
	var ds struct{ Datasets []datasetInfo }
	if code, b := call(t, "GET", srv.URL+"/api/datasets", nil, nil, &ds); code != 200 || len(ds.Datasets) != 1 {
		t.Fatalf("datasets: %d %s", code, b)
	}
	if d := ds.Datasets[0]; d.Name != "run/fb" || d.Pairs != 7 || d.Labeled != 4 || d.Dead != 2 || !d.HasFrames {
		t.Errorf("dataset info %+v", d)
	}
	list := func(query string) pairsPage {
		t.Helper()
		var p pairsPage
		if code, b := call(t, "GET", srv.URL+"/api/pairs?ds=run/fb&"+query, nil, nil, &p); code != 200 {
			t.Fatalf("pairs?%s: %d %s", query, code, b)
		}
		return p
	}
	for _, c := range []struct{ query, want string }{
		{"", "p2,p1,p3,p5,p6,p4,p7"}, // sorted by clip, question id, id
		{"show=labeled", "p2,p1,p5,p7"},
		{"show=agree", "p2,p1,p5,p7"},
		{"show=unlabeled", "p3,p6,p4"},
		{"show=disagree", "p3,p6"},
		{"show=unreadable", "p4"},
		{"template=judge-nocontext-v1", "p5,p6"},
		{"q=SQUARE", "p1,p4,p7"},
		{"show=labeled&template=judge-v1&q=square", "p1,p7"},
		{"size=3", "p2,p1,p3"},
		{"size=3&page=2", "p7"},
		{"size=3&page=9", ""},
	} {
		if got := ids(list(c.query).Rows); got != c.want {
			t.Errorf("pairs?%s = %s, want %s", c.query, got, c.want)
		}
	}
	if p := list("size=3"); p.Total != 7 || p.Pages != 3 {
		t.Errorf("paging: total %d pages %d", p.Total, p.Pages)
	}
	if p := list(""); strings.Join(p.Templates, ",") != "judge-nocontext-v1,judge-v1" {
		t.Errorf("templates %v", p.Templates)
	}
	for _, bad := range []string{"show=nope", "page=-1", "size=0", "size=501", "page=x"} {
		if code, _ := call(t, "GET", srv.URL+"/api/pairs?ds=run/fb&"+bad, nil, nil, nil); code != 400 {
			t.Errorf("pairs?%s: %d, want 400", bad, code)
		}
	}

	var d pairDetail
	if code, b := call(t, "GET", srv.URL+"/api/pairs/p5?ds=run/fb", nil, nil, &d); code != 200 {
		t.Fatalf("pair: %d %s", code, b)
	}
	if d.Output1 != "red p5" || d.Frames != 5 || d.Context != "Clip 1: a red square." || d.Source != "clip-b.mp4" || d.Marked {
		t.Errorf("pair p5: %+v", d)
	}
	for i := 0; i < 5; i++ {
		code, b := call(t, "GET", fmt.Sprintf("%s/api/clips/clip-b/frames/%d?ds=run/fb", srv.URL, i), nil, nil, nil)
		if code != 200 || !bytes.Equal(b, f.clips[1].Frames[i]) {
			t.Errorf("frame %d of clip-b: %d, %d bytes (want the stored JPEG)", i, code, len(b))
		}
	}
	if code, _ := call(t, "GET", srv.URL+"/api/clips/clip-b/frames/5?ds=run/fb", nil, nil, nil); code != 404 {
		t.Errorf("frame past the end: %d", code)
	}
	if code, b := call(t, "GET", srv.URL+"/api/pairs/p7?ds=run/fb", nil, nil, &d); code != 200 || d.Frames != 0 || !strings.Contains(d.FramesNote, "clip-missing") {
		t.Errorf("a pair whose clip is missing: %d %s", code, b)
	}

	var dead struct {
		Total int
		Rows  []schemas.DeadLetter
	}
	call(t, "GET", srv.URL+"/api/deadletters?ds=run/fb", nil, nil, &dead)
	if dead.Total != 2 || dead.Rows[0].InputRef != "broken.mp4" || dead.Rows[1].Stage != "judge" {
		t.Errorf("dead letters (generate's and feedback's): %+v", dead)
	}
	// past the end (as for a run with none) the page gets an empty list, not null
	if _, b := call(t, "GET", srv.URL+"/api/deadletters?ds=run/fb&page=5", nil, nil, nil); !strings.Contains(string(b), `"rows":[]`) {
		t.Errorf("no dead letters on the page: %s", b)
	}
	var st struct {
		Judge      map[string]float64
		Chosen1    int   `json:"chosen_1"`
		Chosen2    int   `json:"chosen_2"`
		Unlabeled  int   `json:"unlabeled"`
		Hist       []int `json:"length_histogram"`
		Reasons    map[string]int
		Deadletter map[string]int `json:"deadletter_kinds"`
	}
	call(t, "GET", srv.URL+"/api/stats?ds=run/fb", nil, nil, &st)
	if st.Chosen1 != 2 || st.Chosen2 != 2 || st.Unlabeled != 3 || st.Hist[0] != 14 || st.Reasons["orders_disagree"] != 2 ||
		st.Judge["identical"] != 3 || st.Judge["pairs"] != 7 || st.Deadletter["frames/not_a_video"] != 1 {
		t.Errorf("stats: %+v", st)
	}
	// readable verdicts: 6 pairs (p4 unreadable); 2 of them disagree
	if fr := st.Judge["flip_rate"]; fr < 2.0/6-1e-12 || fr > 2.0/6+1e-12 {
		t.Errorf("flip rate %v, want 2/6", fr)
	}
}

// Names from the browser are looked up, never joined into paths.
func TestNoPathFromTheBrowser(t *testing.T) {
	f := newFixture(t)
	outside := filepath.Join(filepath.Dir(f.root), "outside-"+filepath.Base(f.root))
	write(t, filepath.Join(outside, schemas.RowPreference), schemas.RowPreference, f.prefs[0])
	t.Cleanup(func() { os.RemoveAll(outside) })
	_, srv := newServer(t, Options{DataDir: f.root})
	rel, _ := filepath.Rel(f.root, outside)
	for _, ds := range []string{"", ".", "..", rel, outside, "run", "run/fb/", "run/./fb", "run/fb/../fb", "/etc", "run/fb/preferences"} {
		if code, b := call(t, "GET", srv.URL+"/api/pairs?ds="+url.QueryEscape(ds), nil, nil, nil); code != 404 {
			t.Errorf("ds=%q: %d %s, want 404", ds, code, b)
		}
	}
	for _, clip := range []string{"..%2F..%2Fetc%2Fpasswd", "clip-a%2F..", "%2E%2E"} {
		if code, _ := call(t, "GET", srv.URL+"/api/clips/"+clip+"/frames/0?ds=run/fb", nil, nil, nil); code != 404 {
			t.Errorf("clip %q: %d, want 404", clip, code)
		}
	}
	body, hdr := jsonBody(markRequest{Dataset: rel, ID: "p1", Mark: "wrong"})
	if code, _ := call(t, "PUT", srv.URL+"/api/marks", body, hdr, nil); code != 404 {
		t.Errorf("a mark outside the data folder: %d", code)
	}
	if _, err := os.Stat(reviewmarks.Dir(outside)); !os.IsNotExist(err) {
		t.Errorf("something was written outside the data folder: %v", err)
	}
}

// Marks are saved beside the data, shown in the list, cleared, and never touch the preferences.
func TestMarks(t *testing.T) {
	f := newFixture(t)
	_, srv := newServer(t, Options{DataDir: f.root})
	prefDir := filepath.Join(f.fb, schemas.RowPreference)
	before := snapshot(t, prefDir)
	put := func(m markRequest, hdr ...map[string]string) (int, string) {
		body, h := jsonBody(m)
		if len(hdr) > 0 {
			h = hdr[0]
		}
		code, b := call(t, "PUT", srv.URL+"/api/marks", body, h, nil)
		return code, string(b)
	}
	if code, b := put(markRequest{Dataset: "run/fb", ID: "p3", Mark: "wrong", Note: "the square is red", Reviewer: "ana"}); code != 200 || !strings.Contains(b, `"marked":true`) {
		t.Fatalf("mark: %d %s", code, b)
	}
	put(markRequest{Dataset: "run/fb", ID: "p5", Mark: "wrong"})
	marks, err := reviewmarks.Load(f.fb)
	if err != nil || len(marks) != 2 || marks["p3"].Note != "the square is red" || marks["p3"].Reviewer != "ana" || marks["p3"].CreatedMicros == 0 {
		t.Fatalf("marks on disk: %+v %v", marks, err)
	}
	var p pairsPage
	call(t, "GET", srv.URL+"/api/pairs?ds=run/fb&show=marked", nil, nil, &p)
	if ids(p.Rows) != "p3,p5" || p.Marked != 2 || !p.Rows[0].Marked {
		t.Errorf("marked filter: %s (%d marks)", ids(p.Rows), p.Marked)
	}
	if code, b := put(markRequest{Dataset: "run/fb", ID: "p3", Mark: ""}); code != 200 || !strings.Contains(b, `"marked":false`) {
		t.Errorf("clear: %d %s", code, b)
	}
	put(markRequest{Dataset: "run/fb", ID: "p5", Mark: ""})
	if shards, _ := dataset.Shards(reviewmarks.Dir(f.fb)); len(shards) != 0 {
		t.Errorf("no marks left but shards %v", shards)
	}
	for _, c := range []struct {
		name string
		m    markRequest
		hdr  map[string]string
		want int
	}{
		{"unknown pair", markRequest{Dataset: "run/fb", ID: "nope", Mark: "wrong"}, nil, 404},
		{"unknown mark", markRequest{Dataset: "run/fb", ID: "p1", Mark: "great"}, nil, 400},
		{"long note", markRequest{Dataset: "run/fb", ID: "p1", Mark: "wrong", Note: strings.Repeat("x", 2001)}, nil, 400},
		{"not JSON", markRequest{Dataset: "run/fb", ID: "p1", Mark: "wrong"}, map[string]string{"Content-Type": "text/plain"}, 415},
		{"another origin", markRequest{Dataset: "run/fb", ID: "p1", Mark: "wrong"}, map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403},
	} {
		var code int
		if c.hdr != nil {
			code, _ = put(c.m, c.hdr)
		} else {
			code, _ = put(c.m)
		}
		if code != c.want {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
	}
	if after := snapshot(t, prefDir); after != before {
		t.Errorf("the preferences changed:\n%s\n→\n%s", before, after)
	}
}

func snapshot(t *testing.T, dir string) string {
	t.Helper()
	shards, _ := dataset.Shards(dir)
	var b strings.Builder
	for _, s := range shards {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %x\n", filepath.Base(s), data)
	}
	return b.String()
}

// With a token, nothing is served without it; /?token= sets a cookie that then works.
func TestToken(t *testing.T) {
	f := newFixture(t)
	_, srv := newServer(t, Options{DataDir: f.root, Token: "s3cret"})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("/static/style.css", nil); r.StatusCode != 200 {
		t.Errorf("the token page's stylesheet needs no token: %d", r.StatusCode)
	}
	for _, path := range []string{"/api/info", "/api/datasets", "/api/pairs?ds=run/fb", "/api/pairs/p1?ds=run/fb", "/api/clips/clip-a/frames/0?ds=run/fb"} {
		if r := get(path, nil); r.StatusCode != 401 {
			t.Errorf("%s without the token: %d", path, r.StatusCode)
		}
		if r := get(path, map[string]string{"Authorization": "Bearer wrong"}); r.StatusCode != 401 {
			t.Errorf("%s with a wrong token: %d", path, r.StatusCode)
		}
		if r := get(path, map[string]string{"Authorization": "Bearer s3cret"}); r.StatusCode != 200 {
			t.Errorf("%s with the token: %d", path, r.StatusCode)
		}
	}
	if r := get("/", nil); r.StatusCode != 401 {
		t.Errorf("page without the token: %d", r.StatusCode)
	}
	if r := get("/?token=wrong", nil); r.StatusCode != 401 || len(r.Cookies()) != 0 {
		t.Errorf("/?token=wrong: %d %v", r.StatusCode, r.Cookies())
	}
	r := get("/?token=s3cret", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" || len(r.Cookies()) != 1 || !r.Cookies()[0].HttpOnly {
		t.Fatalf("/?token=s3cret: %d %q %v", r.StatusCode, r.Header.Get("Location"), r.Cookies())
	}
	cookie := CookieName + "=" + r.Cookies()[0].Value
	if r := get("/api/datasets", map[string]string{"Cookie": cookie}); r.StatusCode != 200 {
		t.Errorf("with the cookie: %d", r.StatusCode)
	}
	if r := get("/api/datasets", map[string]string{"Cookie": CookieName + "=nope"}); r.StatusCode != 401 {
		t.Errorf("with a wrong cookie: %d", r.StatusCode)
	}
}

// A page number so large that page*size overflows gets an empty page past the end, not a panic
// (the handler used to slice rows[-500:]).
func TestPagingHugePage(t *testing.T) {
	f := newFixture(t)
	_, srv := newServer(t, Options{DataDir: f.root})
	for _, path := range []string{"/api/pairs", "/api/deadletters"} {
		for _, q := range []string{"page=9223372036854775807&size=500", "page=9223372036854775807", "page=4611686018427387904&size=2", "page=3&size=500"} {
			code, b := call(t, "GET", srv.URL+path+"?ds=run/fb&"+q, nil, nil, nil)
			if code != 200 || !strings.Contains(string(b), `"rows":[]`) {
				t.Errorf("%s?%s: %d %s, want 200 and no rows", path, q, code, b)
			}
		}
	}
	for _, c := range []struct{ page, size, n, lo, hi int }{
		{0, 3, 7, 0, 3}, {2, 3, 7, 6, 7}, {3, 3, 7, 7, 7}, {2, 3, 6, 6, 6}, {0, 25, 0, 0, 0},
		{math.MaxInt, 500, 7, 7, 7}, {math.MaxInt / 2, 3, 7, 7, 7},
	} {
		if lo, hi := window(c.page, c.size, c.n); lo != c.lo || hi != c.hi {
			t.Errorf("window(%d, %d, %d) = [%d, %d), want [%d, %d)", c.page, c.size, c.n, lo, hi, c.lo, c.hi)
		}
	}
}

// Without a token only requests addressed to a loopback name are answered: a page on
// attacker.example rebound to 127.0.0.1 sends Host: attacker.example (and a matching Origin, so the
// same-origin check alone let it save marks). With a token the Host is not checked.
func TestNoTokenAnswersOnlyLoopbackHosts(t *testing.T) {
	f := newFixture(t)
	_, srv := newServer(t, Options{DataDir: f.root})
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	mark := func(host string) (int, string) {
		body, hdr := jsonBody(markRequest{Dataset: "run/fb", ID: "p1", Mark: "wrong"})
		hdr["Host"], hdr["Origin"] = host, "http://"+host
		code, b := call(t, "PUT", srv.URL+"/api/marks", body, hdr, nil)
		return code, string(b)
	}
	evil := "attacker.example" + port
	if code, b := mark(evil); code != 403 || !strings.Contains(b, "localhost") {
		t.Errorf("mark from %s: %d %s, want 403", evil, code, b)
	}
	for _, path := range []string{"/api/datasets", "/", "/api/pairs?ds=run/fb"} {
		if code, b := call(t, "GET", srv.URL+path, nil, map[string]string{"Host": evil}, nil); code != 403 {
			t.Errorf("GET %s from %s: %d %s, want 403", path, evil, code, b)
		}
	}
	var marks struct{ Marked int }
	call(t, "GET", srv.URL+"/api/pairs?ds=run/fb", nil, nil, &marks)
	if marks.Marked != 0 {
		t.Fatalf("a refused request saved a mark")
	}
	for _, host := range []string{"localhost" + port, "127.0.0.1" + port} {
		if code, b := mark(host); code != 200 {
			t.Errorf("mark from %s: %d %s", host, code, b)
		}
		if code, b := call(t, "GET", srv.URL+"/api/datasets", nil, map[string]string{"Host": host}, nil); code != 200 {
			t.Errorf("datasets from %s: %d %s", host, code, b)
		}
	}

	_, keyed := newServer(t, Options{DataDir: f.root, Token: "s3cret"})
	if code, b := call(t, "GET", keyed.URL+"/api/datasets", nil, map[string]string{"Host": "vrlaif.example.org", "Authorization": "Bearer s3cret"}, nil); code != 200 {
		t.Errorf("with a token, another host name: %d %s", code, b)
	}
}
