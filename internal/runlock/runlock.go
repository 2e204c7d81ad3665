// Package runlock keeps one run at a time writing into an output folder. Two runs of a resumable
// pipeline into one folder would each write the rows the other has not finished, and the second
// would remove the first's temporary files as a killed run's leftovers. The lock is an flock(2) on
// DIR/.vrlaif.lock: the kernel releases it when its process ends however it ends, so a killed run
// never leaves a folder locked. The file says which run holds it, for the refusal's message.
package runlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// File is the lock's name in the output folder.
const File = ".vrlaif.lock"

// Holder is what the lock file says about the run that holds it.
type Holder struct {
	Command string    `json:"command"`
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

// Lock is a held lock.
type Lock struct{ f *os.File }

// Acquire takes dir's lock for command (creating dir), or says which run holds it.
func Acquire(dir, command string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("runlock: %w", err)
	}
	path := filepath.Join(dir, File)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("runlock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("runlock: locking %s: %w", path, err)
		}
		var h Holder
		b, _ := os.ReadFile(path)
		if json.Unmarshal(b, &h) != nil || h.PID == 0 {
			return nil, fmt.Errorf("another run is writing into %s: wait for it to end, or give another output folder", dir)
		}
		return nil, fmt.Errorf("another run is writing into %s ('%s', pid %d on %s, started %s): wait for it to end, or give another output folder",
			dir, h.Command, h.PID, h.Host, h.Started.Format(time.DateTime))
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(Holder{Command: command, PID: os.Getpid(), Host: host, Started: time.Now().UTC()})
	// Best effort: the holder's details only make a refusal's message; the lock is the flock.
	if f.Truncate(0) == nil {
		f.WriteAt(append(b, '\n'), 0)
	}
	return &Lock{f: f}, nil
}

// Release lets the next run in. The file stays (removing it would let a run that opened it just
// before lock a file no later run sees).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
	return err
}

// RemoveStaleTemps removes the hidden temporary files below dir that a killed run left behind
// (".part-….parquet.….tmp" shards, ".….tmp-…" atomic writes, the call cache's ".tmp-…"): the caller
// holds dir's lock, so no run is writing them. It returns how many it removed. Readers skip these
// files already; this keeps a folder from collecting them.
func RemoveStaleTemps(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || !isTemp(d.Name()) {
			return nil
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("runlock: removing a killed run's temporary files: %w", err)
	}
	return n, nil
}

func isTemp(name string) bool {
	return strings.HasPrefix(name, ".") && name != File &&
		(strings.HasSuffix(name, ".tmp") || strings.Contains(name, ".tmp-") || strings.HasPrefix(name, ".tmp-"))
}

// Begin is a resumable pipeline's start: it takes dir's lock, then removes the temporary files a
// killed run left there, saying so on progress (may be nil).
func Begin(dir, command string, progress io.Writer) (*Lock, error) {
	l, err := Acquire(dir, command)
	if err != nil {
		return nil, err
	}
	removed, err := RemoveStaleTemps(dir)
	if err != nil {
		l.Release()
		return nil, err
	}
	if removed > 0 && progress != nil {
		fmt.Fprintf(progress, "%s: removed %d temporary files a killed run left in %s\n", command, removed, dir)
	}
	return l, nil
}
