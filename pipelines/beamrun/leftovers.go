package beamrun

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// LoopbackLeftover is the name pattern of the empty placeholder file that Beam's universal runner
// (Prism included) creates in the temporary directory for every LOOPBACK run and never removes
// (runnerlib.Execute in Beam 2.77; apache/beam#27569): one file per pipeline run.
const LoopbackLeftover = "beamloopbackworker-*"

// LeftoverAge is how old a placeholder must be before SweepLoopbackLeftovers removes it. Beam
// stages the placeholder moments after creating it (at most after its 2-minute dial of the job
// server) and never reads it again, so one this old belongs to no run still starting, in this
// process or another.
const LeftoverAge = 10 * time.Minute

// SweepLoopbackLeftovers removes from dir the placeholders of earlier LOOPBACK runs: regular,
// empty files named LoopbackLeftover last modified more than age before now. Anything else with
// that name (a folder, a file with content) is left alone. It returns how many it removed; a
// file that vanished meanwhile (another process swept it) is not an error.
func SweepLoopbackLeftovers(dir string, age time.Duration, now time.Time) (int, error) {
	names, err := filepath.Glob(filepath.Join(dir, LoopbackLeftover))
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, name := range names {
		fi, err := os.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 || now.Sub(fi.ModTime()) <= age {
			continue
		}
		switch err := os.Remove(name); {
		case err == nil:
			removed++
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}
