package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesAndLeavesNoTemp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	for _, text := range []string{"first", "second"} {
		if err := Write(dir, "a.json", []byte(text)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "a.json")); string(b) != text {
			t.Errorf("read %q, want %q", b, text)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries, want the file alone", len(entries))
	}
	if st, _ := os.Stat(filepath.Join(dir, "a.json")); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
	// A rename that cannot happen (the target is a non-empty folder) leaves no temporary file.
	os.MkdirAll(filepath.Join(dir, "b", "x"), 0o755)
	if err := Write(dir, "b", []byte("x")); err == nil {
		t.Error("writing over a folder succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d entries after a failed write, want 2", len(entries))
	}
}
