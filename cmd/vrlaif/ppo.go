package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vrlaif/vrlaif/internal/natsbus"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/pipelines/beamrun"
	"github.com/vrlaif/vrlaif/pipelines/rollout"
	"github.com/vrlaif/vrlaif/pipelines/train"
	"github.com/vrlaif/vrlaif/schemas"
)

// natsFlags reach a NATS server (for the learner, none: an embedded one under its run folder).
type natsFlags struct {
	opts natsbus.ConnOptions
}

// add registers the flags; urlHelp describes --nats-url for this command.
func (n *natsFlags) add(f *pflag.FlagSet, urlHelp string) {
	f.StringVar(&n.opts.URL, "nats-url", "", urlHelp)
	f.StringVar(&n.opts.User, "nats-user", "", "NATS user")
	f.StringVar(&n.opts.Password, "nats-password", os.Getenv("VRLAIF_NATS_PASSWORD"), "NATS password (default $VRLAIF_NATS_PASSWORD)")
	f.StringVar(&n.opts.CredsFile, "nats-creds", "", "NATS .creds file (JWT + nkey)")
	f.StringVar(&n.opts.NKeySeedFile, "nats-nkey", "", "file holding a NATS user nkey seed")
	f.StringVar(&n.opts.TLSCert, "nats-tls-cert", "", "client certificate (PEM)")
	f.StringVar(&n.opts.TLSKey, "nats-tls-key", "", "client key (PEM)")
	f.StringVar(&n.opts.TLSCA, "nats-tls-ca", "", "CA bundle (PEM) of the server's certificate")
}

func trainPPOCmd() *cobra.Command {
	cfg := train.DefaultPPOConfig()
	var nf natsFlags
	var actors int
	var nonPadMean bool
	var metricsAddr string
	cmd := &cobra.Command{
		Use:   "ppo --policy SFT_CKPT --rm RM_CKPT --prompts GENERATE_DIR --output DIR [--actors 2]",
		Short: "PPO: actors sample and score rollouts, a learner trains on them over NATS JetStream",
		Long: `ppo runs the seed's PPO (reference §4) as actors and a learner that meet on NATS JetStream:

  actors   sample one answer per RL prompt with the newest policy version (temperature 1, the seed's
           truncation rule), score it with the reward model, publish it (Nats-Msg-Id = rollout id)
  learner  a durable pull consumer: gathers --rollout-batch rollouts, runs a PPO step (reference
           log-probs, values, KL-shaped rewards ×10 with the −8 no-stop and −10·len/T penalties, GAE
           γ = λ = 1, whitening, clipped policy and value losses, noptepochs), commits a checkpoint,
           publishes the new policy to the object store, then acks. Rollouts more than
           --max-staleness versions old are dropped and counted.

The policy starts from --policy (a LoRA is trained on it; the reference stays frozen at it); the
value model starts from the reward model's adapter with a zero head. By default an embedded NATS
server (JetStream files under DIR/nats) and --actors actor goroutines run in this process; with
--nats-url the learner uses that server and 'vrlaif rollout' processes elsewhere can act. A killed
run restarted with the same --output resumes from its checkpoint with no rollout lost or applied
twice. The first run records its settings in DIR/settings.json (the policy and the reward model
by their weights' hash); a resume with others is refused, naming them, except a larger --steps,
which continues a finished run. One learner at a time: a second run into DIR is refused while the
first holds DIR/.vrlaif.lock. Writes DIR/checkpoint/ (policy and value adapters, optimizer, state), DIR/metrics.jsonl
(reward, KL, entropy, clip fraction, value loss, staleness, consumer lag per step) and
DIR/summary.json.`,
		Example: "  vrlaif train ppo --policy out/sft --rm out/rm --prompts out/gen --output out/ppo --steps 20 --actors 2",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Policy == "" || cfg.RM == "" || cfg.Prompts == "" || cfg.Output == "" {
				return fail(cmd, "--policy, --rm, --prompts and --output are required")
			}
			cfg.Math.Loss.NonPadMean = nonPadMean
			return runPPO(cmd, cfg, nf.opts, actors, metricsAddr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Policy, "policy", "", "policy-init checkpoint (the SFT model; required)")
	f.StringVar(&cfg.RM, "rm", "", "reward-model checkpoint from 'vrlaif train rm' (required)")
	f.StringVar(&cfg.Prompts, "prompts", "", "a generate folder: its (clip, question) pairs are the RL prompts (required)")
	f.StringVarP(&cfg.Output, "output", "o", "", "run folder (required; resumed if it holds a checkpoint)")
	f.IntVar(&cfg.Steps, "steps", cfg.Steps, "PPO steps")
	f.IntVar(&actors, "actors", 2, "actor goroutines in this process (0 with --nats-url: only the learner)")
	f.IntVar(&cfg.RolloutBatch, "rollout-batch", cfg.RolloutBatch, "rollouts per PPO step")
	f.IntVar(&cfg.MicroBatch, "micro-batch", cfg.MicroBatch, "rollouts per forward/backward")
	f.IntVar(&cfg.NoptEpochs, "noptepochs", cfg.NoptEpochs, "passes over each step's rollouts")
	f.Float32Var(&cfg.LR, "lr", cfg.LR, "peak learning rate (cosine with warm-up)")
	f.IntVar(&cfg.Rollout.T, "response-len", cfg.Rollout.T, "response slots T (new tokens at most)")
	f.DurationVar(&cfg.AckWait, "ack-wait", cfg.AckWait, "redeliver a fetched rollout not acknowledged within this (a crashed learner's batch comes back after it)")
	f.StringVar(&cfg.Device, "device", "cpu", "where the learner runs: cpu, or cuda / cuda:N in a binary built with make cuda-build (on an NVIDIA GPU: the PPO math and the models' forward and backward; the vision tower stays on the CPU)")
	f.BoolVar(&cfg.DeviceMathOnly, "device-math-only", false, "with --device cuda, run only the PPO math on the GPU and the models on the CPU")
	f.StringVar(&cfg.Gemm, "gemm", "auto", "with --device cuda, the models' matrix products: auto (cuBLAS in float32 when the machine has libcublas, else our sgemm kernel), kernel, cublas, cublas-tf32 or cublas-bf16 (tensor cores: faster, inputs rounded to 10-bit or 7-bit mantissas)")
	f.IntVar(&cfg.MaxStaleness, "max-staleness", cfg.MaxStaleness, "drop rollouts more than this many policy versions old")
	f.BoolVar(&cfg.Rollout.TruncateAtQuestionMark, "truncate-at-question-mark", true, "the seed's quirk: cut a response after its first '?' (losing its stop token)")
	f.StringVar(&metricsAddr, "metrics-addr", "", "serve the latest step's metrics for Prometheus at http://ADDR/metrics (e.g. 127.0.0.1:9464)")
	f.BoolVar(&nonPadMean, "mean-over-tokens", false, "average the losses over response tokens only (the seed averages over all slots, padding included)")
	nf.add(f, "NATS server (nats://host:4222); empty: an embedded server (JetStream files under OUTPUT/nats)")
	return cmd
}

func runPPO(cmd *cobra.Command, cfg train.PPOConfig, conn natsbus.ConnOptions, actors int, metricsAddr string) error {
	start := time.Now()
	ctx := cmd.Context()
	// The inputs first: a wrong path fails before anything is started or written.
	if _, err := model.LoadConfig(filepath.Join(cfg.Policy, "config.json")); err != nil {
		return fmt.Errorf("ppo: --policy %s is not a checkpoint: %w", cfg.Policy, err)
	}
	rm, err := train.LoadRewardModel(cfg.RM)
	if err != nil {
		return err
	}
	prompts, patches, err := train.LoadRLPrompts(cfg.Prompts, rm.M.Config.Vision)
	if err != nil {
		return err
	}
	if len(prompts) == 0 {
		return fmt.Errorf("ppo: %s has no prompts", cfg.Prompts)
	}
	var prom train.Metrics
	if metricsAddr != "" {
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return fmt.Errorf("ppo: metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", &prom)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		report("ppo: metrics at http://%s/metrics", ln.Addr())
	}
	if err := os.MkdirAll(cfg.Output, 0o755); err != nil {
		return err
	}
	lock, err := lockOutput(cfg.Output, "train ppo") // one learner per run folder
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := train.CheckPPOSettings(cfg); err != nil { // before the actors publish anything
		return err
	}
	if err := train.RecordPromptVideos(cfg.Output, prompts); err != nil { // eval warns when it scores them
		return err
	}
	if conn.URL == "" {
		srv, err := natsbus.StartEmbedded(filepath.Join(cfg.Output, "nats"))
		if err != nil {
			return err
		}
		defer srv.Shutdown()
		conn.URL = srv.ClientURL()
		report("ppo: embedded NATS server at %s (JetStream under %s)", conn.URL, filepath.Join(cfg.Output, "nats"))
	}
	bus := train.DefaultBus(conn.URL)
	bus.Conn = conn
	actx, stopActors := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, actors)
	// Actors pause while one batch waits undelivered: the learner then finds its next batch ready
	// without the queue growing stale (measured on the demo: two batches of lag gave staleness 1.85
	// and 32 of 352 rollouts dropped; one batch 1.38 and none, with the same ~0.02 s wait per step).
	for i := range actors {
		ac := train.ActorConfig{Name: fmt.Sprintf("actor%d", i), Policy: cfg.Policy, RM: cfg.RM, Rollout: cfg.Rollout,
			Batch: max(1, cfg.RolloutBatch/max(1, actors)), MaxLag: uint64(cfg.RolloutBatch), Seed: cfg.Seed + uint64(1000*i),
			WorkDir: filepath.Join(cfg.Output, "actors")}
		wg.Go(func() {
			if err := train.RunActor(actx, ac, bus, prompts, patches, i*len(prompts)/max(1, actors)); err != nil && actx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", ac.Name, err)
				stopActors()
			}
		})
	}
	report("ppo: %d prompts, %d actors, %d steps of %d rollouts", len(prompts), actors, cfg.Steps, cfg.RolloutBatch)
	st, err := train.RunLearner(actx, cfg, bus, patches, func(r train.LearnerReport) {
		prom.Observe(r)
		report("ppo: step %d/%d score %.3f reward %.3f KL %.3f entropy %.2f pg %.3f vf %.3f clip %.2f len %.1f stop %.2f stale %.1f (%.1fs, waited %.1fs)",
			r.Step, cfg.Steps, r.Score, r.Reward, r.KLSum, r.Entropy, r.PGLoss, r.VFLoss, r.ClipFrac, r.Length, r.StopRate, r.Staleness, r.Seconds, r.RolloutWait)
	})
	stopActors()
	wg.Wait()
	close(errs)
	var failed []error
	for e := range errs {
		failed = append(failed, e)
	}
	if runErr := ppoRunError(ctx, err, failed); runErr != nil {
		return runErr
	}
	report("ppo: %d steps, %d rollouts applied, %d dropped as stale → %s", st.Step, len(st.Applied), len(st.Dropped), cfg.Output)
	return writeSummary(cfg.Output, schemas.Summary{Command: "train ppo", WallSeconds: time.Since(start).Seconds(),
		Stages:   map[string]schemas.StageCounts{"ppo": {In: len(st.Applied) + len(st.Dropped), Out: st.Step}},
		Settings: map[string]any{"ppo": cfg, "actors": actors, "state": map[string]int{"step": st.Step, "version": st.Version, "applied": len(st.Applied), "dropped": len(st.Dropped)}}})
}

// ppoRunError is train ppo's error from the learner's and the actors' own failures. An actor's
// failure stops the actors and the learner; the learner then returns only a cancel, which is
// not reported (unless ctx, the user's, was cancelled too): the cause comes first, alone.
func ppoRunError(ctx context.Context, learner error, actors []error) error {
	if len(actors) > 0 && ctx.Err() == nil && errors.Is(learner, context.Canceled) {
		learner = nil
	}
	return errors.Join(append(actors, learner)...)
}

func rolloutCmd() *cobra.Command {
	var nf natsFlags
	ac := train.ActorConfig{Name: "actor", Rollout: train.DefaultRolloutParams(), Batch: 8, MaxLag: 32}
	var prompts, runner, endpoint string
	var epochs int
	cmd := &cobra.Command{
		Use:   "rollout --nats-url URL --policy SFT_CKPT --rm RM_CKPT --prompts GENERATE_DIR [--name actor1] [--runner prism]",
		Short: "A PPO actor: sample and score rollouts with the newest policy, publish them to NATS",
		Long: `rollout is one actor of 'vrlaif train ppo' running as its own process (on this host or another):
it loads the newest policy version from the run's JetStream object store (and again whenever the
learner publishes one), samples answers to the RL prompts, scores them with the reward model and
publishes each rollout to the run's stream with Nats-Msg-Id = its id. It pauses while the learner
has --max-lag rollouts waiting, and runs until Ctrl-C.

With --runner (prism, universal + --endpoint, dataflow, flink) the actor runs as a Beam streaming
pipeline instead: RL prompts are read from the run's prompts stream (Beam's natsio), sampled and
scored, and written to the rollouts stream, so rollout generation scales out on the same runners
as generate. --publish-prompts N first puts N epochs of the --prompts folder's prompts on that
stream (each epoch once: message ids are epoch/prompt).`,
		Example: "  vrlaif rollout --nats-url nats://learner:4222 --policy out/sft --rm out/rm --prompts out/gen --name actor3",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nf.opts.URL == "" || ac.Policy == "" || ac.RM == "" || prompts == "" {
				return fail(cmd, "--nats-url, --policy, --rm and --prompts are required")
			}
			rm, err := train.LoadRewardModel(ac.RM)
			if err != nil {
				return err
			}
			ps, patches, err := train.LoadRLPrompts(prompts, rm.M.Config.Vision)
			if err != nil {
				return err
			}
			bus := train.DefaultBus(nf.opts.URL)
			bus.Conn = nf.opts
			if ac.WorkDir == "" {
				ac.WorkDir = os.TempDir()
			}
			if runner == "" {
				report("rollout: %s on %s with %d prompts", ac.Name, natsbus.RedactURL(nf.opts.URL), len(ps))
				return train.RunActor(cmd.Context(), ac, bus, ps, patches, 0)
			}
			return runRolloutPipeline(cmd, bus, ac, ps, prompts, runner, endpoint, epochs)
		},
	}
	f := cmd.Flags()
	f.StringVar(&ac.Name, "name", ac.Name, "actor name (part of its rollout ids: give each actor its own)")
	f.StringVar(&ac.Policy, "policy", "", "policy-init checkpoint (required)")
	f.StringVar(&ac.RM, "rm", "", "reward-model checkpoint (required)")
	f.StringVar(&prompts, "prompts", "", "a generate folder (required)")
	f.IntVar(&ac.Batch, "batch", ac.Batch, "prompts sampled together")
	f.Uint64Var(&ac.MaxLag, "max-lag", ac.MaxLag, "pause while the learner has this many rollouts waiting")
	f.IntVar(&ac.Rollout.T, "response-len", ac.Rollout.T, "response slots T (must match the learner's)")
	f.Uint64Var(&ac.Seed, "seed", 7, "sampling seed")
	f.StringVar(&ac.WorkDir, "work-dir", "", "where policy versions are unpacked (default: the temp folder)")
	f.StringVar(&runner, "runner", "", "run as a Beam streaming pipeline on this runner (prism, universal, dataflow, flink)")
	f.StringVar(&endpoint, "endpoint", "", "job server for --runner universal or flink (HOST:PORT)")
	f.IntVar(&epochs, "publish-prompts", 0, "first publish this many epochs of the prompts to the prompts stream")
	nf.add(f, "the learner's NATS server (nats://host:4222; required: an actor has no server of its own)")
	return cmd
}

// runRolloutPipeline runs the streaming actor until Ctrl-C (a cancelled streaming run is a stop).
func runRolloutPipeline(cmd *cobra.Command, bus train.Bus, ac train.ActorConfig, ps []train.RLPrompt, genDir, runner, endpoint string, epochs int) error {
	ctx := cmd.Context()
	if bus.Conn.User != "" || bus.Conn.Password != "" || bus.Conn.Token != "" || bus.Conn.NKeySeedFile != "" || bus.Conn.TLSCert != "" {
		return fail(cmd, "the Beam actor reaches NATS by URL only (Beam's natsio takes a creds file on the workers); drop the other --nats-* flags")
	}
	nc, js, err := natsbus.Connect(ctx, bus.Conn)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := natsbus.EnsureStreams(ctx, js, bus.Prefix); err != nil {
		return err
	}
	for e := 0; e < epochs; e++ {
		if err := rollout.PublishPrompts(ctx, js, bus, ps, e); err != nil {
			return err
		}
	}
	for name, v := range map[string]string{"runner": runner, "endpoint": endpoint} {
		if v != "" {
			if err := flag.Set(name, v); err != nil {
				return err
			}
		}
	}
	if endpoint != "" {
		flag.Set("environment_type", "LOOPBACK")
	}
	p, s := beam.NewPipelineWithRoot()
	rollout.Pipeline(s, rollout.Config{URL: bus.Conn.URL, Bus: bus, Actor: ac, Prompts: genDir})
	report("rollout: streaming actor %s on %s (Ctrl-C stops it)", ac.Name, runner)
	_, err = beamrun.Run(ctx, p, os.Stderr, 10*time.Second)
	if ctx.Err() != nil {
		return nil // a cancelled streaming pipeline reports an error; it is the normal stop
	}
	return err
}
