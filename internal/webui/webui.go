// Package webui is the web page `vrlaif serve` shows beside its OpenAI-compatible API: chat with a
// model about an uploaded video, and review the preference data a feedback run produced (frames,
// the narrative the judge saw, both answers, both verdicts, why a pair has no label) with marks
// that a reviewer saves beside the data. The page is plain HTML, CSS and JavaScript embedded in the
// binary; its JSON API lives under /api/.
//
// Safety: the browser names datasets, pairs and clips by the names this server gave it, never by
// path, so nothing it sends reaches a file outside the data folder; uploads go to a temporary folder
// with size and duration limits and are deleted once their frames are read; with a token set, every
// request needs it (a bearer header, or the cookie that /?token=… sets); without one (a server on
// loopback: serve refuses to listen beyond it without a key) only requests addressed to localhost,
// 127.0.0.1 or [::1] are answered, against DNS rebinding; state-changing requests from another
// origin are refused.
package webui

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/internal/loopback"
)

//go:embed static
var static embed.FS

// CookieName holds the token in the browser after /?token=… .
const CookieName = "vrlaif_token"

// Options configure the page.
type Options struct {
	// DataDir is the folder whose feedback outputs (folders holding preferences/) can be reviewed;
	// empty turns the review page off.
	DataDir string
	// Chat answers questions about uploaded videos; nil turns the chat page off.
	Chat backend.Backend
	// Token, when set, is required on every request; without it the page answers only requests
	// addressed to a loopback name (localhost, 127.0.0.1, [::1]).
	Token string
	// Upload limits.
	UploadMaxBytes    int64         // default 200 MiB
	UploadMaxDuration time.Duration // default 10 min of video
	UploadMaxDecode   time.Duration // wall time to read one upload's frames, default 2 min
	MaxUploads        int           // uploads kept in memory at once (oldest dropped), default 16
	UploadFrames      int           // frames sampled from an upload (the seed's 50 by default)
	UploadSize        int           // frame size in pixels (224 by default, padded to a square)
	// Chat limits.
	MaxNewTokens int // largest max_tokens a chat request may ask (default 512)
	Logger       *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.UploadMaxBytes <= 0 {
		o.UploadMaxBytes = 200 << 20
	}
	if o.UploadMaxDuration <= 0 {
		o.UploadMaxDuration = 10 * time.Minute
	}
	if o.UploadMaxDecode <= 0 {
		o.UploadMaxDecode = 2 * time.Minute
	}
	if o.MaxUploads <= 0 {
		o.MaxUploads = 16
	}
	if o.UploadFrames <= 0 {
		o.UploadFrames = 50
	}
	if o.UploadSize <= 0 {
		o.UploadSize = 224
	}
	if o.MaxNewTokens <= 0 {
		o.MaxNewTokens = 512
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// UI serves the page. Close it to delete the upload area.
type UI struct {
	o       Options
	uploads *uploads
	data    *library
	mux     *http.ServeMux
}

// New prepares the page: the upload area (a new temporary folder) and the data folder's index.
func New(o Options) (*UI, error) {
	o = o.withDefaults()
	u := &UI{o: o, mux: http.NewServeMux()}
	if o.DataDir != "" {
		st, err := os.Stat(o.DataDir)
		if err != nil {
			return nil, fmt.Errorf("webui: data folder: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("webui: data folder %s is not a folder", o.DataDir)
		}
		if u.data, err = newLibrary(o.DataDir); err != nil {
			return nil, err
		}
	}
	if o.Chat != nil {
		up, err := newUploads(o)
		if err != nil {
			return nil, err
		}
		u.uploads = up
	}
	files, _ := fs.Sub(static, "static")
	u.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(files)))
	u.mux.HandleFunc("GET /{$}", u.page)
	u.mux.HandleFunc("GET /api/info", u.info)
	u.routeChat()
	u.routeReview()
	return u, nil
}

// Close deletes the upload area and everything in it.
func (u *UI) Close() error {
	if u.uploads != nil {
		return u.uploads.close()
	}
	return nil
}

// ServeHTTP checks the Host (without a token, only loopback names), the token and the origin, then serves the page or its API.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u.o.Token == "" && !loopback.Host(r.Host) {
		loopback.Refuse(w, r) // DNS rebinding: see package loopback
		return
	}
	if u.o.Token != "" && r.Method == http.MethodGet && r.URL.Path == "/" && r.URL.Query().Has("token") {
		u.login(w, r)
		return
	}
	// The page's own CSS and JavaScript hold nothing secret; the token page needs its stylesheet.
	public := r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/static/")
	if !public && !u.authorized(r) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, tokenPage)
			return
		}
		writeError(w, http.StatusUnauthorized, "missing or wrong token")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "request from another origin refused")
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Frame-Options", "DENY")
	u.mux.ServeHTTP(w, r)
}

func (u *UI) authorized(r *http.Request) bool {
	if u.o.Token == "" {
		return true
	}
	want := []byte(u.o.Token)
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return subtle.ConstantTimeCompare([]byte(strings.TrimPrefix(h, "Bearer ")), want) == 1
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return subtle.ConstantTimeCompare([]byte(c.Value), want) == 1
	}
	return false
}

// login turns /?token=… into a cookie and sends the browser to / without the token in its address.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	got := r.URL.Query().Get("token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(u.o.Token)) != 1 {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, strings.Replace(tokenPage, "<!--msg-->", "<p class=err>That token is wrong.</p>", 1))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: got, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// sameOrigin: a browser sends Origin on every cross-origin write; scripts (curl, tests) send none.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	ou, err := url.Parse(o)
	return err == nil && ou.Host == r.Host
}

func (u *UI) page(w http.ResponseWriter, r *http.Request) {
	b, err := static.ReadFile("static/index.html")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

func (u *UI) info(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"chat": u.o.Chat != nil, "review": u.data != nil}
	if u.o.Chat != nil {
		in := u.o.Chat.Info()
		out["chat_model"] = in.Model
		out["chat_backend"] = in.Backend
		out["limits"] = map[string]any{"upload_bytes": u.o.UploadMaxBytes, "upload_seconds": u.o.UploadMaxDuration.Seconds(),
			"max_tokens": u.o.MaxNewTokens, "frames": u.o.UploadFrames}
	}
	writeJSON(w, http.StatusOK, out)
}

const tokenPage = `<!doctype html><html><head><meta charset=utf-8><title>vrlaif — token</title>
<link rel=stylesheet href="/static/style.css"></head><body class=narrow><h1>vrlaif</h1>
<p>This server needs its token (the value of the variable that <code>vrlaif serve --api-key-env</code> names).</p>
<!--msg--><form method=get action="/"><input name=token type=password autofocus placeholder=token> <button>Open</button></form></body></html>`

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// decodeJSON reads a JSON body of at most limit bytes into v; it answers the client itself and
// returns false when the body is unusable.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "send the body as application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit))
			return false
		}
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	return true
}
