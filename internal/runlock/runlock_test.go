package runlock

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// A second run into a held folder is refused, naming the holder; after Release it gets in.
func TestSecondRunIsRefusedWhileTheFirstHolds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	first, err := Acquire(dir, "generate")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, "feedback")
	if err == nil {
		t.Fatal("second Acquire succeeded while the first holds the lock")
	}
	if want := "('generate', pid "; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
		t.Errorf("refusal %q does not name the holder (%q) and the folder", err, want)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := Acquire(dir, "feedback")
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	again.Release()
}

// The kernel drops the lock of a process that ends without releasing it: a killed run never
// leaves the folder locked. The holder here is a shell's flock(1) on the same file, killed.
func TestLockOfAKilledProcessIsFree(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) not installed")
	}
	dir := t.TempDir()
	cmd := exec.Command("flock", "--no-fork", "--exclusive", filepath.Join(dir, File), "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until flock holds it: Acquire fails while it does.
	for i := 0; ; i++ {
		l, err := Acquire(dir, "probe")
		if err != nil {
			break
		}
		l.Release()
		if i == 1000 {
			cmd.Process.Kill()
			t.Fatal("flock(1) never took the lock")
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Acquire(dir, "generate")
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	l.Release()
}

// RemoveStaleTemps removes the temporary files of each writer's pattern and nothing else.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	files := map[string]bool{ // name → removed
		"responses/.part-0123456789abcdef.parquet.4242.tmp": true, // parquetio shard
		"deadletter/.part-00003.parquet.tmp":                true, // internal/dataset
		".summary.json.tmp-99":                              true, // internal/atomicfile
		"cache/ab/.tmp-123":                                 true, // call cache
		"responses/part-0123456789abcdef.parquet":           false,
		"summary.json":                                      false,
		".hidden-notes":                                     false,
		"notes.tmp":                                         false, // not hidden: not ours
		File:                                                false,
	}
	for name := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n, err := RemoveStaleTemps(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wrong []string
	removed := 0
	for name, gone := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if os.IsNotExist(err) != gone {
			wrong = append(wrong, name)
		}
		if gone {
			removed++
		}
	}
	sort.Strings(wrong)
	if len(wrong) > 0 || n != removed {
		t.Errorf("removed %d (want %d); wrong for %v", n, removed, wrong)
	}
}
