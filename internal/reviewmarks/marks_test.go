package reviewmarks

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/schemas"
)

// Marks round-trip through the one shard, which an independent reader (parquet-go's plain
// ReadFile, not our dataset package) reads as the same rows; clearing the last mark leaves no shard.
func TestSetClearLoad(t *testing.T) {
	dir := t.TempDir()
	s := NewStore(dir)
	if all, err := s.All(); err != nil || len(all) != 0 {
		t.Fatalf("a folder without marks: %v %v", all, err)
	}
	if _, err := s.Set(schemas.ReviewMark{PreferenceID: "b", Mark: schemas.MarkWrong, Note: "n1", Reviewer: "r"}); err != nil {
		t.Fatal(err)
	}
	all, err := s.Set(schemas.ReviewMark{PreferenceID: "a", Mark: schemas.MarkWrong, CreatedMicros: 42})
	if err != nil || len(all) != 2 {
		t.Fatalf("%v %v", all, err)
	}
	rows, err := parquet.ReadFile[schemas.ReviewMark](filepath.Join(Dir(dir), shardName))
	if err != nil || len(rows) != 2 || rows[0].PreferenceID != "a" || rows[0].CreatedMicros != 42 || rows[1].Note != "n1" || rows[1].CreatedMicros == 0 {
		t.Fatalf("independent read: %+v %v", rows, err)
	}
	if _, err := s.Set(schemas.ReviewMark{PreferenceID: "b", Mark: schemas.MarkWrong, Note: "n2"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := Load(dir); len(got) != 2 || got["b"].Note != "n2" {
		t.Errorf("a second mark on a pair replaces the first: %+v", got)
	}
	s.Clear("a")
	s.Clear("b")
	s.Clear("never-marked")
	if _, err := os.Stat(filepath.Join(Dir(dir), shardName)); !os.IsNotExist(err) {
		t.Errorf("no marks left, but the shard is there (%v)", err)
	}
	if left, _ := os.ReadDir(Dir(dir)); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	for _, bad := range []schemas.ReviewMark{{Mark: schemas.MarkWrong}, {PreferenceID: "a", Mark: "fine"}} {
		if _, err := s.Set(bad); err == nil {
			t.Errorf("Set(%+v) accepted", bad)
		}
	}
}

// Concurrent marks from one process all land (each change re-reads and rewrites under the lock).
func TestConcurrentSets(t *testing.T) {
	dir := t.TempDir()
	s := NewStore(dir)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Set(schemas.ReviewMark{PreferenceID: fmt.Sprint("p", i), Mark: schemas.MarkWrong}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if all, err := Load(dir); err != nil || len(all) != 16 {
		t.Errorf("%d marks after 16 concurrent sets (%v)", len(all), err)
	}
}
