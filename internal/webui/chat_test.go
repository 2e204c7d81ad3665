package webui

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/backend/builtin"
	"github.com/vrlaif/vrlaif/backend/openai"
	"github.com/vrlaif/vrlaif/transforms/frames"
)

// An upload is sampled like the pipelines sample, its file deleted at once, and a chat about it
// gets the model's own answer; bad files, oversize files and bad requests get clear errors.
func TestUploadAndChat(t *testing.T) {
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	u, srv := newServer(t, Options{Chat: b, UploadMaxBytes: 2 << 20, UploadFrames: 12, UploadSize: 64})
	video := syntheticVideo(t)

	var up upload
	body, hdr := multipartVideo(t, "video", "clip.mp4", video)
	if code, out := call(t, "POST", srv.URL+"/api/uploads", body, hdr, &up); code != 200 {
		t.Fatalf("upload: %d %s", code, out)
	}
	if up.Frames != 12 || up.Name != "clip.mp4" || up.Codec != "h264" || up.Seconds <= 0 {
		t.Errorf("upload %+v", up)
	}
	if left, _ := os.ReadDir(u.UploadDir()); len(left) != 0 {
		t.Errorf("the uploaded file was not deleted after sampling: %v", left)
	}
	// the same frames the extractor gives for that file with the same settings
	path := filepath.Join(t.TempDir(), "clip.mp4")
	os.WriteFile(path, video, 0o644)
	p := frames.DefaultParams()
	p.Frames, p.Size = 12, 64
	clip, err := frames.ExtractFile(t.Context(), path, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		code, got := call(t, "GET", fmt.Sprintf("%s/api/uploads/%s/frames/%d", srv.URL, up.ID, i), nil, nil, nil)
		if code != 200 || !bytes.Equal(got, clip.Frames[i]) {
			t.Errorf("frame %d: %d, not the extractor's JPEG", i, code)
		}
	}
	if code, _ := call(t, "GET", srv.URL+"/api/uploads/"+up.ID+"/frames/12", nil, nil, nil); code != 404 {
		t.Errorf("frame past the end: %d", code)
	}

	ask := func(req chatRequest) (int, chatReply, string) {
		body, hdr := jsonBody(req)
		var r chatReply
		code, out := call(t, "POST", srv.URL+"/api/chat", body, hdr, &r)
		return code, r, string(out)
	}
	turns := []chatMessage{{Role: "user", Content: "What color is the square?"}}
	code, r1, out := ask(chatRequest{Upload: up.ID, Messages: turns, MaxTokens: 10})
	if code != 200 {
		t.Fatalf("chat: %d %s", code, out)
	}
	want, err := b.Chat(t.Context(), &backend.ChatRequest{Messages: []backend.Message{backend.VideoMessage(clip.Frames, turns[0].Content)}, MaxTokens: 10})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Text != want.Choices[0].Text || r1.Model != "tiny" {
		t.Errorf("chat answered %q, the model answers %q", r1.Text, want.Choices[0].Text)
	}
	turns = append(turns, chatMessage{Role: "assistant", Content: r1.Text}, chatMessage{Role: "user", Content: "Where does it go?"})
	want2, _ := b.Chat(t.Context(), &backend.ChatRequest{Messages: []backend.Message{backend.VideoMessage(clip.Frames, turns[0].Content),
		backend.TextMessage("assistant", r1.Text), backend.TextMessage("user", turns[2].Content)}, MaxTokens: 10, Temperature: 0.8, Seed: 5})
	if code, r2, out := ask(chatRequest{Upload: up.ID, Messages: turns, MaxTokens: 10, Temperature: 0.8, Seed: 5}); code != 200 || r2.Text != want2.Choices[0].Text {
		t.Errorf("second turn: %d %q, want %q (%s)", code, r2.Text, want2.Choices[0].Text, out)
	}
	// a temperature so small that logits/T overflows float32 answers as greedy decoding does
	if code, r3, out := ask(chatRequest{Upload: up.ID, Messages: turns[:1], MaxTokens: 10, Temperature: 1e-39}); code != 200 || r3.Text != r1.Text {
		t.Errorf("temperature 1e-39: %d %q, greedy %q (%s)", code, r3.Text, r1.Text, out)
	}
	// JSON carries no NaN, but the checks must not let one through either
	for _, bad := range []chatRequest{{Messages: turns[:1], Temperature: math.NaN()}, {Messages: turns[:1], TopP: math.NaN()}} {
		if _, msg := u.chatRequest(&bad, &up); msg == "" {
			t.Errorf("chatRequest accepted temperature %v top_p %v", bad.Temperature, bad.TopP)
		}
	}
	for _, c := range []struct {
		name string
		req  chatRequest
		want int
	}{
		{"no such upload", chatRequest{Upload: "nope", Messages: turns[:1]}, 404},
		{"ends with the assistant", chatRequest{Upload: up.ID, Messages: turns[:2]}, 400},
		{"roles out of turn", chatRequest{Upload: up.ID, Messages: []chatMessage{{Role: "user", Content: "a"}, {Role: "user", Content: "b"}}}, 400},
		{"empty question", chatRequest{Upload: up.ID, Messages: []chatMessage{{Role: "user", Content: "  "}}}, 400},
		{"too many tokens", chatRequest{Upload: up.ID, Messages: turns[:1], MaxTokens: 100000}, 400},
		{"bad temperature", chatRequest{Upload: up.ID, Messages: turns[:1], Temperature: -1}, 400},
	} {
		if code, _, out := ask(c.req); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, out, c.want)
		}
	}

	for _, c := range []struct {
		name, field, file string
		content           []byte
		want              int
		says              string
	}{
		{"text file", "video", "notes.mp4", []byte("not a video at all\n"), http.StatusUnprocessableEntity, "notes.mp4 is not a video"},
		{"truncated video", "video", "cut.mp4", video[:len(video)/3], http.StatusUnprocessableEntity, "cut.mp4"},
		{"empty file", "video", "empty.mp4", nil, 400, "empty"},
		{"too large", "video", "big.mp4", make([]byte, 3<<20), 413, "limit of 2 MiB"},
		{"wrong field", "file", "clip.mp4", video, 400, `field named \"video\"`},
	} {
		body, hdr := multipartVideo(t, c.field, c.file, c.content)
		code, out := call(t, "POST", srv.URL+"/api/uploads", body, hdr, nil)
		if code != c.want || !strings.Contains(string(out), c.says) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, code, out, c.want, c.says)
		}
	}
	if left, _ := os.ReadDir(u.UploadDir()); len(left) != 0 {
		t.Errorf("refused uploads left files behind: %v", left)
	}
	if code, _ := call(t, "DELETE", srv.URL+"/api/uploads/"+up.ID, nil, nil, nil); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := call(t, "GET", srv.URL+"/api/uploads/"+up.ID, nil, nil, nil); code != 404 {
		t.Errorf("a deleted upload is still there: %d", code)
	}
	dir := u.UploadDir()
	u.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left the upload area: %v", err)
	}
}

// Only MaxUploads uploads are kept; the least recently used goes first.
func TestUploadsAreBounded(t *testing.T) {
	us, err := newUploads(Options{MaxUploads: 2}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	defer us.close()
	us.put(&upload{ID: "a"})
	us.put(&upload{ID: "b"})
	us.get("a") // a is now the most recent
	us.put(&upload{ID: "c"})
	if _, ok := us.get("b"); ok {
		t.Error("b should have been dropped")
	}
	for _, id := range []string{"a", "c"} {
		if _, ok := us.get(id); !ok {
			t.Errorf("%s was dropped", id)
		}
	}
}

// Without a model the chat API does not exist and the page says so.
func TestPageWithoutChat(t *testing.T) {
	f := newFixture(t)
	_, srv := newServer(t, Options{DataDir: f.root})
	var info map[string]any
	call(t, "GET", srv.URL+"/api/info", nil, nil, &info)
	if info["chat"] != false || info["review"] != true {
		t.Errorf("info %v", info)
	}
	body, hdr := multipartVideo(t, "video", "a.mp4", []byte("x"))
	if code, _ := call(t, "POST", srv.URL+"/api/uploads", body, hdr, nil); code != 404 && code != 405 {
		t.Errorf("upload without a chat model: %d", code)
	}
	code, page := call(t, "GET", srv.URL+"/", nil, nil, nil)
	if code != 200 || !strings.Contains(string(page), `<script src="/static/app.js"`) {
		t.Errorf("page: %d", code)
	}
	if code, js := call(t, "GET", srv.URL+"/static/app.js", nil, nil, nil); code != 200 || !bytes.Contains(js, []byte("openPair")) {
		t.Errorf("app.js: %d", code)
	}
}

// The page chats through any configured backend: here the openai client against a real
// OpenAI-compatible server (vrlaif's own handler over the same checkpoint, on a real port), which
// must answer exactly as the built-in model does in-process.
func TestChatThroughOpenAIBackend(t *testing.T) {
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	remote := httptest.NewServer(openai.Handler(b, openai.ServerOptions{}))
	defer remote.Close()
	client, err := openai.NewClient(t.Context(), backend.Config{URL: remote.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	_, srv := newServer(t, Options{Chat: client, UploadFrames: 6, UploadSize: 64})
	var up upload
	body, hdr := multipartVideo(t, "video", "clip.mp4", syntheticVideo(t))
	if code, out := call(t, "POST", srv.URL+"/api/uploads", body, hdr, &up); code != 200 {
		t.Fatalf("upload: %d %s", code, out)
	}
	var info map[string]any
	call(t, "GET", srv.URL+"/api/info", nil, nil, &info)
	if info["chat_backend"] != "openai" {
		t.Errorf("info %v", info)
	}
	q := chatRequest{Upload: up.ID, Messages: []chatMessage{{Role: "user", Content: "What moves?"}}, MaxTokens: 8, Temperature: 0.5, Seed: 2}
	body, hdr = jsonBody(q)
	var r chatReply
	if code, out := call(t, "POST", srv.URL+"/api/chat", body, hdr, &r); code != 200 {
		t.Fatalf("chat: %d %s", code, out)
	}
	want, err := b.Chat(t.Context(), &backend.ChatRequest{Messages: []backend.Message{backend.VideoMessage(uploadFrames(t, srv.URL, up), "What moves?")},
		MaxTokens: 8, Temperature: 0.5, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != want.Choices[0].Text {
		t.Errorf("through openai: %q, in-process: %q", r.Text, want.Choices[0].Text)
	}
}

// uploadFrames fetches an upload's frames back from the page's API.
func uploadFrames(t *testing.T, base string, up upload) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range up.Frames {
		code, b := call(t, "GET", fmt.Sprintf("%s/api/uploads/%s/frames/%d", base, up.ID, i), nil, nil, nil)
		if code != 200 {
			t.Fatalf("frame %d: %d", i, code)
		}
		out = append(out, b)
	}
	return out
}
