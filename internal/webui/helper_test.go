package webui

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
	"github.com/vrlaif/vrlaif/transforms/judge"
)

// fixture is a data folder as generate and feedback leave it: run/gen/{clips,deadletter} and
// run/fb/{preferences,summary.json}, with the summary naming the generate folder by a path that no
// longer exists (the folders were moved), so the page must find it beside the feedback folder.
type fixture struct {
	root, fb string
	prefs    []schemas.Preference
	clips    []schemas.Clip
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	root := t.TempDir()
	gen, fb := filepath.Join(root, "run", "gen"), filepath.Join(root, "run", "fb")
	f := fixture{root: root, fb: fb}
	for i, id := range []string{"clip-a", "clip-b"} {
		f.clips = append(f.clips, schemas.Clip{ID: id, SourceURI: id + ".mp4", Frames: backendtest.Frames(t, 4+i), TimestampsSeconds: []float64{0, 1, 2, 3, 4}[:4+i]})
	}
	write(t, filepath.Join(gen, schemas.RowClip), schemas.RowClip, f.clips...)
	write(t, filepath.Join(gen, schemas.RowDeadLetter), schemas.RowDeadLetter,
		schemas.DeadLetter{ID: "d1", Stage: "frames", InputRef: "broken.mp4", ErrorKind: "not_a_video", Message: "frames: not a video"})
	mk := func(id, clip, q string, labeled bool, chosen int32, reason, tmpl string) schemas.Preference {
		return schemas.Preference{ID: id, ClipID: clip, QuestionID: q, Question: "What color is the " + q + "?", Output1: "red " + id, Output2: "blue " + id,
			Forward: schemas.Verdict{Letter: "A", ProbA: 0.8, Method: judge.MethodLogProbs}, Swapped: schemas.Verdict{Letter: "B", ProbA: 0.3, Method: judge.MethodLogProbs},
			Labeled: labeled, Chosen: chosen, Reason: reason, Context: "Clip 1: a red square.", Judge: schemas.ModelRef{Model: "tiny", Template: tmpl}}
	}
	f.prefs = []schemas.Preference{
		mk("p1", "clip-a", "square", true, 1, "", "judge-v1"),
		mk("p2", "clip-a", "circle", true, 2, "", "judge-v1"),
		mk("p3", "clip-a", "triangle", false, 0, judge.ReasonDisagree, "judge-v1"),
		mk("p4", "clip-b", "square", false, 0, judge.ReasonUnreadable, "judge-v1"),
		mk("p5", "clip-b", "background", true, 1, "", "judge-nocontext-v1"),
		mk("p6", "clip-b", "circle", false, 0, judge.ReasonDisagree, "judge-nocontext-v1"),
		mk("p7", "clip-missing", "square", true, 2, "", "judge-v1"),
	}
	write(t, filepath.Join(fb, schemas.RowPreference), schemas.RowPreference, f.prefs...)
	write(t, filepath.Join(fb, schemas.RowDeadLetter), schemas.RowDeadLetter,
		schemas.DeadLetter{ID: "d2", Stage: "judge", InputRef: "p9", ErrorKind: "unavailable", Message: "backend: server unavailable"})
	s := schemas.Summary{Command: "feedback", Settings: map[string]any{"input": "/moved/away/gen"},
		Extra: map[string]any{"judge_stats": map[string]any{"identical": 3}}}
	b, _ := json.Marshal(s)
	os.WriteFile(filepath.Join(fb, "summary.json"), b, 0o644)
	return f
}

func write[T any](t *testing.T, dir, rowType string, rows ...T) {
	t.Helper()
	if err := dataset.WriteAll(dir, rowType, 0, rows...); err != nil {
		t.Fatal(err)
	}
}

func newServer(t *testing.T, o Options) (*UI, *httptest.Server) {
	t.Helper()
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(u)
	t.Cleanup(func() { srv.Close(); u.Close() })
	return u, srv
}

// call makes a request (hdr may name its Host) and decodes a JSON answer into out (when out is not nil).
func call(t *testing.T, method, url string, body io.Reader, hdr map[string]string, out any) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if h := hdr["Host"]; h != "" { // the client sends req.Host, not a Host header
		req.Host = h
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, url, err, b)
		}
	}
	return resp.StatusCode, b
}

func jsonBody(v any) (io.Reader, map[string]string) {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b), map[string]string{"Content-Type": "application/json"}
}

// multipartVideo is a form with one file field.
func multipartVideo(t *testing.T, field, name string, content []byte) (io.Reader, map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile(field, name)
	w.Write(content)
	mw.Close()
	return &buf, map[string]string{"Content-Type": mw.FormDataContentType()}
}

// syntheticVideo renders one clip of the synthetic world to an mp4 and returns its bytes.
func syntheticVideo(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clip.mp4")
	if err := synth.Render(synth.Scene(synth.DefaultParams(), 0), path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
