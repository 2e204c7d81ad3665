package natsbus

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"
)

// tarEntry is one file or folder of a checkpoint, as it goes into the tar.
type tarEntry struct {
	src     string // path on disk
	name    string // slash-separated path inside the tar
	dir     bool
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

// tarEntries lists what goes into the tar for root (a folder or one file) and the tar's size.
// Symlinks to files are followed; anything but files and folders is refused.
func tarEntries(root string, exclude []string) ([]tarEntry, int64, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, 0, err
	}
	if st.Mode().IsRegular() {
		e := tarEntry{src: root, name: filepath.Base(root), size: st.Size(), mode: st.Mode(), modTime: st.ModTime()}
		return []tarEntry{e}, tarSize([]tarEntry{e}), nil
	}
	if !st.IsDir() {
		return nil, 0, fmt.Errorf("%s is neither a file nor a folder", root)
	}
	var entries []tarEntry
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if excluded(name, exclude) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := os.Stat(p) // follows symlinks
		if err != nil {
			return err
		}
		switch {
		case info.IsDir() && d.IsDir():
			entries = append(entries, tarEntry{src: p, name: name, dir: true, mode: info.Mode(), modTime: info.ModTime()})
		case info.Mode().IsRegular():
			entries = append(entries, tarEntry{src: p, name: name, size: info.Size(), mode: info.Mode(), modTime: info.ModTime()})
		default:
			return fmt.Errorf("%s: only files, folders and symlinks to files can be stored", p)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return entries, tarSize(entries), nil
}

func excluded(name string, patterns []string) bool {
	for _, pat := range patterns {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
		if ok, _ := path.Match(pat, path.Base(name)); ok {
			return true
		}
	}
	return false
}

// tarSize is the size of the tar writeTar produces: a 512-byte header per entry (plus a PAX
// header for a name over 100 bytes), data padded to 512, and the 1024-byte trailer.
func tarSize(entries []tarEntry) int64 {
	n := int64(1024)
	for _, e := range entries {
		n += 512 + (e.size+511)/512*512
		if len(e.name) > 100 {
			n += 512 + (int64(len(e.name))+20+511)/512*512
		}
	}
	return n
}

// writeTar writes entries to w. A file that changed size since it was listed is an error.
func writeTar(w io.Writer, entries []tarEntry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: int64(e.mode.Perm()), ModTime: e.modTime.Truncate(time.Second)}
		if e.dir {
			h.Typeflag, h.Name = tar.TypeDir, e.name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar %s: %w", e.name, err)
		}
		if e.dir {
			continue
		}
		if err := copyFile(tw, e); err != nil {
			return err
		}
	}
	return tw.Close()
}

func copyFile(w io.Writer, e tarEntry) error {
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(w, f, e.size); err != nil {
		return fmt.Errorf("tar %s (did it change while being stored?): %w", e.src, err)
	}
	return nil
}

// extractTar unpacks the tar in r into dst by way of a temporary folder beside it, reads r to
// its end (so that the object store checks the digest), and renames the folder into place.
func extractTar(r io.Reader, dst string) (err error) {
	parent := filepath.Dir(dst)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dst)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		rel := filepath.FromSlash(h.Name)
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("tar entry %q escapes the folder", h.Name)
		}
		p := filepath.Join(tmp, rel)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(p, tr, fs.FileMode(h.Mode).Perm()|0o600); err != nil {
				return err
			}
		default:
			return fmt.Errorf("tar entry %q: type %q not supported", h.Name, h.Typeflag)
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil { // the digest is checked at the end
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	_ = os.Remove(dst) // only succeeds for an empty folder, which the rename then replaces
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("move into %s (it must not exist, or be an empty folder): %w", dst, err)
	}
	return nil
}

func writeFile(p string, r io.Reader, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
