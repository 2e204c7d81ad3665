package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/vrlaif/vrlaif/backend"
)

func init() {
	backend.RegisterCache(func(b backend.Backend, c backend.Config) (backend.Backend, error) {
		st, err := Open(c.CacheDir)
		if err != nil {
			return nil, err
		}
		return Wrap(b, st), nil
	})
}

// KeyVersion changes when the key's recipe or the entry format changes, so old entries are never
// read with a new meaning.
const KeyVersion = "vrlaif-call-cache-v3"

// Cached is a backend behind the call cache.
type Cached struct {
	inner    backend.Backend
	store    *Store
	counters backend.Counters
	// inflight makes concurrent identical calls in this process wait for one model call.
	mu       sync.Mutex
	inflight map[Key]*sync.WaitGroup
}

// Wrap puts b behind the cache in st.
func Wrap(b backend.Backend, st *Store) *Cached {
	return &Cached{inner: b, store: st, inflight: map[Key]*sync.WaitGroup{}}
}

// Info is the wrapped backend's.
func (c *Cached) Info() backend.Info { return c.inner.Info() }

// Close closes the wrapped backend.
func (c *Cached) Close() error { return c.inner.Close() }

// Stats adds the cache's hits and misses to the wrapped backend's totals.
func (c *Cached) Stats() backend.Stats { return c.inner.Stats().Add(c.counters.Snapshot()) }

// hashedPart is a message part in the key: text as is, an image by its SHA-256.
type hashedPart struct {
	Text  []byte `json:"t,omitempty"` // bytes, not string: JSON would fold invalid UTF-8 together
	Image []byte `json:"i,omitempty"`
}

type hashedMessage struct {
	Role  string       `json:"r"`
	Parts []hashedPart `json:"p"`
}

func hashMessages(ms []backend.Message) []hashedMessage {
	out := make([]hashedMessage, len(ms))
	for i, m := range ms {
		out[i].Role = m.Role
		for _, p := range m.Parts {
			hp := hashedPart{Text: []byte(p.Text)}
			if p.Image != nil {
				h := sha256.Sum256(p.Image)
				hp.Image = h[:]
			}
			out[i].Parts = append(out[i].Parts, hp)
		}
	}
	return out
}

// chatKeys returns the key of each sample of r: everything that decides sample i's text, and i.
// N is not in it (sample i is the same whether 2 or 4 were asked for: seeds are per sample).
func chatKeys(info backend.Info, r *backend.ChatRequest) []Key {
	base, _ := json.Marshal(struct {
		V           string
		Info        backend.Info
		Template    string
		Messages    []hashedMessage
		Temperature float64
		TopP        float64
		TopK        int
		MaxTokens   int
		Stop        []string
		Seed        int64
		LogProbs    bool
		TopLogProbs int
	}{KeyVersion, info, r.Template, hashMessages(r.Messages), r.Temperature, r.TopP, r.TopK, r.MaxTokens,
		r.Stop, r.Seed, r.LogProbs, r.TopLogProbs})
	keys := make([]Key, r.Samples())
	for i := range keys {
		h := sha256.New()
		h.Write([]byte("chat\x00"))
		h.Write(base)
		binary.Write(h, binary.LittleEndian, uint64(i))
		copy(keys[i][:], h.Sum(nil))
	}
	return keys
}

func scoreKey(info backend.Info, r *backend.ScoreRequest) Key {
	b, _ := json.Marshal(struct {
		V             string
		Info          backend.Info
		Template      string
		Messages      []hashedMessage
		Continuations []string
	}{KeyVersion, info, r.Template, hashMessages(r.Messages), r.Continuations})
	return sha256.Sum256(append([]byte("score\x00"), b...))
}

// Chat serves each sample from the cache when every one is there; otherwise it makes one call for
// all N and stores the samples it did not have (samples already stored are returned as stored, so
// everyone downstream sees one answer per key).
func (c *Cached) Chat(ctx context.Context, r *backend.ChatRequest) (*backend.ChatResponse, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	keys := chatKeys(c.Info(), r)
	release := c.claim(keys[0])
	defer release()
	got := make([]*entry, len(keys))
	hits := 0
	for i, k := range keys {
		if e, ok := c.getChoice(k); ok {
			got[i], hits = e, hits+1
		}
	}
	c.counters.Cache(hits, len(keys)-hits)
	resp := &backend.ChatResponse{Model: c.Info().Model, Choices: make([]backend.Choice, len(keys)), Cached: hits}
	if hits == len(keys) {
		same := true
		for i, e := range got {
			resp.Choices[i] = e.Choice
			same = same && e.N == len(keys) && e.Usage == got[0].Usage
		}
		if same { // all from one call like this one: its usage
			resp.Usage = got[0].Usage
		} else {
			resp.Usage = backend.Usage{PromptTokens: got[0].Usage.PromptTokens}
			for _, e := range got {
				resp.Usage.CompletionTokens += e.Usage.CompletionTokens / max(e.N, 1)
			}
		}
		return resp, nil
	}
	fresh, err := c.inner.Chat(ctx, r)
	if err != nil {
		return nil, err
	}
	if len(fresh.Choices) != len(keys) {
		return nil, fmt.Errorf("%w: asked for %d samples, got %d", backend.ErrBadResponse, len(keys), len(fresh.Choices))
	}
	resp.Usage, resp.Model = fresh.Usage, fresh.Model
	for i, k := range keys {
		if got[i] != nil {
			resp.Choices[i] = got[i].Choice
			continue
		}
		resp.Choices[i] = fresh.Choices[i]
		data, err := encode(entry{Choice: fresh.Choices[i], Usage: fresh.Usage, N: len(keys)})
		if err != nil {
			return nil, err
		}
		if wrote, err := c.store.Put(k, data); err != nil {
			return nil, err
		} else if !wrote { // another writer stored it first: use theirs
			if e, ok := c.getChoice(k); ok {
				resp.Choices[i] = e.Choice
			}
		}
	}
	return resp, nil
}

// entry is what the cache keeps per sample: the choice, and the usage of the call that made it
// (so that a response served from the cache reports the same usage as the fresh one did).
type entry struct {
	Choice backend.Choice
	Usage  backend.Usage
	N      int
}

// getChoice reads an entry; an unreadable one (a disk that filled up mid-write elsewhere) counts
// as missing and is overwritten by the next call's answer.
func (c *Cached) getChoice(k Key) (*entry, bool) {
	data, ok, err := c.store.Get(k)
	if err != nil || !ok {
		return nil, false
	}
	var e entry
	if decode(data, &e) != nil {
		c.store.Remove(k) // drop it; Put will write the fresh answer
		return nil, false
	}
	return &e, true
}

// Score is cached as one entry per request.
func (c *Cached) Score(ctx context.Context, r *backend.ScoreRequest) (*backend.ScoreResponse, error) {
	k := scoreKey(c.Info(), r)
	release := c.claim(k)
	defer release()
	if data, ok, err := c.store.Get(k); err == nil && ok {
		var resp backend.ScoreResponse
		if decode(data, &resp) == nil && len(resp.LogProbs) == len(r.Continuations) {
			c.counters.Cache(1, 0)
			resp.Cached = true // Usage is the original call's: what the answer cost, not this call
			return &resp, nil
		}
	}
	c.counters.Cache(0, 1)
	resp, err := c.inner.Score(ctx, r)
	if err != nil {
		return nil, err
	}
	data, err := encode(resp)
	if err != nil {
		return nil, err
	}
	if _, err := c.store.Put(k, data); err != nil {
		return nil, err
	}
	return resp, nil
}

// claim serialises calls with the same key in this process: the second waits for the first and
// then finds its answer in the store.
func (c *Cached) claim(k Key) func() {
	for {
		c.mu.Lock()
		wg, busy := c.inflight[k]
		if !busy {
			wg = &sync.WaitGroup{}
			wg.Add(1)
			c.inflight[k] = wg
			c.mu.Unlock()
			return func() {
				c.mu.Lock()
				delete(c.inflight, k)
				c.mu.Unlock()
				wg.Done()
			}
		}
		c.mu.Unlock()
		wg.Wait()
	}
}

// Entries are gob: unlike JSON it keeps a token's bytes when they are not valid UTF-8 (half of a
// multi-byte character), so a cached answer is bit-identical to the fresh one.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return buf.Bytes(), nil
}

func decode(data []byte, v any) error { return gob.NewDecoder(bytes.NewReader(data)).Decode(v) }
