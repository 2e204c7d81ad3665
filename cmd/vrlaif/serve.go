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
)

func serveCmd() *cobra.Command {
	var (
		ckpt, addr, keyEnv string
		maxBodyMB          int
		shutdown           time.Duration
		opts               openai.ServerOptions
	)
	cmd := &cobra.Command{
		Use:   "serve --model CKPT [--addr 127.0.0.1:8000]",
		Short: "Serve the built-in model as an OpenAI-compatible API",
		Long: `serve puts a built-in model checkpoint (from 'vrlaif train sft') behind an OpenAI-compatible
HTTP API, so that every client of vLLM, SGLang, TGI or OpenAI — and vrlaif's own 'openai' backend —
can use it:

  GET  /v1/models             the served model
  POST /v1/chat/completions   n samples, temperature, top_p, top_k, max_tokens, stop, seed,
                              logprobs and top_logprobs; video frames as image_url parts holding
                              data:image/jpeg;base64 URLs (remote URLs are refused); no streaming
  GET  /healthz

The model samples one request at a time (each request is batched over its n samples); requests
beyond --max-in-flight wait, and beyond --max-queue waiting ones get 429 with Retry-After.
It listens on loopback by default; set --api-key-env to require a bearer key before exposing it.
Ctrl-C (or SIGTERM) stops accepting connections and lets running requests finish.`,
		Example: "  vrlaif serve --model out/demo/sft --addr 127.0.0.1:8000\n" +
			"  curl -s localhost:8000/v1/chat/completions -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":16}'",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ckpt == "" {
				return fail(cmd, "--model is required")
			}
			if keyEnv != "" {
				if opts.APIKey = os.Getenv(keyEnv); opts.APIKey == "" {
					return fail(cmd, "--api-key-env names %s, which is empty", keyEnv)
				}
			}
			opts.MaxBodyBytes = int64(maxBodyMB) << 20
			return serve(cmd.Context(), ckpt, addr, shutdown, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&ckpt, "model", "", "checkpoint folder: model.safetensors, config.json, tokenizer.json (required)")
	f.StringVar(&addr, "addr", "127.0.0.1:8000", "address to listen on (port 0 picks a free one)")
	f.StringVar(&opts.ModelName, "served-model-name", "", "model id to serve (default: the checkpoint folder's name)")
	f.StringVar(&keyEnv, "api-key-env", "", "environment variable holding a key that clients must send as a bearer token")
	f.IntVar(&maxBodyMB, "max-body-mb", 64, "largest request body, MiB")
	f.IntVar(&opts.MaxNewTokens, "max-tokens", 512, "largest max_tokens a request may ask (also the default)")
	f.IntVar(&opts.MaxImages, "max-images", 64, "most images (frames) in one request")
	f.IntVar(&opts.MaxN, "max-n", 16, "most samples in one request")
	f.IntVar(&opts.MaxTopLogProbs, "max-top-logprobs", 20, "largest top_logprobs a request may ask")
	f.IntVar(&opts.MaxInFlight, "max-in-flight", 2, "requests handled at once")
	f.IntVar(&opts.MaxQueue, "max-queue", 64, "requests that may wait for a turn")
	f.DurationVar(&shutdown, "shutdown-timeout", 30*time.Second, "how long running requests get to finish on Ctrl-C")
	return cmd
}

func serve(ctx context.Context, ckpt, addr string, shutdown time.Duration, opts openai.ServerOptions) error {
	b, err := builtin.Load(ckpt, "")
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts.Logger = logger
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() && opts.APIKey == "" {
		logger.Warn("listening beyond loopback without an API key; anyone who can reach it can use the model", "addr", ln.Addr())
	}
	srv := &http.Server{Handler: openai.Handler(b, opts), ReadHeaderTimeout: 10 * time.Second}
	info := b.Info()
	fmt.Fprintf(os.Stderr, "serving %s (revision %s) on http://%s/v1\n", info.Model, info.Revision, ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(os.Stderr, "shutting down: waiting for running requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	st := b.Stats()
	fmt.Fprintf(os.Stderr, "stopped after %d calls (%d prompt and %d completion tokens)\n", st.Calls, st.PromptTokens, st.CompletionTokens)
	return nil
}

var _ backend.Backend = (*builtin.Builtin)(nil)
