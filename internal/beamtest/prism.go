package beamtest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const (
	beamModule = "github.com/apache/beam/sdks/v2"
	prismPkg   = beamModule + "/go/cmd/prism"
	// EnvPrism names a prism binary to use instead of building one.
	EnvPrism = "VRLAIF_PRISM"
	// idleShutdown is a backstop: a prism that outlives its test binary (which Pdeathsig and the
	// cleanup should prevent) exits after this long without jobs.
	idleShutdown = 15 * time.Minute
	startTimeout = time.Minute
	stopTimeout  = 5 * time.Second
)

var (
	buildOnce sync.Once
	prismBin  string
	buildErr  error
)

// StartPrism starts a Prism job server for t and returns its job endpoint ("127.0.0.1:port").
// It is stopped, and its process group killed, when t ends. A build or start failure fails t.
func StartPrism(t testing.TB) (endpoint string) {
	t.Helper()
	p, err := startPrism()
	if err != nil {
		t.Fatalf("beamtest: %v", err)
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("beamtest: stopping prism: %v", err)
		}
		if t.Failed() {
			t.Logf("prism (pid %d) log, last %d bytes:\n%s", p.pid, p.log.limit, p.log.String())
		}
	})
	return p.endpoint
}

// PrismBinary returns the path of a prism binary built from this module's Beam version,
// building it on first use (see BuildTime).
func PrismBinary() (string, error) {
	buildOnce.Do(func() { prismBin, buildErr = buildPrism() })
	return prismBin, buildErr
}

// buildPrism builds cmd/prism into <user cache>/vrlaif/prism/<key>/prism, where key names the Go
// toolchain, the platform and the Beam module (version and checksum, or its replacement). A
// binary already there is reused. A Beam replaced by a local folder is rebuilt every time (once
// per test binary). The build writes a temporary file and renames it, so concurrent test binaries
// never see a partial file.
func buildPrism() (string, error) {
	if p := os.Getenv(EnvPrism); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w", EnvPrism, err)
		}
		return p, nil
	}
	key, reuse := buildKey()
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "vrlaif", "prism", key)
	bin := filepath.Join(dir, "prism")
	if reuse {
		if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return bin, nil
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("building prism: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".prism-*.tmp")
	if err != nil {
		return "", fmt.Errorf("building prism: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building prism: go is not on PATH (or set %s to a prism binary)", EnvPrism)
	}
	start := time.Now()
	cmd := exec.Command(goBin, "build", "-o", tmp.Name(), prismPkg) // run in the test's folder: this module's go.mod decides the version
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", prismPkg, err, out)
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", fmt.Errorf("building prism: %w", err)
	}
	buildTook = time.Since(start)
	return bin, nil
}

var buildTook time.Duration

// BuildTime is how long this process spent building prism: 0 before PrismBinary's first call,
// when a cached binary was reused, or with VRLAIF_PRISM.
func BuildTime() time.Duration {
	PrismBinary()
	return buildTook
}

// buildKey names a prism build; reuse is false when Beam is replaced by a local folder.
func buildKey() (key string, reuse bool) {
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	reuse = true
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path != beamModule {
				continue
			}
			fmt.Fprintln(h, m.Version, m.Sum)
			if r := m.Replace; r != nil {
				fmt.Fprintln(h, "=>", r.Path, r.Version, r.Sum)
				reuse = r.Version != ""
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], reuse
}

// prism is one running job server.
type prism struct {
	cmd      *exec.Cmd
	pid      int
	endpoint string
	log      *tailBuffer
	done     chan struct{} // closed when the process has exited and been reaped
	waitErr  error
}

func startPrism() (*prism, error) {
	bin, err := PrismBinary()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--job_port=0", // the kernel picks a free port; prism logs which
		"--serve_http=false",
		"--log_kind=json",
		"--log_level=info",
		"--idle_shutdown_timeout="+idleShutdown.String())
	cmd.SysProcAttr = procAttr()
	// An os.Pipe rather than cmd.StderrPipe: Wait (below, concurrent with the reads) would close
	// the latter's read end. This one reads to EOF, when prism and anything it started are gone.
	stderr, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close()
	if err != nil {
		stderr.Close()
		return nil, fmt.Errorf("starting prism: %w", err)
	}
	p := &prism{cmd: cmd, pid: cmd.Process.Pid, log: &tailBuffer{limit: 64 << 10}, done: make(chan struct{})}
	found := make(chan string, 1)
	go p.readLog(stderr, found)
	go func() { p.waitErr = cmd.Wait(); close(p.done) }()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	select {
	case p.endpoint = <-found:
	case <-p.done:
		return nil, fmt.Errorf("prism exited before serving (%v):\n%s", p.waitErr, p.log.String())
	case <-ctx.Done():
		p.stop()
		return nil, fmt.Errorf("prism did not report its endpoint within %v:\n%s", startTimeout, p.log.String())
	}
	if err := waitServing(ctx, p.endpoint); err != nil {
		p.stop()
		return nil, fmt.Errorf("prism at %s: %w\n%s", p.endpoint, err, p.log.String())
	}
	return p, nil
}

// readLog keeps prism's stderr and sends the job endpoint, from its "Serving JobManagement"
// line, on found.
func (p *prism) readLog(r io.ReadCloser, found chan<- string) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Bytes()
		p.log.Write(line)
		p.log.Write([]byte{'\n'})
		if sent {
			continue
		}
		var rec struct{ Msg, Endpoint string }
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "Serving JobManagement" && rec.Endpoint != "" {
			if _, port, err := net.SplitHostPort(rec.Endpoint); err == nil {
				found <- net.JoinHostPort("127.0.0.1", port)
				sent = true
			}
		}
	}
	io.Copy(io.Discard, r) // a line over 1 MiB stops the scanner: keep the pipe drained
}

// waitServing waits until the job service at endpoint answers a GetJobs call.
func waitServing(ctx context.Context, endpoint string) error {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	cli := jobpb.NewJobServiceClient(conn)
	for {
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := cli.GetJobs(callCtx, &jobpb.GetJobsRequest{})
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("job service not answering: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to prism's process group, then SIGKILL after stopTimeout, and waits for
// the process to be reaped. It returns an error only if the process survives.
func (p *prism) stop() error {
	select {
	case <-p.done:
		return nil // exited by itself (e.g. idle shutdown)
	default:
	}
	signalGroup(p.pid, syscall.SIGTERM)
	select {
	case <-p.done:
		signalGroup(p.pid, syscall.SIGKILL) // anything it started
		return nil
	case <-time.After(stopTimeout):
	}
	signalGroup(p.pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
		return errors.New("prism did not exit after SIGKILL")
	}
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	b     []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.limit; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimRight(string(t.b), "\n")
}
