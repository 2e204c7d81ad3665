package parquetio_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/parquetio"
)

// Every row type a program writes or reads is registered once, in an init function.
func init() { parquetio.Register[schemas.DeadLetter]() }

func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, schemas.RowDeadLetter)

	p, s := beam.NewPipelineWithRoot()
	rows := beam.Create(s,
		schemas.DeadLetter{Stage: "frames", InputRef: "/v/b.mp4", ErrorKind: "not_a_video"},
		schemas.DeadLetter{Stage: "frames", InputRef: "/v/a.mp4", ErrorKind: "decode"})
	parquetio.Write[schemas.DeadLetter](s, out, schemas.RowDeadLetter, rows,
		parquetio.WriteParams{IDField: "InputRef", SkipExisting: true})
	if err := ptest.Run(p); err != nil { // beamx.Run(ctx, p) in a program
		fmt.Println(err)
		return
	}

	back, _ := dataset.ReadAll[schemas.DeadLetter](out) // or parquetio.Read in a pipeline
	for _, r := range back {
		fmt.Println(r.InputRef, r.ErrorKind)
	}
	// Output:
	// /v/a.mp4 decode
	// /v/b.mp4 not_a_video
}
