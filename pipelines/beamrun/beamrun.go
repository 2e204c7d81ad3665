// Package beamrun runs a pipeline on the configured Beam runner (Prism in-process by default) and
// gathers what every command reports: the counters by "namespace.name", a progress line on
// standard error while the run goes on, and the wall time.
package beamrun

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/harness"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/util/hooks"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/vrlaif/vrlaif/internal/progress"
	"github.com/vrlaif/vrlaif/schemas"
)

// Counters are the run's Beam counters summed over steps, keyed "namespace.name".
type Counters map[string]int64

// Stage returns a stage's counts: namespace stage, names in, out and deadletter, and skipped
// from the sink of rowType (the rows an earlier run already wrote).
func (c Counters) Stage(stage, rowType string) schemas.StageCounts {
	return schemas.StageCounts{In: int(c[stage+".in"]), Out: int(c[stage+".out"]), DeadLetter: int(c[stage+".deadletter"]),
		Skipped: int(c[rowType+".skipped"])}
}

// Run runs p, printing progress.Line(stages…) to w every interval (w nil: silent), and returns
// the counters. Afterwards it removes the empty placeholder files that earlier Beam runs left in
// the temporary directory (SweepLoopbackLeftovers, older than LeftoverAge).
func Run(ctx context.Context, p *beam.Pipeline, w io.Writer, interval time.Duration, stages ...string) (Counters, error) {
	progress.Reset()
	done := make(chan struct{})
	if w != nil {
		go func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			start := time.Now()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					if line := progress.Line(stages...); line != "" {
						fmt.Fprintf(w, "[%4.0fs] %s\n", time.Since(start).Seconds(), line)
					}
				}
			}
		}()
	}
	keepWorkerLogsLocal()
	res, err := beamx.RunWithMetrics(ctx, p)
	close(done)
	_, _ = SweepLoopbackLeftovers(os.TempDir(), LeftoverAge, time.Now()) // tidying only: a failure changes nothing the run made
	if err != nil {
		return nil, err
	}
	out := Counters{}
	if res != nil {
		for _, c := range res.Metrics().AllMetrics().Counters() {
			out[c.Namespace()+"."+c.Name()] += c.Result()
		}
	}
	if len(out) == 0 { // a runner without metrics: fall back to this process's own counts
		for k, v := range progress.Snapshot() {
			out[k] = v
		}
	}
	return out, nil
}

// keepWorkerLogsLocal: Prism runs its workers in this process, and each one installs Beam's remote
// logger process-wide, which forwards every line to the runner and, when its buffer is full or its
// stream is gone as a worker stops, prints it to stderr unfiltered ("stopping worker …", "control
// response channel closed"). Without that hook Beam's log package keeps the logger the command
// set (warnings and errors only, unless VRLAIF_LOG says otherwise). A command logging at INFO or
// below (VRLAIF_LOG=info or debug) keeps the hook (Prism then shows the workers' lines), and so do
// other runners and environments, whose workers' logs travel that way.
func keepWorkerLogsLocal() {
	value := func(name string) string {
		if f := flag.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	runner, env := value("runner"), value("environment_type")
	wantInfo := slog.Default().Enabled(context.Background(), slog.LevelInfo) // the command's log level (VRLAIF_LOG)
	if (runner == "" || runner == "prism") && (env == "" || strings.EqualFold(env, "LOOPBACK")) && !wantInfo {
		hooks.DisableHook(harness.DefaultRemoteLoggingHook)
	}
}
