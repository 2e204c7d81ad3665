package deadletters

import (
	"path/filepath"
	"testing"

	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

func dead(stage, ref string) schemas.DeadLetter {
	return schemas.DeadLetter{ID: schemas.DeadLetterID(stage, ref), Stage: stage, InputRef: ref, ErrorKind: "timeout"}
}

func write(t *testing.T, dir string, rows ...schemas.DeadLetter) {
	t.Helper()
	if err := dataset.WriteAll(dir, schemas.RowDeadLetter, 0, rows...); err != nil {
		t.Fatal(err)
	}
}

func refs(t *testing.T, dir string) map[string]int {
	t.Helper()
	rows, err := dataset.ReadAll[schemas.DeadLetter](dir)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range rows {
		n[r.InputRef]++
	}
	return n
}

func TestPruneRemovesResolvedAndRepeats(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deadletter")
	write(t, dir, dead("responses", "c1/q1"), dead("responses", "c1/q2"))
	write(t, dir, dead("responses", "c1/q2"), dead("input", "m.jsonl#3")) // a crash between a rewrite's two steps leaves repeats
	n, err := Prune(dir, func(d schemas.DeadLetter) bool { return d.InputRef == "c1/q1" })
	if err != nil {
		t.Fatal(err)
	}
	if got := refs(t, dir); n != 2 || len(got) != 2 || got["c1/q2"] != 1 || got["m.jsonl#3"] != 1 {
		t.Errorf("pruned %d, left %v", n, got)
	}
	shards, _ := dataset.Shards(dir)
	if len(shards) != 1 {
		t.Errorf("%d shards after the rewrite, want 1", len(shards))
	}
}

func TestPruneLeavesAFolderWithNothingResolvedAlone(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, dead("responses", "c1/q1"))
	before, _ := dataset.Shards(dir)
	n, err := Prune(dir, func(schemas.DeadLetter) bool { return false })
	after, _ := dataset.Shards(dir)
	if err != nil || n != 0 || len(after) != 1 || after[0] != before[0] {
		t.Errorf("pruned %d (%v); shards %v → %v", n, err, before, after)
	}
	if n, err := Prune(filepath.Join(dir, "missing"), func(schemas.DeadLetter) bool { return true }); n != 0 || err != nil {
		t.Errorf("a missing folder: %d, %v", n, err)
	}
}

func TestPruneCanEmptyTheFolder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, dead("narrative", "c1"))
	if n, err := Prune(dir, func(schemas.DeadLetter) bool { return true }); n != 1 || err != nil {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if got := refs(t, dir); len(got) != 0 {
		t.Errorf("left %v", got)
	}
}
