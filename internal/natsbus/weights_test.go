package natsbus

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// writeCheckpoint writes a checkpoint-like folder: random "weights" of size bytes, a config,
// an optimizer state and a LoRA subfolder.
func writeCheckpoint(t *testing.T, dir string, size int, seed uint64) map[string][]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	weights := make([]byte, size)
	for i := range weights {
		weights[i] = byte(rng.Uint32())
	}
	files := map[string][]byte{
		"model.safetensors":        weights,
		"config.json":              []byte(`{"hidden_size": 32}`),
		"tokenizer.json":           []byte(`{"model": {"vocab": {}}}`),
		"lora/adapter.safetensors": weights[:1000],
		"optimizer.safetensors":    []byte("not for actors"),
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func TestWeightsRoundTrip(t *testing.T) {
	_, js := setup(t)
	ctx := t.Context()
	if _, err := LatestVersion(ctx, js, "weights"); !errors.Is(err, ErrNoWeights) {
		t.Fatalf("LatestVersion of a missing bucket: %v, want ErrNoWeights", err)
	}

	src := t.TempDir()
	files := writeCheckpoint(t, src, 12<<20+123, 1)
	for _, v := range []int{1, 3} {
		if err := PutWeights(ctx, js, "weights", v, src, Exclude("optimizer.safetensors")); err != nil {
			t.Fatal(err)
		}
	}
	// Re-putting an older version replaces it but does not move latest back.
	if err := PutWeights(ctx, js, "weights", 2, filepath.Join(src, "config.json")); err != nil {
		t.Fatal(err)
	}
	if v, err := LatestVersion(ctx, js, "weights"); err != nil || v != 3 {
		t.Fatalf("LatestVersion = %d, %v; want 3", v, err)
	}
	if vs, err := Versions(ctx, js, "weights"); err != nil || !slices.Equal(vs, []int{1, 2, 3}) {
		t.Fatalf("Versions = %v, %v; want [1 2 3]", vs, err)
	}

	dst := filepath.Join(t.TempDir(), "v3")
	if err := GetWeights(ctx, js, "weights", 3, dst); err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(name)))
		if name == "optimizer.safetensors" {
			if err == nil {
				t.Errorf("%s was stored despite Exclude", name)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes differ from the %d put", name, len(got), len(want))
		}
	}
	// A single file comes back as a folder holding it.
	one := filepath.Join(t.TempDir(), "v2")
	if err := GetWeights(ctx, js, "weights", 2, one); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(one, "config.json")); err != nil || !bytes.Equal(got, files["config.json"]) {
		t.Errorf("single file: %q, %v", got, err)
	}
	// Errors: a folder in the way, a version that does not exist.
	if err := GetWeights(ctx, js, "weights", 3, dst); err == nil {
		t.Error("GetWeights overwrote a non-empty folder")
	}
	if err := GetWeights(ctx, js, "weights", 9, filepath.Join(t.TempDir(), "v9")); err == nil ||
		!strings.Contains(err.Error(), "no such version") {
		t.Errorf("missing version: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".*tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary folders left behind: %v", leftovers)
	}

	if n, err := PruneWeights(ctx, js, "weights", 1); err != nil || n != 2 {
		t.Fatalf("PruneWeights kept 1: deleted %d, %v; want 2", n, err)
	}
	if vs, _ := Versions(ctx, js, "weights"); !slices.Equal(vs, []int{3}) {
		t.Errorf("after prune, versions %v, want [3]", vs)
	}
}

func TestPutWeightsTooLarge(t *testing.T) {
	_, js := setup(t)
	src := t.TempDir()
	// A sparse file: the size check happens before anything is read.
	f, err := os.Create(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxObjectBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	err = PutWeights(t.Context(), js, "weights", 1, src)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "256 MiB") {
		t.Fatalf("error %v: want ErrTooLarge naming the 256 MiB limit", err)
	}
	t.Log(err)
	if _, err := LatestVersion(t.Context(), js, "weights"); !errors.Is(err, ErrNoWeights) {
		t.Errorf("a refused put published something: %v", err)
	}
}

// A JetStream request that is never answered (one in flight when the server restarts) fails
// after requestTimeout, with an error the callers retry, rather than waiting out the caller's
// whole deadline. The server here has no JetStream; a subscriber takes the API requests and never
// replies, as a restarted server never replies to a request the old one received.
func TestWeightsRequestsNeverAnsweredFailFast(t *testing.T) {
	srv := startPlainServer(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sink, err := nc.SubscribeSync("$JS.API.>") // swallows every request
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Unsubscribe()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { requestTimeout = d }(requestTimeout)
	requestTimeout = 300 * time.Millisecond
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func(context.Context) error{
		"PutWeights":    func(ctx context.Context) error { return PutWeights(ctx, js, "weights", 1, dir) },
		"LatestVersion": func(ctx context.Context) error { _, err := LatestVersion(ctx, js, "weights"); return err },
	} {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // the learner's is two minutes
		start := time.Now()
		err := call(ctx)
		took := time.Since(start)
		cancel()
		if err == nil || !transient(err) {
			t.Errorf("%s: %v, want a transient error", name, err)
		}
		// 300 ms asked; 5 s is far below the caller's minute and far above any scheduling delay
		if took > 5*time.Second {
			t.Errorf("%s took %v with requests never answered, want about %v", name, took, requestTimeout)
		}
		t.Logf("%s: %v after %v", name, err, took.Round(time.Millisecond))
	}
}
