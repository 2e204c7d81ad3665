package beamtest

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal" // registers "universal"
	"github.com/vrlaif/vrlaif/pipelines/beamrun"
)

// runMu serialises Run: the universal runner reads its endpoint and environment from the
// process-wide jobopts flags.
var runMu sync.Mutex

// Run submits p to the job server at endpoint (from StartPrism) with the universal runner and
// the LOOPBACK environment, waits for the job to finish and returns its result; a failed job
// (a failing passert included) is an error. It sets jobopts.Endpoint and
// jobopts.EnvironmentType, the --endpoint and --environment_type flags, for the length of the
// call and restores them after, so calls from parallel tests run one at a time.
func Run(ctx context.Context, endpoint string, p *beam.Pipeline) (beam.PipelineResult, error) {
	runMu.Lock()
	defer runMu.Unlock()
	oldEndpoint, oldEnv, oldAsync := *jobopts.Endpoint, *jobopts.EnvironmentType, *jobopts.Async
	defer func() { *jobopts.Endpoint, *jobopts.EnvironmentType, *jobopts.Async = oldEndpoint, oldEnv, oldAsync }()
	*jobopts.Endpoint, *jobopts.EnvironmentType, *jobopts.Async = endpoint, "LOOPBACK", false
	defer beamrun.SweepLoopbackLeftovers(os.TempDir(), beamrun.LeftoverAge, time.Now()) // Beam's placeholder files
	return beam.Run(ctx, "universal", p)
}
