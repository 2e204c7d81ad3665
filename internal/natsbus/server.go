package natsbus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// streamMaxBufferedSize is the server's per-stream ingest queue. The default, 128 MiB, makes
// large object-store puts fail with "too many requests" (see the toolchain notes); 1 GiB made
// them reliable.
const streamMaxBufferedSize = 1 << 30

// startTimeout bounds how long StartEmbedded waits for the server to accept clients, which
// includes recovering the JetStream store.
const startTimeout = 30 * time.Second

// Server is an embedded nats-server with JetStream.
type Server struct {
	srv *server.Server
	dir string
}

// ServerOption configures StartEmbedded.
type ServerOption func(*serverConfig)

type serverConfig struct {
	opts   *server.Options
	logger *slog.Logger
}

// WithPort listens on port instead of a free one. Restarting on the previous port lets
// connected clients reconnect without being told a new URL.
func WithPort(port int) ServerOption {
	return func(c *serverConfig) { c.opts.Port = port }
}

// WithHost listens on host instead of 127.0.0.1 (for example "0.0.0.0" for actors on other
// machines; then also set WithUserPassword).
func WithHost(host string) ServerOption {
	return func(c *serverConfig) { c.opts.Host = host }
}

// WithUserPassword makes the server require this user and password.
func WithUserPassword(user, password string) ServerOption {
	return func(c *serverConfig) { c.opts.Username, c.opts.Password = user, password }
}

// WithMaxStore caps the bytes JetStream may keep on disk. Without it the server takes 75 % of
// the disk's free space when it starts.
func WithMaxStore(n int64) ServerOption {
	return func(c *serverConfig) { c.opts.JetStreamMaxStore = n }
}

// WithLogger sends the server's log to l (notices at Info, debug and trace at Debug). Without
// it the server logs nothing.
func WithLogger(l *slog.Logger) ServerOption {
	return func(c *serverConfig) { c.opts.NoLog, c.logger = false, l }
}

// StartEmbedded starts nats-server in this process with JetStream, its file store under dir
// (dir/jetstream), listening on 127.0.0.1 on a free port unless WithHost/WithPort say
// otherwise. It returns once the server accepts clients. Starting again on the same dir
// recovers the streams, consumers and objects that were there.
func StartEmbedded(dir string, opts ...ServerOption) (*Server, error) {
	if dir == "" {
		return nil, errors.New("natsbus: embedded server needs a directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("natsbus: %w", err)
	}
	o := &server.Options{
		ServerName:            "vrlaif-embedded",
		Host:                  "127.0.0.1",
		Port:                  server.RANDOM_PORT,
		JetStream:             true,
		StoreDir:              dir,
		StreamMaxBufferedSize: streamMaxBufferedSize,
		NoLog:                 true,
		NoSigs:                true,
	}
	c := serverConfig{opts: o}
	for _, opt := range opts {
		opt(&c)
	}

	srv, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("natsbus: embedded server: %w", err)
	}
	if c.logger != nil {
		srv.SetLoggerV2(slogAdapter{c.logger}, true, false, false)
	}
	srv.Start()
	if !srv.ReadyForConnections(startTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("natsbus: embedded server on %s:%d (store %s) not ready after %v",
			o.Host, o.Port, dir, startTimeout)
	}
	return &Server{srv: srv, dir: dir}, nil
}

// ClientURL is the URL clients connect to, e.g. nats://127.0.0.1:41234 (no credentials).
func (s *Server) ClientURL() string { return s.srv.ClientURL() }

// Port is the TCP port the server listens on.
func (s *Server) Port() int {
	if a, ok := s.srv.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// Dir is the directory given to StartEmbedded.
func (s *Server) Dir() string { return s.dir }

// NATS is the underlying server, for what this package does not wrap.
func (s *Server) NATS() *server.Server { return s.srv }

// Shutdown stops the server and waits until it has stopped and flushed its store.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// slogAdapter is nats-server's Logger on top of slog. Fatalf logs at Error and does not exit:
// a library never ends the process.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(f string, v ...any) { a.l.Info("nats-server: " + fmt.Sprintf(f, v...)) }
func (a slogAdapter) Warnf(f string, v ...any)   { a.l.Warn("nats-server: " + fmt.Sprintf(f, v...)) }
func (a slogAdapter) Fatalf(f string, v ...any)  { a.l.Error("nats-server: " + fmt.Sprintf(f, v...)) }
func (a slogAdapter) Errorf(f string, v ...any)  { a.l.Error("nats-server: " + fmt.Sprintf(f, v...)) }
func (a slogAdapter) Debugf(f string, v ...any)  { a.l.Debug("nats-server: " + fmt.Sprintf(f, v...)) }
func (a slogAdapter) Tracef(f string, v ...any)  { a.l.Debug("nats-server: " + fmt.Sprintf(f, v...)) }
