package beamtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const helperEnv = "BEAMTEST_HELPER_PRISM"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		helperProcess()
		return
	}
	ptest.Main(m) // parses flags and calls beam.Init
}

// squareFn emits x*x + Offset.
type squareFn struct{ Offset int }

func (f *squareFn) ProcessElement(x int) int { return x*x + f.Offset }

// writeFileFn is a sink: one file per element in Dir, named and filled with its value.
type writeFileFn struct{ Dir string }

func (f *writeFileFn) ProcessElement(x int) error {
	v := strconv.Itoa(x)
	return os.WriteFile(filepath.Join(f.Dir, v), []byte(v+"\n"), 0o644)
}

func init() {
	register.DoFn1x1[int, int](&squareFn{})
	register.DoFn1x1[int, error](&writeFileFn{})
}

func pipeline(dir string, want ...any) *beam.Pipeline {
	p, s := beam.NewPipelineWithRoot()
	in := beam.Create(s, 1, 2, 3, 4, 5)
	sq := beam.ParDo(s, &squareFn{Offset: 10}, in)
	beam.ParDo0(s, &writeFileFn{Dir: dir}, sq)
	passert.Equals(s, sq, want...)
	return p
}

func jobs(t *testing.T, endpoint string) []*jobpb.JobInfo {
	t.Helper()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := jobpb.NewJobServiceClient(conn).GetJobs(t.Context(), &jobpb.GetJobsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetJobInfo()
}

func TestPipelineOnStandalonePrism(t *testing.T) {
	start := time.Now()
	endpoint := StartPrism(t)
	t.Logf("prism at %s, ready in %v (of which building it: %v)", endpoint, time.Since(start).Round(time.Millisecond), BuildTime().Round(time.Millisecond))
	if !strings.HasPrefix(endpoint, "127.0.0.1:") {
		t.Errorf("endpoint %q", endpoint)
	}

	dir := t.TempDir()
	start = time.Now()
	if _, err := Run(t.Context(), endpoint, pipeline(dir, 11, 14, 19, 26, 35)); err != nil {
		t.Fatal(err)
	}
	t.Logf("pipeline ran in %v", time.Since(start).Round(time.Millisecond))
	var got []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		got = append(got, e.Name()+"="+strings.TrimSpace(string(b)))
	}
	slices.Sort(got)
	if want := []string{"11=11", "14=14", "19=19", "26=26", "35=35"}; !slices.Equal(got, want) {
		t.Errorf("sink wrote %v, want %v", got, want)
	}

	// The job ran on that server, not on an in-process Prism.
	if js := jobs(t, endpoint); len(js) != 1 || js[0].GetState() != jobpb.JobState_DONE {
		t.Errorf("jobs on the server: %v", js)
	}

	// A failing passert fails the job, and Run reports it.
	_, err := Run(t.Context(), endpoint, pipeline(t.TempDir(), 11, 14, 19, 26, 36))
	if err == nil {
		t.Fatal("a pipeline with a failing passert succeeded")
	}
	t.Logf("failing pipeline: %.200v", err)
	if js := jobs(t, endpoint); len(js) != 2 {
		t.Errorf("jobs on the server: %v", js)
	}
}

// alive reports whether pid is a live process (a zombie counts as gone).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) // no /proc: trust kill
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) == 0 || f[0] != "Z"
}

func waitGone(pid int, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if !alive(pid) {
			return true
		}
	}
	return !alive(pid)
}

func TestCleanupStopsPrism(t *testing.T) {
	var pid int
	var endpoint string
	t.Run("use", func(t *testing.T) {
		p, err := startPrism()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.stop() })
		pid, endpoint = p.pid, p.endpoint
		if !alive(pid) {
			t.Fatalf("prism pid %d not running", pid)
		}
	})
	if !waitGone(pid, time.Second) {
		t.Errorf("prism pid %d still running after cleanup", pid)
	}
	if c, err := net.DialTimeout("tcp", endpoint, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections", endpoint)
	}
}

// helperProcess starts prism, prints its pid and waits to be killed.
func helperProcess() {
	p, err := startPrism()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(p.pid)
	select {}
}

func TestPrismDiesWithTestBinary(t *testing.T) {
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("needs Linux (Pdeathsig)")
	}
	if _, err := PrismBinary(); err != nil { // build here, not in the helper
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q (%v)", line, err)
	}
	if !alive(pid) {
		t.Fatalf("prism pid %d not running", pid)
	}
	cmd.Process.Kill() // SIGKILL: no cleanup runs in the helper
	cmd.Wait()
	if !waitGone(pid, 5*time.Second) {
		syscall.Kill(-pid, syscall.SIGKILL)
		t.Fatalf("prism pid %d outlived its killed parent", pid)
	}
}
