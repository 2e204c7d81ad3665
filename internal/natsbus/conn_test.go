package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestConnectAuthorization(t *testing.T) {
	s := startServer(t, WithUserPassword("learner", "right-pass"))
	host := strings.TrimPrefix(s.ClientURL(), "nats://")
	tests := []struct {
		name    string
		opts    ConnOptions
		wantErr bool
		secret  string // must not appear in the error
	}{
		{name: "right password", opts: ConnOptions{URL: s.ClientURL(), User: "learner", Password: "right-pass"}},
		{name: "right password in URL", opts: ConnOptions{URL: "nats://learner:right-pass@" + host}},
		{name: "wrong password", opts: ConnOptions{URL: s.ClientURL(), User: "learner", Password: "wrong-pass"},
			wantErr: true, secret: "wrong-pass"},
		{name: "wrong password in URL", opts: ConnOptions{URL: "nats://learner:wrong-pass@" + host},
			wantErr: true, secret: "wrong-pass"},
		{name: "token instead", opts: ConnOptions{URL: s.ClientURL(), Token: "tok-secret"},
			wantErr: true, secret: "tok-secret"},
		{name: "no credentials", opts: ConnOptions{URL: s.ClientURL()}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, _, err := Connect(t.Context(), tt.opts)
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				nc.Close()
				return
			}
			if err == nil {
				nc.Close()
				t.Fatal("connected, want an authorization error")
			}
			t.Log(err)
			msg := err.Error()
			if !errors.Is(err, ErrAuthorization) || !strings.Contains(msg, "authorization") {
				t.Errorf("error %q: want one wrapping ErrAuthorization", msg)
			}
			if !strings.Contains(msg, host) {
				t.Errorf("error %q does not name the server %s", msg, host)
			}
			if tt.secret != "" && strings.Contains(msg, tt.secret) {
				t.Errorf("error %q shows the secret", msg)
			}
		})
	}
}

func TestConnectErrors(t *testing.T) {
	tests := []struct {
		name string
		opts ConnOptions
		want string
	}{
		{name: "no URL", opts: ConnOptions{}, want: "no server URL"},
		{name: "two credentials", opts: ConnOptions{URL: "nats://127.0.0.1:1", User: "u", Password: "p", Token: "t"},
			want: "more than one kind of credential"},
		{name: "cert without key", opts: ConnOptions{URL: "nats://127.0.0.1:1", TLSCert: "c.pem"},
			want: "certificate and key"},
		{name: "missing nkey seed", opts: ConnOptions{URL: "nats://127.0.0.1:1", NKeySeedFile: "/nonexistent/seed.nk"},
			want: "nkey seed file"},
		{name: "nobody listening", opts: ConnOptions{URL: "nats://u:hidden@127.0.0.1:1", ConnectTimeout: time.Second},
			want: "nats://REDACTED@127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, _, err := Connect(t.Context(), tt.opts)
			if err == nil {
				nc.Close()
				t.Fatal("connected, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hidden") {
				t.Errorf("error %q: want it to contain %q and no secret", err, tt.want)
			}
		})
	}
}

func TestConnectWithoutJetStream(t *testing.T) {
	srv := startPlainServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	nc, _, err := Connect(ctx, ConnOptions{URL: srv.ClientURL(), APITimeout: time.Second})
	if err == nil {
		nc.Close()
		t.Fatal("connected, want a JetStream error")
	}
	if !strings.Contains(err.Error(), "JetStream is not enabled") {
		t.Errorf("error %q does not say JetStream is not enabled", err)
	}
	t.Log(err)
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://user:pass@h:4222", "nats://REDACTED@h:4222"},
		{"nats://sometoken@h:4222", "nats://REDACTED@h:4222"},
		{"tls://a:1, nats://u:p@b:2", "tls://a:1,nats://REDACTED@b:2"},
		{"h:4222", "nats://h:4222"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestConnOptionsHideSecrets(t *testing.T) {
	o := ConnOptions{URL: "nats://u:pw-in-url@h:1", User: "u", Password: "pw-secret", Token: "tok-secret"}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("connecting", "opts", o)
	for _, s := range []string{fmt.Sprint(o), fmt.Sprintf("%+v", o), fmt.Sprintf("%#v", o), buf.String()} {
		for _, secret := range []string{"pw-in-url", "pw-secret", "tok-secret"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows %s", s, secret)
			}
		}
	}
}
