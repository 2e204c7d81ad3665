package frames

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/vrlaif/vrlaif/schemas"
)

// TestMain runs the Beam tests on Prism, in process (ptest's default runner).
func TestMain(m *testing.M) { ptest.Main(m) }

func clipSummary(c schemas.Clip) string {
	return filepath.Base(c.SourceURI) + ":" + c.ID[:12] + ":" + string(rune('0'+len(c.Frames)))
}

func deadSummary(d schemas.DeadLetter) string { return filepath.Base(d.InputRef) + ":" + d.ErrorKind }

func init() {
	register.Function1x1(clipSummary)
	register.Function1x1(deadSummary)
}

func TestExtractOnPrism(t *testing.T) {
	dir := t.TempDir()
	good := []string{
		writeFixture(t, dir, fixture{name: "a.mp4", codec: "libx264", w: 128, h: 96, fps: 25, n: 40, gop: 25}, stripes),
		writeFixture(t, dir, fixture{name: "b.webm", codec: "libvpx-vp9", w: 128, h: 96, fps: 25, n: 30, gop: 25,
			opts: map[string]string{"deadline": "realtime", "cpu-used": "8"}}, stripes),
	}
	bad := filepath.Join(dir, "c.mp4")
	os.WriteFile(bad, []byte("not a video"), 0o644)
	p := DefaultParams()
	p.Frames, p.Size = 5, 64

	var wantClips []any
	for _, g := range good {
		c, err := ExtractFile(t.Context(), g, p)
		if err != nil {
			t.Fatal(err)
		}
		wantClips = append(wantClips, clipSummary(c))
	}

	pipe, s := beam.NewPipelineWithRoot()
	uris := beam.Create(s, good[0], good[1], bad)
	clips, dead := Extract(s, uris, p)
	passert.Equals(s, beam.ParDo(s, clipSummary, clips), wantClips...)
	passert.Equals(s, beam.ParDo(s, deadSummary, dead), "c.mp4:not_a_video")
	ptest.RunAndValidate(t, pipe)
}
