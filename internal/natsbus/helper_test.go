package natsbus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startServer starts an embedded server on a fresh folder (or dir, if given) and shuts it down
// when the test ends.
func startServer(t testing.TB, opts ...ServerOption) *Server {
	t.Helper()
	s, err := StartEmbedded(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// startPlainServer starts a nats-server without JetStream and shuts it down when the test ends.
func startPlainServer(t testing.TB) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("plain server not ready")
	}
	return srv
}

// connect connects to url without credentials and closes the connection when the test ends.
func connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, js, err := Connect(t.Context(), ConnOptions{URL: url, Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc, js
}

// setup starts a server, connects, and creates the streams for prefix "test".
func setup(t testing.TB, opts ...StreamOption) (*Server, jetstream.JetStream) {
	t.Helper()
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	if err := EnsureStreams(t.Context(), js, "test", opts...); err != nil {
		t.Fatal(err)
	}
	return s, js
}

// checkFor polls f every interval until it returns nil, failing the test after total.
func checkFor(t testing.TB, total, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(interval)
	}
	t.Fatalf("after %v: %v", total, err)
}

// publishN publishes n messages "msg-<i>" with ids "id-<i>" on subject, from i = from.
func publishN(t testing.TB, js jetstream.JetStream, subject string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		dup, err := Publish(t.Context(), js, subject, fmt.Appendf(nil, "msg-%d", i), fmt.Sprintf("id-%d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if dup {
			t.Fatalf("id-%d: unexpected duplicate", i)
		}
	}
}

// fetchAll fetches until want messages arrived, without acking them.
func fetchAll(t testing.TB, c *Consumer, want int) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var msgs []jetstream.Msg
	for len(msgs) < want {
		got, err := c.Fetch(ctx, want-len(msgs), 2*time.Second)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(msgs), want, err)
		}
		msgs = append(msgs, got...)
	}
	return msgs
}

func bodies(msgs []jetstream.Msg) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Data())
	}
	return out
}
