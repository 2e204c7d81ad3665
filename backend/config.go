package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Config names a backend and how to reach it. It is plain data (JSON), so a DoFn can carry it
// and open the backend in Setup. The API key itself is never serialised: APIKeyEnv names the
// environment variable that holds it (APIKey, set in-process by a flag, is json:"-").
type Config struct {
	Name     string `json:"name"`               // "builtin" or "openai"
	URL      string `json:"url,omitempty"`      // openai: base URL ending in /v1
	Model    string `json:"model,omitempty"`    // builtin: checkpoint folder; openai: model id
	Adapter  string `json:"adapter,omitempty"`  // builtin: a LoRA adapter folder (PEFT layout, e.g. a PPO policy) merged into Model
	Revision string `json:"revision,omitempty"` // model revision for the cache key (builtin: weights hash if empty)

	APIKeyEnv string `json:"api_key_env,omitempty"` // default OPENAI_API_KEY
	APIKey    string `json:"-"`

	Concurrency    int           `json:"concurrency,omitempty"`     // requests in flight at most (openai; default 8)
	Timeout        time.Duration `json:"timeout,omitempty"`         // per attempt (default 2 min)
	MaxRetries     int           `json:"max_retries,omitempty"`     // retries after the first attempt (default 4; −1: none)
	BackoffBase    time.Duration `json:"backoff_base,omitempty"`    // first backoff (default 500 ms), doubling, full jitter
	BackoffMax     time.Duration `json:"backoff_max,omitempty"`     // cap on a computed backoff (default 30 s)
	RetryAfterMax  time.Duration `json:"retry_after_max,omitempty"` // cap on a server's Retry-After (default 2 min)
	BreakerFails   int           `json:"breaker_fails,omitempty"`   // failed attempts in a row that open the breaker (default 8)
	BreakerCooloff time.Duration `json:"breaker_cooloff,omitempty"` // how long it stays open (default 30 s)
	ScoreTopN      int           `json:"score_top_n,omitempty"`     // top_logprobs asked for when scoring (default 20)

	CacheDir string `json:"cache_dir,omitempty"` // call cache folder; empty: no cache
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.APIKeyEnv == "" {
		c.APIKeyEnv = "OPENAI_API_KEY"
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.MaxRetries == 0 { // −1 (none) stays: applying the defaults twice must not turn it into 4
		c.MaxRetries = 4
	}
	if c.BreakerFails <= 0 {
		c.BreakerFails = 8
	}
	if c.ScoreTopN <= 0 {
		c.ScoreTopN = 20
	}
	def(&c.Timeout, 2*time.Minute)
	def(&c.BackoffBase, 500*time.Millisecond)
	def(&c.BackoffMax, 30*time.Second)
	def(&c.RetryAfterMax, 2*time.Minute)
	def(&c.BreakerCooloff, 30*time.Second)
	return c
}

// Retries is how many times a failed attempt is retried: MaxRetries, 0 for none (−1).
func (c Config) Retries() int { return max(c.MaxRetries, 0) }

// Key is the API key: APIKey if set, else the environment variable APIKeyEnv names.
func (c Config) Key() string {
	if c.APIKey != "" {
		return c.APIKey
	}
	if c.APIKeyEnv == "" {
		return os.Getenv("OPENAI_API_KEY")
	}
	return os.Getenv(c.APIKeyEnv)
}

// String describes the backend without secrets.
func (c Config) String() string {
	s := c.Name
	if c.URL != "" {
		s += " " + c.URL
	}
	if c.Model != "" {
		s += " model=" + c.Model
	}
	if c.Adapter != "" {
		s += " adapter=" + c.Adapter
	}
	return s
}

// Opener makes a backend from its configuration (defaults already applied).
type Opener func(ctx context.Context, c Config) (Backend, error)

var (
	mu      sync.Mutex
	openers = map[string]Opener{}
	shared  = map[string]*entry{}
	wrapper func(Backend, Config) (Backend, error)
)

// Register makes a backend available by name; backend packages call it from init.
func Register(name string, open Opener) {
	mu.Lock()
	defer mu.Unlock()
	openers[name] = open
}

// RegisterCache installs the call-cache wrapper that Open applies when Config.CacheDir is set
// (package backend/cache does this from init).
func RegisterCache(wrap func(Backend, Config) (Backend, error)) {
	mu.Lock()
	defer mu.Unlock()
	wrapper = wrap
}

// Names lists the registered backends.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	var out []string
	for n := range openers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Open returns the backend c describes. Opens of the same configuration in one process share one
// instance (many DoFn instances on one worker load a checkpoint once); each Open needs its Close.
func Open(ctx context.Context, c Config) (Backend, error) {
	c = c.WithDefaults()
	id, _ := json.Marshal(c)
	key := string(id) + "\x00" + c.Key()
	mu.Lock()
	defer mu.Unlock()
	if e, ok := shared[key]; ok {
		e.refs++
		return &handle{Backend: e.b, entry: e}, nil
	}
	open, ok := openers[c.Name]
	if !ok {
		return nil, fmt.Errorf("%w %q (have %v)", ErrUnknown, c.Name, namesLocked())
	}
	b, err := open(ctx, c)
	if err != nil {
		return nil, err
	}
	if c.CacheDir != "" {
		if wrapper == nil {
			b.Close()
			return nil, fmt.Errorf("backend: cache_dir set but no cache is linked in (import backend/cache)")
		}
		if b, err = wrapper(b, c); err != nil {
			return nil, err
		}
	}
	e := &entry{b: b, key: key, refs: 1}
	shared[key] = e
	return &handle{Backend: b, entry: e}, nil
}

func namesLocked() []string {
	var out []string
	for n := range openers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

type entry struct {
	b    Backend
	key  string
	refs int
}

// handle is one Open's reference to a shared backend.
type handle struct {
	Backend
	entry  *entry
	closed atomic.Bool
}

// Close releases this handle (once); the last handle closes the backend.
func (h *handle) Close() error {
	if h.closed.Swap(true) {
		return nil
	}
	mu.Lock()
	h.entry.refs--
	last := h.entry.refs == 0
	if last {
		delete(shared, h.entry.key)
	}
	mu.Unlock()
	if last {
		return h.entry.b.Close()
	}
	return nil
}
