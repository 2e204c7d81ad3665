package main

import (
	"bytes"
	"context"
	"log"
	"strings"
	"testing"

	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
)

// Beam's own log package (its in-process worker harness) is held to the same level as the rest:
// by default its INFO lines ("stopping worker …") stay off the terminal, its warnings do not;
// VRLAIF_LOG=info shows them.
func TestQuietBeamFiltersBeamsLogPackage(t *testing.T) {
	var out bytes.Buffer
	logged := func(level string) string {
		t.Setenv("VRLAIF_LOG", level)
		quietBeam()
		log.SetOutput(&out)
		out.Reset()
		beamlog.Infof(context.Background(), "stopping worker w1")
		beamlog.Warnf(context.Background(), "a warning")
		return out.String()
	}
	t.Cleanup(func() { t.Setenv("VRLAIF_LOG", ""); quietBeam() })
	if got := logged(""); strings.Contains(got, "stopping worker") || !strings.Contains(got, "a warning") {
		t.Errorf("default level: Beam's log printed %q; want the warning only", got)
	}
	if got := logged("info"); !strings.Contains(got, "stopping worker") {
		t.Errorf("VRLAIF_LOG=info: Beam's log printed %q; want its INFO line too", got)
	}
}
