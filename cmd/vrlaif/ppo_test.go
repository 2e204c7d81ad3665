package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/internal/natsbus"
	"github.com/vrlaif/vrlaif/internal/runlock"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/pipelines/train"
)

// ppoInputs: a tiny policy-init checkpoint, a reward model on it, and a generate folder whose
// (clip, question) pairs are the RL prompts.
func ppoInputs(t *testing.T) (ckpt, rm, gen string) {
	t.Helper()
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	vrlaif(t, true, "synth", "--n", "2", "--output", world)
	ckpt = backendtest.Checkpoint(t)
	gen = filepath.Join(dir, "gen")
	vrlaif(t, true, "generate", "--input", world, "--model", ckpt, "--output", gen, "--frames", "8", "--size", "32",
		"--max-tokens", "4", "--narrative-max-tokens", "4", "--k", "1")
	r, err := train.NewRewardModel(ckpt, model.LoRAConfig{PeftType: "LORA", Rank: 4, Alpha: 8, TargetModules: []string{"q_proj", "v_proj"}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	rm = filepath.Join(dir, "rm")
	if err := r.Save(rm); err != nil {
		t.Fatal(err)
	}
	return ckpt, rm, gen
}

func metricsLines(t *testing.T, path string) []train.LearnerReport {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []train.LearnerReport
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r train.LearnerReport
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("metrics.jsonl: %v", err)
		}
		out = append(out, r)
	}
	return out
}

// `vrlaif train ppo --actors 2` on the embedded NATS server runs to completion: every step's
// metrics are logged and every applied rollout is distinct.
func TestTrainPPOWithActors(t *testing.T) {
	ckpt, rm, gen := ppoInputs(t)
	out := filepath.Join(t.TempDir(), "ppo")
	log := vrlaif(t, true, "train", "ppo", "--policy", ckpt, "--rm", rm, "--prompts", gen, "--output", out,
		"--steps", "3", "--actors", "2", "--rollout-batch", "8", "--micro-batch", "4", "--response-len", "10")
	if !strings.Contains(log, "ppo: step 3/3") || !strings.Contains(log, "embedded NATS server") {
		t.Errorf("no progress or no embedded server:\n%s", log)
	}
	ms := metricsLines(t, filepath.Join(out, "metrics.jsonl"))
	if len(ms) != 3 || ms[2].Applied != 24 {
		t.Fatalf("%d metric lines, last %+v", len(ms), ms[len(ms)-1])
	}
	var st train.LearnerState
	b, _ := os.ReadFile(filepath.Join(out, "checkpoint", "state.json"))
	json.Unmarshal(b, &st)
	ids := map[string]bool{}
	for _, id := range st.Applied {
		ids[id] = true
	}
	if len(ids) != 24 || st.Step != 3 || st.Version != 3 {
		t.Errorf("state: step %d version %d, %d distinct of %d applied", st.Step, st.Version, len(ids), len(st.Applied))
	}
	// the run records its prompts' source videos, for eval's overlap warning
	r, err := train.LoadRewardModel(rm)
	if err != nil {
		t.Fatal(err)
	}
	prompts, _, err := train.LoadRLPrompts(gen, r.M.Config.Vision)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, p := range prompts {
		want[p.VideoID] = true
	}
	if clips, err := train.ReadPromptVideos(out); err != nil || len(clips) != len(want) || !want[clips[0]] {
		t.Errorf("prompt videos %v (%v), want the %d videos of the prompts", clips, err, len(want))
	}

	// A resume with another learning rate would continue this run's policy and optimizer under
	// other settings: refused before any step, naming the setting; the run is left as it was.
	args := []string{"train", "ppo", "--policy", ckpt, "--rm", rm, "--prompts", gen, "--output", out,
		"--actors", "2", "--rollout-batch", "8", "--micro-batch", "4", "--response-len", "10"}
	log = vrlaif(t, false, append(args, "--steps", "3", "--lr", "5e-4")...)
	if !strings.Contains(log, "lr 0.0001 (now 0.0005)") {
		t.Errorf("resume with another --lr: want the difference named, got:\n%s", log)
	}
	if n := len(metricsLines(t, filepath.Join(out, "metrics.jsonl"))); n != 3 {
		t.Errorf("the refused resume changed the run: %d metric lines, want 3", n)
	}
	// While another run holds the folder, a second is refused.
	lock, err := runlock.Acquire(out, "train ppo")
	if err != nil {
		t.Fatal(err)
	}
	log = vrlaif(t, false, append(args, "--steps", "4")...)
	lock.Release()
	if !strings.Contains(log, "another run is writing into "+out) {
		t.Errorf("a second learner on the folder: %s", log)
	}
	// More steps continue the run.
	vrlaif(t, true, append(args, "--steps", "4")...)
	if ms := metricsLines(t, filepath.Join(out, "metrics.jsonl")); len(ms) != 4 || ms[3].Step != 4 {
		t.Errorf("continued to 4 steps: %d metric lines", len(ms))
	}
}

// ppoRig is a PPO run for the crash tests: an embedded NATS server in the test process, two
// actors publishing to it (goroutines of the test), and learner subprocesses to start and kill.
type ppoRig struct {
	t       *testing.T
	srv     *natsbus.Server
	natsDir string
	bus     train.Bus
	out     string
	args    []string
	logf    *os.File
	stop    func()
}

func newPPORig(t *testing.T, steps int) *ppoRig {
	ckpt, rm, gen := ppoInputs(t)
	g := &ppoRig{t: t, natsDir: filepath.Join(t.TempDir(), "nats")}
	srv, err := natsbus.StartEmbedded(g.natsDir)
	if err != nil {
		t.Fatal(err)
	}
	g.srv = srv
	t.Cleanup(func() { g.srv.Shutdown() })
	g.bus = train.DefaultBus(srv.ClientURL())
	r, _ := train.LoadRewardModel(rm)
	prompts, patches, err := train.LoadRLPrompts(gen, r.M.Config.Vision)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			ac := train.ActorConfig{Name: fmt.Sprintf("a%d", i), Policy: ckpt, RM: rm, Rollout: train.DefaultRolloutParams(),
				Batch: 4, MaxLag: 16, Seed: uint64(i), WorkDir: t.TempDir()}
			ac.Rollout.T = 10
			if err := train.RunActor(ctx, ac, g.bus, prompts, patches, i); err != nil && ctx.Err() == nil {
				t.Error(err)
			}
		})
	}
	g.stop = func() { stop(); wg.Wait() }
	t.Cleanup(g.stop)
	g.out = filepath.Join(t.TempDir(), "ppo")
	g.args = []string{"train", "ppo", "--policy", ckpt, "--rm", rm, "--prompts", gen, "--output", g.out, "--nats-url", srv.ClientURL(),
		"--actors", "0", "--steps", fmt.Sprint(steps), "--rollout-batch", "8", "--micro-batch", "4", "--response-len", "10", "--ack-wait", "2s"}
	g.logf, _ = os.Create(filepath.Join(t.TempDir(), "learner.log"))
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(g.logf.Name())
			t.Logf("learner log:\n%s", b)
		}
	})
	return g
}

func (g *ppoRig) start() *exec.Cmd {
	cmd := exec.Command(os.Args[0], g.args...)
	cmd.Env = append(os.Environ(), "VRLAIF_RUN_MAIN=1")
	cmd.Stdout, cmd.Stderr = g.logf, g.logf
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	return cmd
}

func (g *ppoRig) kill(cmd *exec.Cmd) { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() }

func (g *ppoRig) steps() int { return len(metricsLines(g.t, filepath.Join(g.out, "metrics.jsonl"))) }

// waitSteps waits until n steps are logged.
func (g *ppoRig) waitSteps(n int) {
	deadline := time.Now().Add(2 * time.Minute)
	for g.steps() < n {
		if time.Now().After(deadline) {
			g.stalled()
			g.t.Fatalf("no step %d within two minutes", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// finish waits for the learner to exit on its own.
func (g *ppoRig) finish(cmd *exec.Cmd) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			g.t.Fatalf("the last learner run failed: %v", err)
		}
	case <-time.After(90 * time.Second):
		g.stalled()
		cmd.Process.Signal(syscall.SIGQUIT)
		<-done
		g.t.Fatal("the last learner run did not finish within 90 s")
	}
	g.stop()
}

// stalled logs what a stalled run looks like: the stream, the learner's consumer and the
// actors' goroutines.
func (g *ppoRig) stalled() {
	busState(g.t, g.bus)
	buf := make([]byte, 1<<20)
	g.t.Logf("test process goroutines (the actors):\n%s", buf[:runtime.Stack(buf, true)])
}

// account checks the run's rollout accounting: every rollout the stream ever stored is applied,
// dropped as stale, or still waiting in the stream, exactly once; steps×8 were applied.
func (g *ppoRig) account(steps int) {
	t := g.t
	var st train.LearnerState
	b, _ := os.ReadFile(filepath.Join(g.out, "checkpoint", "state.json"))
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, id := range append(append([]string{}, st.Applied...), st.Dropped...) {
		if ids[id] {
			t.Errorf("rollout %s applied or dropped twice", id)
		}
		ids[id] = true
	}
	if st.Step != steps || len(st.Applied) != steps*8 {
		t.Errorf("state: step %d, %d applied; want %d and %d", st.Step, len(st.Applied), steps, steps*8)
	}
	nc, js, err := natsbus.Connect(context.Background(), g.bus.Conn)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	s, err := js.Stream(context.Background(), natsbus.RolloutsStream(g.bus.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stored, left := info.State.LastSeq, info.State.Msgs
	if got := uint64(len(st.Applied)+len(st.Dropped)) + left; got != stored {
		t.Errorf("accounting: %d applied + %d dropped + %d still in the stream = %d, but the stream stored %d",
			len(st.Applied), len(st.Dropped), left, got, stored)
	}
	t.Logf("stream stored %d rollouts: %d applied, %d dropped as stale, %d unconsumed", stored, len(st.Applied), len(st.Dropped), left)
}

// The learner is killed with SIGKILL at several points (while starting, mid-step, between steps)
// and restarted each time, while actors keep publishing to a NATS server that outlives it. At the
// end every rollout the stream ever stored is accounted for exactly once.
func TestLearnerKilledAndRestarted(t *testing.T) {
	const steps = 6
	g := newPPORig(t, steps)
	cmd := g.start()
	time.Sleep(50 * time.Millisecond) // while it loads and connects
	g.kill(cmd)
	cmd = g.start()
	g.waitSteps(1)
	g.kill(cmd) // between steps, or right after a commit
	cmd = g.start()
	g.waitSteps(3)
	time.Sleep(30 * time.Millisecond) // into the next step
	g.kill(cmd)
	cmd = g.start()
	g.finish(cmd)
	g.account(steps)
}

// The NATS server restarts (same folder, same port) twice under a running learner and its
// actors, once between steps and once mid-step: they reconnect, the run completes, and the
// accounting is exact.
func TestNATSRestartUnderPPO(t *testing.T) {
	const steps = 8
	g := newPPORig(t, steps)
	cmd := g.start()
	restart := func() {
		port := g.srv.Port()
		if n := g.steps(); n >= steps {
			t.Fatalf("the learner finished (%d steps) before the NATS restart; the restart was not exercised", n)
		}
		g.srv.Shutdown()
		time.Sleep(300 * time.Millisecond)
		srv, err := natsbus.StartEmbedded(g.natsDir, natsbus.WithPort(port))
		if err != nil {
			t.Fatal(err)
		}
		g.srv = srv
	}
	g.waitSteps(2)
	restart()
	g.waitSteps(4)
	time.Sleep(30 * time.Millisecond) // into the next step
	restart()
	g.finish(cmd)
	g.account(steps)
}

// busState logs the rollout stream's and the learner consumer's state (for a stalled run).
func busState(t *testing.T, bus train.Bus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, js, err := natsbus.Connect(ctx, bus.Conn)
	if err != nil {
		t.Logf("bus state: %v", err)
		return
	}
	defer nc.Close()
	if s, err := js.Stream(ctx, natsbus.RolloutsStream(bus.Prefix)); err == nil {
		if info, err := s.Info(ctx); err == nil {
			b, _ := json.Marshal(info.State)
			t.Logf("stream state: %s", b)
		}
	}
	if c, err := js.Consumer(ctx, natsbus.RolloutsStream(bus.Prefix), bus.Durable); err == nil {
		if info, err := c.Info(ctx); err == nil {
			b, _ := json.Marshal(info)
			t.Logf("consumer: %s", b)
		}
	} else {
		t.Logf("consumer: %v", err)
	}
}

// A wrong input path fails `train ppo` before it starts anything: no output folder, no NATS
// server's files, and an error that names the flag.
func TestTrainPPOChecksInputsFirst(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	ckpt := backendtest.Checkpoint(t)
	for _, c := range []struct {
		policy, rm, want string
	}{
		{missing, missing, "--policy " + missing + " is not a checkpoint"},
		{ckpt, missing, missing + " is not a reward model"},
	} {
		out := filepath.Join(dir, "ppo")
		msg := vrlaif(t, false, "train", "ppo", "--policy", c.policy, "--rm", c.rm, "--prompts", missing, "--output", out)
		if !strings.Contains(msg, c.want) {
			t.Errorf("policy %s, rm %s: %q, want it to say %q", c.policy, c.rm, msg, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("policy %s, rm %s: the output folder %s was created", c.policy, c.rm, out)
		}
	}
}

// When an actor fails, the learner stops with a cancel; the run's error is the actor's failure,
// not "context canceled" (which main would also label "interrupted"). A user's own cancel, or a
// learner failing for its own reason, is still reported.
func TestPPORunErrorNamesTheFailingActor(t *testing.T) {
	actorErr := fmt.Errorf("actor0: natsbus: stream VRLAIF_ROLLOUTS: insufficient storage")
	learnerCancelled := fmt.Errorf("natsbus: connect: %w", context.Canceled)
	live := t.Context()

	err := ppoRunError(live, learnerCancelled, []error{actorErr})
	if err == nil || err.Error() != actorErr.Error() || errors.Is(err, context.Canceled) {
		t.Errorf("actor failed, learner cancelled: %v; want only %q", err, actorErr)
	}
	userCancelled, cancel := context.WithCancel(live)
	cancel()
	if err := ppoRunError(userCancelled, learnerCancelled, []error{actorErr}); !errors.Is(err, context.Canceled) ||
		!strings.Contains(err.Error(), "actor0") {
		t.Errorf("user's cancel: %v; want both the actor's error and the cancel", err)
	}
	learnerErr := errors.New("ppo: checkpoint: disk full")
	if err := ppoRunError(live, learnerErr, []error{actorErr}); !errors.Is(err, learnerErr) || !strings.HasPrefix(err.Error(), "actor0") {
		t.Errorf("both failed: %v; want the actor's error first, then the learner's", err)
	}
	if err := ppoRunError(live, nil, nil); err != nil {
		t.Errorf("no failure: %v", err)
	}
}
