package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrAuthorization is wrapped by Connect's error when the server refused the credentials.
var ErrAuthorization = errors.New("authorization failed")

// ConnOptions says how to reach a NATS server. It is plain data so that command-line flags map
// onto it one to one. At most one kind of credential may be set: User+Password, Token,
// CredsFile or NKeySeedFile (or userinfo in URL).
type ConnOptions struct {
	URL          string // nats://host:port; several comma-separated for a cluster
	User         string
	Password     string
	Token        string
	CredsFile    string // a .creds file (JWT + nkey seed)
	NKeySeedFile string // a file holding a user nkey seed
	TLSCert      string // client certificate (PEM); needs TLSKey
	TLSKey       string // client key (PEM)
	TLSCA        string // CA bundle (PEM) that signed the server's certificate
	Name         string // connection name shown by the server's monitoring

	// ConnectTimeout bounds the first connection (default 5 s, or less if ctx ends sooner).
	ConnectTimeout time.Duration
	// APITimeout is the JetStream API request timeout when ctx has no deadline (default 10 s).
	APITimeout time.Duration
}

// String shows o with its secrets (password, token, userinfo in URL) replaced, so that printing
// the options, by mistake or in a debug log, never leaks them. File paths are shown.
func (o ConnOptions) String() string {
	hide := func(s string) string {
		if s == "" {
			return ""
		}
		return "REDACTED"
	}
	return fmt.Sprintf("{URL:%s User:%s Password:%s Token:%s CredsFile:%s NKeySeedFile:%s TLSCert:%s TLSKey:%s TLSCA:%s "+
		"Name:%s ConnectTimeout:%v APITimeout:%v}",
		RedactURL(o.URL), o.User, hide(o.Password), hide(o.Token), o.CredsFile, o.NKeySeedFile,
		o.TLSCert, o.TLSKey, o.TLSCA, o.Name, o.ConnectTimeout, o.APITimeout)
}

// GoString makes %#v print o as String does.
func (o ConnOptions) GoString() string { return "natsbus.ConnOptions" + o.String() }

// LogValue makes slog print o as String does.
func (o ConnOptions) LogValue() slog.Value { return slog.StringValue(o.String()) }

const (
	defaultConnectTimeout = 5 * time.Second
	defaultAPITimeout     = 10 * time.Second
	reconnectMin          = 100 * time.Millisecond
	reconnectMax          = 5 * time.Second
)

// Connect connects to o.URL, checks that JetStream answers, and returns the connection and a
// JetStream context on it. The connection reconnects forever with jittered exponential
// backoff (100 ms to 5 s); disconnects and reconnects are logged with slog.Default. A refused
// credential gives an error wrapping ErrAuthorization that names the URL without its secrets.
func Connect(ctx context.Context, o ConnOptions) (*nats.Conn, jetstream.JetStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("natsbus: connect: %w", err)
	}
	shown := RedactURL(o.URL)
	natsOpts, authKind, err := o.natsOptions(ctx, shown)
	if err != nil {
		return nil, nil, fmt.Errorf("natsbus: connect %s: %w", shown, err)
	}
	nc, err := nats.Connect(o.URL, natsOpts...)
	if err != nil {
		if isAuthError(err) {
			return nil, nil, fmt.Errorf("natsbus: connect %s: %w (%s): %w", shown, ErrAuthorization, authKind, err)
		}
		return nil, nil, fmt.Errorf("natsbus: connect %s: %w", shown, err)
	}
	apiTimeout := o.APITimeout
	if apiTimeout <= 0 {
		apiTimeout = defaultAPITimeout
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(apiTimeout))
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("natsbus: connect %s: %w", shown, err)
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		nc.Close()
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, nil, fmt.Errorf("natsbus: connect %s: JetStream is not enabled (on the server or for this account): %w", shown, err)
		}
		return nil, nil, fmt.Errorf("natsbus: connect %s: JetStream account info: %w", shown, err)
	}
	return nc, js, nil
}

// natsOptions turns o into nats.go options and names the kind of credential used (for
// errors: never the credential itself).
func (o ConnOptions) natsOptions(ctx context.Context, shown string) ([]nats.Option, string, error) {
	if strings.TrimSpace(o.URL) == "" {
		return nil, "", errors.New("no server URL")
	}
	kinds := []string{}
	if o.User != "" || o.Password != "" {
		kinds = append(kinds, "user/password")
	}
	if o.Token != "" {
		kinds = append(kinds, "token")
	}
	if o.CredsFile != "" {
		kinds = append(kinds, "creds file")
	}
	if o.NKeySeedFile != "" {
		kinds = append(kinds, "nkey seed")
	}
	if len(kinds) > 1 {
		return nil, "", fmt.Errorf("more than one kind of credential set: %s", strings.Join(kinds, ", "))
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, "", errors.New("TLS client certificate and key must be given together")
	}
	authKind := "no credentials"
	if len(kinds) == 1 {
		authKind = kinds[0] + " credentials"
	} else if urlHasUserinfo(o.URL) {
		authKind = "credentials in the URL"
	}

	timeout := o.ConnectTimeout
	if timeout <= 0 {
		timeout = defaultConnectTimeout
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	log := slog.Default()
	where := func(nc *nats.Conn) string {
		if u := nc.ConnectedUrlRedacted(); u != "" {
			return u
		}
		return shown
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.PingInterval(20 * time.Second),
		nats.MaxPingsOutstanding(3),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				log.Warn("natsbus: disconnected", "url", where(nc), "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("natsbus: reconnected", "url", where(nc))
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				log.Warn("natsbus: connection closed", "url", shown, "err", err)
			}
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("natsbus: async error", "subject", subj, "err", err)
		}),
	}
	switch {
	case o.User != "" || o.Password != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	case o.Token != "":
		opts = append(opts, nats.Token(o.Token))
	case o.CredsFile != "":
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	case o.NKeySeedFile != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKeySeedFile)
		if err != nil {
			// nats.go's message names the file and the problem, not the seed.
			return nil, "", fmt.Errorf("nkey seed file %s: %w", o.NKeySeedFile, err)
		}
		opts = append(opts, opt)
	}
	if o.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	return opts, authKind, nil
}

// reconnectDelay is the wait before the next pass over the server list: exponential from
// 100 ms, capped at 5 s, with up to 25 % jitter so that many actors do not reconnect in step.
func reconnectDelay(attempts int) time.Duration {
	d := reconnectMax
	if attempts < 16 {
		d = min(reconnectMin<<attempts, reconnectMax)
	}
	return d + rand.N(d/4+1)
}

func isAuthError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || errors.Is(err, nats.ErrAccountAuthExpired)
}

// RedactURL returns a comma-separated server list with any userinfo (user, password, token)
// removed, for errors and logs.
func RedactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		withScheme := p
		if !strings.Contains(p, "://") {
			withScheme = "nats://" + p
		}
		u, err := url.Parse(withScheme)
		if err != nil {
			parts[i] = "<unparsable URL>"
			continue
		}
		if u.User != nil {
			u.User = url.User("REDACTED")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

func urlHasUserinfo(urls string) bool {
	for _, p := range strings.Split(urls, ",") {
		if strings.Contains(p, "@") {
			return true
		}
	}
	return false
}
