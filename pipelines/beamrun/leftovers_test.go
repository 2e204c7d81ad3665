package beamrun

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

func TestMain(m *testing.M) { ptest.Main(m) }

func init() { register.Function2x0(countInts) }

var leftoverInts = beam.NewCounter("leftovers", "in")

func countInts(ctx context.Context, n int) { leftoverInts.Inc(ctx, int64(n)) }

// plant creates name in dir with content, last modified age ago.
func plant(t *testing.T, dir, name, content string, age time.Duration) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-age)
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
	return p
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func TestSweepLoopbackLeftovers(t *testing.T) {
	dir := t.TempDir()
	old := plant(t, dir, "beamloopbackworker-1", "", time.Hour)
	fresh := plant(t, dir, "beamloopbackworker-2", "", time.Minute)
	full := plant(t, dir, "beamloopbackworker-3", "a worker binary", time.Hour)
	other := plant(t, dir, "beamworker-4", "", time.Hour)
	folder := filepath.Join(dir, "beamloopbackworker-5")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	n, err := SweepLoopbackLeftovers(dir, LeftoverAge, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("removed %d (%v), want 1", n, err)
	}
	if exists(old) {
		t.Errorf("%s: an hour-old empty placeholder was kept", old)
	}
	for _, p := range []string{fresh, full, other, folder} {
		if !exists(p) {
			t.Errorf("%s was removed", p)
		}
	}
}

// TestRunSweepsLeftovers runs a pipeline on Prism (LOOPBACK) with TMPDIR pointing at a fresh
// folder: the run leaves Beam's own placeholder there (the behaviour worked around), and removes
// the old one planted before it.
func TestRunSweepsLeftovers(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	old := plant(t, dir, "beamloopbackworker-planted", "", LeftoverAge+time.Minute)
	p, s := beam.NewPipelineWithRoot()
	beam.ParDo0(s, countInts, beam.Create(s, 1, 2, 3))
	c, err := Run(context.Background(), p, nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if c["leftovers.in"] != 6 {
		t.Errorf("counters %v, want leftovers.in 6", c)
	}
	if exists(old) {
		t.Errorf("the planted placeholder %s is still there", old)
	}
	left, _ := filepath.Glob(filepath.Join(dir, LoopbackLeftover))
	if len(left) != 1 {
		t.Errorf("placeholders after the run: %v, want the run's own (Beam's leak; if it is gone, the sweep can go too)", left)
	}
}
