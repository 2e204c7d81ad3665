package webui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/transforms/frames"
)

// upload is a video's sampled frames, kept in memory; the file itself is deleted once read.
type upload struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Frames   int       `json:"frames"`
	Seconds  float64   `json:"duration_seconds"`
	Width    int32     `json:"width"`
	Height   int32     `json:"height"`
	Codec    string    `json:"codec"`
	Times    []float64 `json:"timestamps_seconds"`
	jpegs    [][]byte
	lastUsed time.Time
}

// uploads is the temporary area (a folder removed on close) and the frames read from it.
type uploads struct {
	o    Options
	dir  string
	mu   sync.Mutex
	byID map[string]*upload
}

func newUploads(o Options) (*uploads, error) {
	dir, err := os.MkdirTemp("", "vrlaif-uploads-")
	if err != nil {
		return nil, fmt.Errorf("webui: upload area: %w", err)
	}
	return &uploads{o: o, dir: dir, byID: map[string]*upload{}}, nil
}

func (us *uploads) close() error {
	us.mu.Lock()
	us.byID = map[string]*upload{}
	us.mu.Unlock()
	return os.RemoveAll(us.dir)
}

// Dir is the temporary folder uploads are written to (tests check it is emptied).
func (u *UI) UploadDir() string {
	if u.uploads == nil {
		return ""
	}
	return u.uploads.dir
}

func (us *uploads) get(id string) (*upload, bool) {
	us.mu.Lock()
	defer us.mu.Unlock()
	up, ok := us.byID[id]
	if ok {
		up.lastUsed = time.Now()
	}
	return up, ok
}

// put keeps up, dropping the least recently used uploads beyond MaxUploads.
func (us *uploads) put(up *upload) {
	us.mu.Lock()
	defer us.mu.Unlock()
	up.lastUsed = time.Now()
	us.byID[up.ID] = up
	for len(us.byID) > us.o.MaxUploads {
		var oldest *upload
		for _, x := range us.byID {
			if oldest == nil || x.lastUsed.Before(oldest.lastUsed) {
				oldest = x
			}
		}
		delete(us.byID, oldest.ID)
	}
}

func (us *uploads) drop(id string) bool {
	us.mu.Lock()
	defer us.mu.Unlock()
	_, ok := us.byID[id]
	delete(us.byID, id)
	return ok
}

func (u *UI) routeChat() {
	if u.uploads == nil {
		return
	}
	u.mux.HandleFunc("POST /api/uploads", u.upload)
	u.mux.HandleFunc("GET /api/uploads/{id}", u.uploadInfo)
	u.mux.HandleFunc("DELETE /api/uploads/{id}", u.deleteUpload)
	u.mux.HandleFunc("GET /api/uploads/{id}/frames/{i}", u.uploadFrame)
	u.mux.HandleFunc("POST /api/chat", u.chat)
}

// upload reads one multipart file field ("video") into the upload area, samples its frames and
// deletes the file. Errors say what was wrong with the file.
func (u *UI) upload(w http.ResponseWriter, r *http.Request) {
	us := u.uploads
	if r.ContentLength > us.o.UploadMaxBytes+1<<20 {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the video is larger than the limit of %d MiB", us.o.UploadMaxBytes>>20))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, us.o.UploadMaxBytes+1<<20) // room for the multipart framing
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "send the video as multipart/form-data in a field named \"video\"")
		return
	}
	var part *multipart.Part
	for {
		p, err := mr.NextPart()
		if err != nil {
			writeError(w, http.StatusBadRequest, "no field named \"video\" in the form")
			return
		}
		if p.FormName() == "video" {
			part = p
			break
		}
	}
	name := filepath.Base(part.FileName())
	f, err := os.CreateTemp(us.dir, "upload-*"+safeExt(name))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "upload area: "+err.Error())
		return
	}
	path := f.Name()
	defer os.Remove(path)
	n, err := io.Copy(f, io.LimitReader(part, us.o.UploadMaxBytes+1))
	f.Close()
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || n > us.o.UploadMaxBytes:
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the video is larger than the limit of %d MiB", us.o.UploadMaxBytes>>20))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "reading the upload: "+err.Error())
		return
	case n == 0:
		writeError(w, http.StatusBadRequest, "the file is empty")
		return
	}
	p := frames.DefaultParams()
	p.Frames, p.Size = us.o.UploadFrames, us.o.UploadSize
	p.Limits.MaxDuration, p.Limits.MaxDecodeTime = us.o.UploadMaxDuration, us.o.UploadMaxDecode
	p.Limits.MaxPixels = model.MaxFramePixels // the limit the model's own frame decoding has
	clip, err := frames.ExtractFile(r.Context(), path, p)
	if err != nil {
		u.o.Logger.Info("upload refused", "name", name, "kind", frames.Kind(err), "err", err)
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": uploadError(name, err), "kind": frames.Kind(err)})
		return
	}
	up := &upload{ID: newID(), Name: name, Frames: len(clip.Frames), Seconds: clip.DurationSeconds, Width: clip.Width, Height: clip.Height,
		Codec: clip.Codec, Times: clip.TimestampsSeconds, jpegs: clip.Frames}
	us.put(up)
	writeJSON(w, http.StatusOK, up)
}

// uploadError explains a refused video in a user's words, with the extractor's reason.
func uploadError(name string, err error) string {
	what := map[string]string{
		"not_a_video": "is not a video FFmpeg can read", "no_video_stream": "has no video stream",
		"corrupt": "is truncated or corrupt", "unsupported_codec": "uses a codec this FFmpeg cannot decode",
		"over_limit": "is over a limit", "unreadable": "cannot be read",
	}[frames.Kind(err)]
	if what == "" {
		what = "could not be read"
	}
	return fmt.Sprintf("%s %s (%s)", name, what, strings.TrimPrefix(err.Error(), "frames: "))
}

func safeExt(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	for _, c := range ext[min(1, len(ext)):] {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return ""
		}
	}
	if len(ext) > 8 {
		return ""
	}
	return ext
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (u *UI) uploadInfo(w http.ResponseWriter, r *http.Request) {
	up, ok := u.uploads.get(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such upload (uploads are kept in memory and dropped when the server restarts)")
		return
	}
	writeJSON(w, http.StatusOK, up)
}

func (u *UI) deleteUpload(w http.ResponseWriter, r *http.Request) {
	if !u.uploads.drop(r.PathValue("id")) {
		writeError(w, http.StatusNotFound, "no such upload")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (u *UI) uploadFrame(w http.ResponseWriter, r *http.Request) {
	up, ok := u.uploads.get(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such upload")
		return
	}
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil || i < 0 || i >= len(up.jpegs) {
		writeError(w, http.StatusNotFound, "no such frame")
		return
	}
	writeJPEG(w, up.jpegs[i])
}

func writeJPEG(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Write(b)
}

// chatRequest is one turn of a conversation about an upload: the whole conversation so far (the
// page keeps it), ending with the user's new question.
type chatRequest struct {
	Upload      string        `json:"upload"`
	Messages    []chatMessage `json:"messages"`
	Temperature float64       `json:"temperature"`
	TopP        float64       `json:"top_p"`
	TopK        int           `json:"top_k"`
	MaxTokens   int           `json:"max_tokens"`
	Seed        int64         `json:"seed"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatReply struct {
	Text         string  `json:"text"`
	FinishReason string  `json:"finish_reason"`
	Model        string  `json:"model"`
	Usage        any     `json:"usage"`
	Seconds      float64 `json:"seconds"`
}

func (u *UI) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if !decodeJSON(w, r, 1<<20, &req) {
		return
	}
	up, ok := u.uploads.get(req.Upload)
	if !ok {
		writeError(w, http.StatusNotFound, "no such upload: upload a video first (uploads are dropped when the server restarts)")
		return
	}
	br, msg := u.chatRequest(&req, up)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	resp, err := u.o.Chat.Chat(ctx, br)
	if err != nil {
		code := http.StatusBadGateway
		if errors.Is(err, backend.ErrBadRequest) || errors.Is(err, backend.ErrUnsupported) {
			code = http.StatusBadRequest
		}
		writeError(w, code, "the model failed: "+err.Error())
		return
	}
	if len(resp.Choices) == 0 {
		writeError(w, http.StatusBadGateway, "the model returned no answer")
		return
	}
	writeJSON(w, http.StatusOK, chatReply{Text: resp.Choices[0].Text, FinishReason: resp.Choices[0].FinishReason,
		Model: resp.Model, Usage: resp.Usage, Seconds: time.Since(start).Seconds()})
}

// chatRequest checks a page request and makes the backend's: the video goes with the first user turn.
func (u *UI) chatRequest(req *chatRequest, up *upload) (*backend.ChatRequest, string) {
	switch {
	case len(req.Messages) == 0 || req.Messages[len(req.Messages)-1].Role != backend.RoleUser:
		return nil, "the conversation must end with the user's question"
	case len(req.Messages) > 64:
		return nil, "at most 64 turns in one conversation"
	case !(req.Temperature >= 0 && req.Temperature <= 5): // so written, a NaN fails too
		return nil, "temperature must be in 0..5"
	case !(req.TopP >= 0 && req.TopP <= 1):
		return nil, "top_p must be in 0..1"
	case req.TopK < 0 || req.MaxTokens < 0 || req.Seed < 0:
		return nil, "top_k, max_tokens and seed must not be negative"
	case req.MaxTokens > u.o.MaxNewTokens:
		return nil, fmt.Sprintf("max_tokens must be at most %d", u.o.MaxNewTokens)
	}
	br := &backend.ChatRequest{N: 1, Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK,
		MaxTokens: req.MaxTokens, Seed: req.Seed, Template: "webui-chat"}
	if br.MaxTokens == 0 {
		br.MaxTokens = min(128, u.o.MaxNewTokens)
	}
	for i, m := range req.Messages {
		want := backend.RoleUser
		if i%2 == 1 {
			want = backend.RoleAssistant
		}
		if m.Role != want {
			return nil, fmt.Sprintf("turn %d is %q; turns alternate user, assistant, user, …", i+1, m.Role)
		}
		if strings.TrimSpace(m.Content) == "" && m.Role == backend.RoleUser {
			return nil, fmt.Sprintf("turn %d is empty", i+1)
		}
		if i == 0 {
			br.Messages = append(br.Messages, backend.VideoMessage(up.jpegs, m.Content))
			continue
		}
		br.Messages = append(br.Messages, backend.TextMessage(m.Role, m.Content))
	}
	return br, ""
}
