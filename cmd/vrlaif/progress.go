package main

import (
	"fmt"
	"os"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"github.com/vrlaif/vrlaif/internal/runlock"
	"golang.org/x/term"
)

// progress shows a bar on an interactive terminal and stays silent otherwise (CI logs, pipes).
type progress struct {
	p     *mpb.Progress
	bar   *mpb.Bar
	last  time.Time // when set last moved the bar, and to where
	lastN int
}

func newProgress(name string, total int) *progress {
	if total <= 0 || !term.IsTerminal(int(os.Stderr.Fd())) {
		return &progress{}
	}
	p := mpb.New(mpb.WithOutput(os.Stderr), mpb.WithRefreshRate(150*time.Millisecond))
	bar := p.AddBar(int64(total),
		mpb.PrependDecorators(decor.Name(name+" "), decor.CountersNoUnit("%d/%d")),
		mpb.AppendDecorators(decor.Percentage(), decor.Name(" "), decor.EwmaETA(decor.ET_STYLE_GO, 30)))
	return &progress{p: p, bar: bar}
}

func (p *progress) inc() {
	if p.bar != nil {
		p.bar.EwmaIncrement(time.Second)
	}
}

// set moves the bar to n of its total (a resumed run starts part-way).
func (p *progress) set(n int) {
	if p.bar == nil {
		return
	}
	now := time.Now()
	if p.last.IsZero() || n <= p.lastN { // the first call places the bar; the ETA starts from the next
		p.bar.SetCurrent(int64(n))
	} else {
		p.bar.EwmaSetCurrent(int64(n), now.Sub(p.last)/time.Duration(n-p.lastN))
	}
	p.last, p.lastN = now, n
}

// shown says whether a bar is on the terminal (else progress goes in report lines).
func (p *progress) shown() bool { return p.bar != nil }

func (p *progress) done() {
	if p.p != nil {
		p.bar.Abort(false)
		p.p.Wait()
	}
}

// report prints one line to stderr, after any progress bar.
func report(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// lockOutput keeps one run at a time writing into dir (internal/runlock): a second run into it is
// refused, naming the first. Release the lock when the run is done (the kernel drops it if the
// process dies first).
func lockOutput(dir, command string) (*runlock.Lock, error) {
	l, err := runlock.Acquire(dir, command)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	return l, nil
}
