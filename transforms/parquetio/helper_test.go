package parquetio

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/schemas"
)

// TestMain runs the Beam tests on Prism, in process (ptest's default runner).
func TestMain(m *testing.M) { ptest.Main(m) }

func init() {
	Register[schemas.Clip]()
	Register[schemas.DeadLetter]()
	register.Function1x1(clipSummary)
	register.Function1x1(deadSummary)
	register.Function1x1(slowDeadLetter)
	register.Function1x1(slowClip)
}

func deadLetter(i int) schemas.DeadLetter {
	return schemas.DeadLetter{Stage: "frames", InputRef: fmt.Sprintf("/v/%03d.mp4", i), ErrorKind: []string{"not_a_video", "decode"}[i%2],
		Message: "bad input " + strconv.Itoa(i), Detail: strings.Repeat("log line\n", i%4), CreatedMicros: int64(1e15) + int64(i)}
}

func clip(i int) schemas.Clip {
	return schemas.Clip{
		ID: fmt.Sprintf("clip-%03d", i), SourceURI: fmt.Sprintf("/v/%03d.mp4", i), Codec: "h264", Width: 640, Height: 360,
		Sampling:          schemas.SamplingSpec{Frames: 3, Size: 224, Resize: "short", Pad: true, Quality: 90},
		PlannedSeconds:    []float64{0, 1.5, 3},
		TimestampsSeconds: []float64{0, 1.48, 3.02},
		Frames:            [][]byte{{0xff, 0xd8, byte(i)}, {0xff, 0xd8, 0x01, byte(i)}, bytesOf(i, 300)},
		DecodedFrames:     int64(90 + i), CreatedMicros: int64(i),
	}
}

func bytesOf(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed*31 + i*7)
	}
	return b
}

// clipSummary is a clip as a comparable string: its JSON (which leaves frames out) and a hash of
// its frames.
func clipSummary(c schemas.Clip) string {
	j, _ := json.Marshal(c)
	h := sha256.New()
	for _, f := range c.Frames {
		fmt.Fprintf(h, "%d:", len(f))
		h.Write(f)
	}
	return string(j) + " frames=" + hex.EncodeToString(h.Sum(nil))
}

func deadSummary(d schemas.DeadLetter) string {
	j, _ := json.Marshal(d)
	return string(j)
}

func summaries[T any](rows []T, f func(T) string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	sort.Strings(out)
	return out
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// dirContents maps every entry of dir to a hash of its bytes.
func dirContents(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = hex.EncodeToString(sum[:])
	}
	return out
}

// checkNames fails unless every entry of dir is a complete shard named part-<16 hex>.parquet.
func checkNames(t *testing.T, dir string) {
	t.Helper()
	for name := range dirContents(t, dir) {
		hexPart, ok := strings.CutPrefix(name, "part-")
		hexPart, ok2 := strings.CutSuffix(hexPart, ".parquet")
		if _, err := hex.DecodeString(hexPart); !ok || !ok2 || len(hexPart) != 16 || err != nil {
			t.Errorf("unexpected file %q in %s (temp file left, or not a shard name)", name, dir)
		}
	}
}

func openParquet(t *testing.T, path string) *parquet.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return pf
}

// slowDeadLetter passes rows through, pausing on every tenth so that Prism, seeing no progress,
// splits the bundle: the sink downstream then sees several bundles.
func slowDeadLetter(d schemas.DeadLetter) schemas.DeadLetter {
	if d.CreatedMicros%10 == 0 {
		time.Sleep(250 * time.Millisecond)
	}
	return d
}

func slowClip(c schemas.Clip) schemas.Clip {
	if c.CreatedMicros%10 == 0 {
		time.Sleep(250 * time.Millisecond)
	}
	return c
}

// counter sums the committed (or attempted) values of the counter namespace/name.
func counter(pr beam.PipelineResult, namespace, name string) int64 {
	var n int64
	res := pr.Metrics().Query(func(r metrics.SingleResult) bool {
		return r.Namespace() == namespace && r.Name() == name
	})
	for _, c := range res.Counters() {
		n += c.Result()
	}
	return n
}
