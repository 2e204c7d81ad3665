package av

import (
	"strings"
	"sync"

	"github.com/asticode/go-astiav"
)

// Log collects the FFmpeg log lines of one file. FFmpeg logs through one process-wide callback;
// the router attributes each line to the Log attached to the context that emitted it, so that
// several files decoded at once keep their messages apart and nothing is sprayed on stderr.
type Log struct {
	mu    sync.Mutex
	lines []string
}

const maxLogLines = 64

func (l *Log) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) < maxLogLines {
		l.lines = append(l.lines, line)
	} else if len(l.lines) == maxLogLines {
		l.lines = append(l.lines, "… (more lines dropped)")
	}
}

// String returns the collected lines joined by newlines.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// Lines returns a copy of the collected lines.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

var router struct {
	once         sync.Once
	mu           sync.Mutex
	owners       map[astiav.Classer]*Log
	active       map[*Log]int
	unattributed Log
}

// Attach routes the log lines of FFmpeg context c to l until Detach. The first call installs the
// process-wide FFmpeg log callback (level: warnings and worse).
func Attach(c astiav.Classer, l *Log) {
	router.once.Do(func() {
		router.owners = map[astiav.Classer]*Log{}
		router.active = map[*Log]int{}
		astiav.SetLogLevel(astiav.LogLevelWarning)
		astiav.SetLogCallback(route)
	})
	router.mu.Lock()
	defer router.mu.Unlock()
	router.owners[c] = l
	router.active[l]++
}

// Detach stops routing c's log lines.
func Detach(c astiav.Classer) {
	router.mu.Lock()
	defer router.mu.Unlock()
	l, ok := router.owners[c]
	if !ok {
		return
	}
	delete(router.owners, c)
	if router.active[l]--; router.active[l] <= 0 {
		delete(router.active, l)
	}
}

// Unattributed returns lines that could not be tied to one file (for example from a decoder's
// worker-thread context while several files were in flight).
func Unattributed() string { return router.unattributed.String() }

// benign lists messages FFmpeg prints for what vrlaif does on purpose (scaling into the
// full-range yuvj420p that the mjpeg encoder wants).
var benign = []string{"deprecated pixel format used"}

func route(c astiav.Classer, level astiav.LogLevel, _, msg string) {
	for _, b := range benign {
		if strings.Contains(msg, b) {
			return
		}
	}
	line := levelName(level) + ": " + strings.TrimRight(msg, "\n")
	if c != nil {
		if cl := c.Class(); cl != nil {
			line = cl.Name() + " " + line
		}
	}
	router.mu.Lock()
	l := router.owners[c]
	if l == nil && len(router.active) == 1 {
		for only := range router.active {
			l = only
		}
	}
	router.mu.Unlock()
	if l == nil {
		l = &router.unattributed
	}
	l.add(line)
}

func levelName(l astiav.LogLevel) string {
	switch {
	case l <= astiav.LogLevelFatal:
		return "fatal"
	case l <= astiav.LogLevelError:
		return "error"
	case l <= astiav.LogLevelWarning:
		return "warning"
	default:
		return "info"
	}
}
