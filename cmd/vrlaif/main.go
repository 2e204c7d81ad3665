// Command vrlaif is the one binary of the vrlaif data engine.
package main

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
)

func main() {
	beam.Init()
}
