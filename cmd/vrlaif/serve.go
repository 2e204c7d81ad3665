package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/builtin"
	"github.com/vrlaif/vrlaif/backend/openai"
	"github.com/vrlaif/vrlaif/internal/loopback"
	"github.com/vrlaif/vrlaif/internal/webui"
)

// serveConfig is what `vrlaif serve` was asked for.
type serveConfig struct {
	ckpt, addr, keyEnv string
	shutdown           time.Duration
	api                openai.ServerOptions
	noUI               bool
	ui                 webui.Options
	chat               backend.Config // the page's chat backend when it is not the served checkpoint
}

func serveCmd() *cobra.Command {
	var (
		c            serveConfig
		maxBodyMB    int
		uploadMB     int
		uploadLength time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve --model CKPT [--data DIR] [--addr 127.0.0.1:8000]",
		Short: "Serve the built-in model as an OpenAI-compatible API, with a web page to chat and review preferences",
		Long: `serve puts a built-in model checkpoint (from 'vrlaif train sft') behind an OpenAI-compatible
HTTP API, so that every client of vLLM, SGLang, TGI or OpenAI — and vrlaif's own 'openai' backend —
can use it:

  GET  /v1/models             the served model
  POST /v1/chat/completions   n samples, temperature, top_p, top_k, max_tokens, stop, seed,
                              logprobs and top_logprobs; video frames as image_url parts holding
                              data:image/jpeg;base64 URLs (remote URLs are refused); no streaming
  GET  /healthz

On the same port, http://ADDR/ is a web page (turn it off with --no-ui):
  Chat about a video     upload a video (limits: --upload-max-mb, --upload-max-duration), see the
                         sampled frames, ask questions, multi-turn, sampling settings adjustable;
                         answered by --model, or by any OpenAI-compatible server (--chat-url)
  Review preferences     the feedback outputs under --data (any folder holding preferences/): a
                         paged, filterable list of pairs and dead letters, one pair's frames,
                         narrative, both answers and both verdicts, summary charts; a reviewer can
                         mark a pair wrong — marks go to FEEDBACK_DIR/review_marks/ (Parquet), the
                         preference rows are never changed, and 'vrlaif export --format rm' leaves
                         marked pairs out unless --marked include

The model samples one request at a time (each request is batched over its n samples); requests
beyond --max-in-flight wait, and beyond --max-queue waiting ones get 429 with Retry-After.
It listens on loopback by default; set --api-key-env to require a bearer key (the page takes it once
as http://ADDR/?token=KEY and keeps it in a cookie). The page refuses to listen beyond loopback
without one, and without one the server answers only requests addressed to localhost, 127.0.0.1
or [::1] (a page elsewhere cannot reach it by re-pointing its own name: DNS rebinding). Ctrl-C (or SIGTERM) stops accepting connections and lets running requests finish.`,
		Example: "  vrlaif serve --model out/demo/sft --data out/demo --addr 127.0.0.1:8000   # then open http://127.0.0.1:8000/\n" +
			"  vrlaif serve --data out/demo/feedback                                    # review only, no model\n" +
			"  curl -s localhost:8000/v1/chat/completions -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":16}'",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.ckpt == "" && c.ui.DataDir == "" && c.chat.URL == "" {
				return fail(cmd, "--model is required (or --data to review preferences without a model)")
			}
			if c.noUI && c.ckpt == "" {
				return fail(cmd, "--no-ui needs --model: there would be nothing to serve")
			}
			if c.keyEnv != "" {
				if c.api.APIKey = os.Getenv(c.keyEnv); c.api.APIKey == "" {
					return fail(cmd, "--api-key-env names %s, which is empty", c.keyEnv)
				}
			}
			if uploadMB <= 0 || uploadLength <= 0 {
				return fail(cmd, "--upload-max-mb and --upload-max-duration must be > 0")
			}
			c.api.MaxBodyBytes = int64(maxBodyMB) << 20
			c.ui.UploadMaxBytes, c.ui.UploadMaxDuration = int64(uploadMB)<<20, uploadLength
			c.ui.MaxNewTokens = c.api.MaxNewTokens
			if c.chat.URL != "" {
				c.chat.Name = "openai"
			}
			return serve(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.ckpt, "model", "", "checkpoint folder: model.safetensors, config.json, tokenizer.json")
	f.StringVar(&c.addr, "addr", "127.0.0.1:8000", "address to listen on (port 0 picks a free one)")
	f.StringVar(&c.api.ModelName, "served-model-name", "", "model id to serve (default: the checkpoint folder's name)")
	f.StringVar(&c.keyEnv, "api-key-env", "", "environment variable holding a key that clients must send as a bearer token (the page too)")
	f.IntVar(&maxBodyMB, "max-body-mb", 64, "largest request body, MiB")
	f.IntVar(&c.api.MaxNewTokens, "max-tokens", 512, "largest max_tokens a request may ask (also the default)")
	f.IntVar(&c.api.MaxImages, "max-images", 64, "most images (frames) in one request")
	f.IntVar(&c.api.MaxN, "max-n", 16, "most samples in one request")
	f.IntVar(&c.api.MaxTopLogProbs, "max-top-logprobs", 20, "largest top_logprobs a request may ask")
	f.IntVar(&c.api.MaxInFlight, "max-in-flight", 2, "requests handled at once")
	f.IntVar(&c.api.MaxQueue, "max-queue", 64, "requests that may wait for a turn")
	f.DurationVar(&c.shutdown, "shutdown-timeout", 30*time.Second, "how long running requests get to finish on Ctrl-C")
	f.BoolVar(&c.noUI, "no-ui", false, "serve the API only, without the web page")
	f.StringVar(&c.ui.DataDir, "data", "", "folder whose feedback outputs the page can review (searched 4 levels deep for preferences/)")
	f.IntVar(&uploadMB, "upload-max-mb", 200, "largest video the page accepts, MiB")
	f.DurationVar(&uploadLength, "upload-max-duration", 10*time.Minute, "longest video the page accepts")
	f.IntVar(&c.ui.UploadFrames, "upload-frames", 50, "frames sampled from an uploaded video")
	f.StringVar(&c.chat.URL, "chat-url", "", "let the page chat with this OpenAI-compatible server (base URL ending in /v1) instead of --model")
	f.StringVar(&c.chat.Model, "chat-model", "", "with --chat-url: the model id (default: the server's first)")
	f.StringVar(&c.chat.APIKeyEnv, "chat-api-key-env", "OPENAI_API_KEY", "with --chat-url: environment variable holding its API key")
	return cmd
}

func serve(ctx context.Context, c serveConfig) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var served *builtin.Builtin
	if c.ckpt != "" {
		b, err := builtin.Load(c.ckpt, "")
		if err != nil {
			return err
		}
		served = b
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer ln.Close()
	tcp, _ := ln.Addr().(*net.TCPAddr)
	beyondLoopback := tcp != nil && !tcp.IP.IsLoopback()
	if beyondLoopback && c.api.APIKey == "" && !c.noUI {
		return fmt.Errorf("serve: the web page shows your data and accepts uploads; listening on %s beyond loopback needs --api-key-env (or --no-ui)", ln.Addr())
	}
	if beyondLoopback && c.api.APIKey == "" {
		logger.Warn("listening beyond loopback without an API key; anyone who can reach it can use the model", "addr", ln.Addr())
	}

	mux := http.NewServeMux()
	if served != nil {
		c.api.Logger = logger
		api := openai.Handler(served, c.api)
		mux.Handle("/v1/", api)
		mux.Handle("GET /healthz", api)
	} else {
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	}
	var ui *webui.UI
	if !c.noUI {
		c.ui.Token, c.ui.Logger = c.api.APIKey, logger
		if served != nil {
			c.ui.Chat = served
		}
		if c.chat.URL != "" {
			cb, err := backend.Open(ctx, c.chat)
			if err != nil {
				return fmt.Errorf("serve: the page's chat backend: %w", err)
			}
			defer cb.Close()
			c.ui.Chat = cb
		}
		if ui, err = webui.New(c.ui); err != nil {
			return err
		}
		defer ui.Close()
		mux.Handle("/", ui)
	}
	var handler http.Handler = mux
	if !beyondLoopback && c.api.APIKey == "" {
		handler = loopback.Only(mux) // against DNS rebinding: see package loopback
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	if served != nil {
		info := served.Info()
		fmt.Fprintf(os.Stderr, "serving %s (revision %s) on http://%s/v1\n", info.Model, info.Revision, ln.Addr())
	}
	if ui != nil {
		fmt.Fprintf(os.Stderr, "web page on http://%s/ (chat: %v, review: %s)\n", ln.Addr(), c.ui.Chat != nil, orNone(c.ui.DataDir))
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(os.Stderr, "shutting down: waiting for running requests")
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	if served != nil {
		st := served.Stats()
		fmt.Fprintf(os.Stderr, "stopped after %d calls (%d prompt and %d completion tokens)\n", st.Calls, st.PromptTokens, st.CompletionTokens)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "off"
	}
	return s
}
