package cache_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/backend/builtin"
	"github.com/vrlaif/vrlaif/backend/cache"
)

func openModel(t *testing.T) *builtin.Builtin {
	t.Helper()
	b, err := builtin.Load(backendtest.Checkpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// batch is a small workload: chat requests with different seeds and frames, and a score.
func batch(t *testing.T, c backend.Backend) []any {
	t.Helper()
	ctx := context.Background()
	var out []any
	for i := range 4 {
		r, err := c.Chat(ctx, backendtest.Question(backendtest.Frames(t, 3+i), 2, int64(i)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Choices)
	}
	s, err := c.Score(ctx, &backend.ScoreRequest{Messages: []backend.Message{backend.VideoMessage(backendtest.Frames(t, 3), "A or B?")},
		Continuations: []string{"A", "B"}, Template: "judge-v1"})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, s.LogProbs)
}

// Re-running a batch with the cache warm (a new Cached over the same folder, as a new process
// would open it) makes zero model calls and returns the same answers.
func TestWarmRerunMakesNoCalls(t *testing.T) {
	m := openModel(t)
	dir := t.TempDir()
	st, _ := cache.Open(dir)
	first := batch(t, cache.Wrap(m, st))
	if calls := m.Stats().Calls; calls != 5 {
		t.Fatalf("cold run: %d model calls, want 5", calls)
	}
	st2, _ := cache.Open(dir)
	warm := cache.Wrap(m, st2)
	second := batch(t, warm)
	if calls := m.Stats().Calls; calls != 5 {
		t.Errorf("warm run made %d more model calls", calls-5)
	}
	if !reflect.DeepEqual(first, second) {
		t.Error("warm run returned different answers")
	}
	if s := warm.Stats(); s.CacheHits != 9 || s.CacheMisses != 0 { // 4 requests × 2 samples + 1 score
		t.Errorf("stats %+v: want 9 hits", s)
	}
}

// Sample i is cached under its own key: asking for 4 after 2 calls the model once and keeps the
// first two as stored; asking for 3 then is free.
func TestSamplesCachedByIndex(t *testing.T) {
	m := openModel(t)
	st, _ := cache.Open(t.TempDir())
	c := cache.Wrap(m, st)
	frames := backendtest.Frames(t, 4)
	two, _ := c.Chat(context.Background(), backendtest.Question(frames, 2, 3))
	four, err := c.Chat(context.Background(), backendtest.Question(frames, 4, 3))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(two.Choices, four.Choices[:2]) || four.Cached != 2 || m.Stats().Calls != 2 {
		t.Errorf("n=4 after n=2: cached %d, %d model calls", four.Cached, m.Stats().Calls)
	}
	three, _ := c.Chat(context.Background(), backendtest.Question(frames, 3, 3))
	if !reflect.DeepEqual(three.Choices, four.Choices[:3]) || m.Stats().Calls != 2 {
		t.Errorf("n=3 after n=4 called the model")
	}
	if n, _ := st.Len(); n != 4 {
		t.Errorf("%d entries, want 4", n)
	}
}

// Everything in the key matters: a changed frame, template, seed, temperature or model revision
// is a miss.
func TestKeyCoversInputs(t *testing.T) {
	m := openModel(t)
	st, _ := cache.Open(t.TempDir())
	c := cache.Wrap(m, st)
	frames := backendtest.Frames(t, 4)
	base := func() *backend.ChatRequest { return backendtest.Question(frames, 1, 1) }
	c.Chat(context.Background(), base())
	changed := map[string]func(r *backend.ChatRequest){
		"frame":       func(r *backend.ChatRequest) { r.Messages[0].Parts[2].Image = backendtest.Frames(t, 6)[5] },
		"template":    func(r *backend.ChatRequest) { r.Template = "conformance-v2" },
		"seed":        func(r *backend.ChatRequest) { r.Seed = 2 },
		"temperature": func(r *backend.ChatRequest) { r.Temperature = 0.5 },
		"question":    func(r *backend.ChatRequest) { r.Messages[0].Parts[4].Text += "?" },
	}
	calls := m.Stats().Calls
	for name, change := range changed {
		r := base()
		change(r)
		resp, err := c.Chat(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Cached != 0 || m.Stats().Calls != calls+1 {
			t.Errorf("changed %s: served from the cache", name)
		}
		calls = m.Stats().Calls
	}
	relabelled, err := builtin.Load(filepath.Dir(backendtest.Checkpoint(t))+"/tiny", "another-revision")
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := cache.Wrap(relabelled, st).Chat(context.Background(), base()); resp.Cached != 0 {
		t.Error("another model revision was served from the cache")
	}
}

// Two caches on one folder (two workers) with many goroutines each asking the same questions:
// every caller gets the same answer, and the folder holds exactly one entry per key and no
// temporary files.
func TestConcurrentWriters(t *testing.T) {
	m := openModel(t)
	dir := t.TempDir()
	var caches []*cache.Cached
	for range 2 {
		st, _ := cache.Open(dir)
		caches = append(caches, cache.Wrap(m, st))
	}
	frames := backendtest.Frames(t, 3)
	var mu sync.Mutex
	answers := map[int64][]backend.Choice{}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			seed := int64(w % 4)
			r, err := caches[w%2].Chat(context.Background(), backendtest.Question(frames, 2, seed))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if prev, ok := answers[seed]; ok && !reflect.DeepEqual(prev, r.Choices) {
				t.Errorf("seed %d: two different answers", seed)
			}
			answers[seed] = r.Choices
		})
	}
	wg.Wait()
	n, _ := cache.Open(dir)
	if k, _ := n.Len(); k != 8 {
		t.Errorf("%d entries, want 8 (4 seeds × 2 samples)", k)
	}
	tmp, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*"))
	if len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// An unreadable entry (cut short by a full disk) is a miss, and the next answer replaces it.
func TestCorruptEntryIsReplaced(t *testing.T) {
	m := openModel(t)
	dir := t.TempDir()
	st, _ := cache.Open(dir)
	c := cache.Wrap(m, st)
	frames := backendtest.Frames(t, 3)
	want, _ := c.Chat(context.Background(), backendtest.Question(frames, 1, 4))
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.entry"))
	if len(files) != 1 {
		t.Fatalf("%d entries", len(files))
	}
	os.WriteFile(files[0], []byte("\x1f\xff\x81\x03"), 0o644)
	got, err := c.Chat(context.Background(), backendtest.Question(frames, 1, 4))
	if err != nil || got.Cached != 0 || !reflect.DeepEqual(got.Choices, want.Choices) {
		t.Fatalf("after corruption: %v, cached %d", err, got.Cached)
	}
	again, _ := c.Chat(context.Background(), backendtest.Question(frames, 1, 4))
	if again.Cached != 1 {
		t.Error("the replaced entry was not stored")
	}
}

// Writers in separate processes race to store different bytes under the same keys: each key ends
// with exactly one writer's complete bytes, and every process reads back those same bytes.
func TestWritersInSeparateProcesses(t *testing.T) {
	if dir := os.Getenv("VRLAIF_CACHE_WRITER_DIR"); dir != "" {
		st, _ := cache.Open(dir)
		me := os.Getenv("VRLAIF_CACHE_WRITER")
		for i := range 200 {
			k := cache.Key{byte(i)}
			st.Put(k, []byte(strings.Repeat(me, 1000+i)))
			got, ok, err := st.Get(k)
			if !ok || err != nil || len(got) != 1000+i {
				fmt.Printf("BAD key %d: ok %v err %v len %d\n", i, ok, err, len(got))
			}
		}
		return
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	outs := make([][]byte, 4)
	for p := range 4 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestWritersInSeparateProcesses$")
			cmd.Env = append(os.Environ(), "VRLAIF_CACHE_WRITER_DIR="+dir, fmt.Sprintf("VRLAIF_CACHE_WRITER=%c", 'a'+p))
			outs[p], _ = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	for p, out := range outs {
		if strings.Contains(string(out), "BAD") || !strings.Contains(string(out), "PASS") {
			t.Errorf("writer %d: %s", p, out)
		}
	}
	st, _ := cache.Open(dir)
	for i := range 200 {
		got, ok, _ := st.Get(cache.Key{byte(i)})
		if !ok || len(got) != 1000+i || strings.Count(string(got), string(got[:1])) != len(got) {
			t.Fatalf("key %d: %d bytes, mixed writers or cut short", i, len(got))
		}
	}
}

// The cached backend is a backend like any other.
func TestConformanceCached(t *testing.T) {
	st, _ := cache.Open(t.TempDir())
	backendtest.Run(t, cache.Wrap(openModel(t), st))
}

// A response served from the cache reports the usage of the call that made it, so rows that
// record token counts are the same whether or not the call was cached.
func TestCachedUsageMatchesFresh(t *testing.T) {
	m := openModel(t)
	st, _ := cache.Open(t.TempDir())
	c := cache.Wrap(m, st)
	r := backendtest.Question(backendtest.Frames(t, 3), 2, 8)
	fresh, _ := c.Chat(context.Background(), r)
	cached, _ := c.Chat(context.Background(), r)
	if cached.Cached != 2 || cached.Usage != fresh.Usage || fresh.Usage.CompletionTokens == 0 {
		t.Errorf("fresh usage %+v, cached %+v (cached %d)", fresh.Usage, cached.Usage, cached.Cached)
	}
}
