package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/internal/natsbus"
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
}

// The learner is killed with SIGKILL at several points (while starting, mid-step, between steps)
// and restarted each time, while actors keep publishing to a NATS server that outlives it. (A
// restart of the NATS server itself under a running PPO job is not reliable yet: see the issue.) At the
// end every rollout the stream ever stored is accounted for exactly once: applied, dropped as
// stale, or still waiting in the stream; no applied id repeats.
func TestLearnerKilledAndRestarted(t *testing.T) {
	if os.Getenv("VRLAIF_CRASH_TESTS") != "1" {
		t.Skip("set VRLAIF_CRASH_TESTS=1 (make test-crash): it passes alone, but in the full suite from a fresh clone its last learner run stalls waiting for rollouts (open in issue 6)")
	}
	ckpt, rm, gen := ppoInputs(t)
	srv, err := natsbus.StartEmbedded(filepath.Join(t.TempDir(), "nats"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown() }()
	bus := train.DefaultBus(srv.ClientURL())
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
			if err := train.RunActor(ctx, ac, bus, prompts, patches, i); err != nil && ctx.Err() == nil {
				t.Error(err)
			}
		})
	}
	defer func() { stop(); wg.Wait() }()

	out := filepath.Join(t.TempDir(), "ppo")
	const steps = 6
	args := []string{"train", "ppo", "--policy", ckpt, "--rm", rm, "--prompts", gen, "--output", out, "--nats-url", srv.ClientURL(),
		"--actors", "0", "--steps", fmt.Sprint(steps), "--rollout-batch", "8", "--micro-batch", "4", "--response-len", "10", "--ack-wait", "2s"}
	logf, _ := os.Create(filepath.Join(t.TempDir(), "learner.log"))
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("learner log:\n%s", b)
		}
	}()
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), "VRLAIF_RUN_MAIN=1")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	kill := func(cmd *exec.Cmd) { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() }
	waitLines := func(n int) {
		deadline := time.Now().Add(2 * time.Minute)
		for len(metricsLines(t, filepath.Join(out, "metrics.jsonl"))) < n {
			if time.Now().After(deadline) {
				t.Fatalf("no step %d within two minutes", n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	cmd := start()
	time.Sleep(50 * time.Millisecond) // while it loads and connects
	kill(cmd)
	cmd = start()
	waitLines(1)
	kill(cmd) // between steps, or right after a commit
	cmd = start()
	waitLines(3)
	time.Sleep(30 * time.Millisecond) // into the next step
	kill(cmd)
	cmd = start()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the last learner run failed: %v", err)
		}
	case <-time.After(90 * time.Second):
		cmd.Process.Signal(syscall.SIGQUIT)
		<-done
		t.Fatal("the last learner run did not finish within 90 s")
	}
	stop()
	wg.Wait()

	var st train.LearnerState
	b, _ := os.ReadFile(filepath.Join(out, "checkpoint", "state.json"))
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
	nc, js, err := natsbus.Connect(context.Background(), bus.Conn)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	s, err := js.Stream(context.Background(), natsbus.RolloutsStream(bus.Prefix))
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
