package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/internal/natsbus"
	"github.com/vrlaif/vrlaif/model"
)

// Bus names the NATS resources of one PPO run.
type Bus struct {
	Conn    natsbus.ConnOptions `json:"-"`
	Prefix  string              `json:"prefix"`  // streams <PREFIX>_ROLLOUTS, subjects <prefix>.rollouts.<actor>
	Weights string              `json:"weights"` // object-store bucket of policy versions
	Durable string              `json:"durable"` // the learner's consumer
}

// DefaultBus is the demo's naming.
func DefaultBus(url string) Bus {
	return Bus{Conn: natsbus.ConnOptions{URL: url, Name: "vrlaif"}, Prefix: "vrlaif", Weights: "vrlaif_policy", Durable: "learner"}
}

// MaxInline is the largest rollout published inline; bigger ones go to the object store bucket
// <prefix>_rollouts and the message carries a reference (the server's default max_payload is 1 MiB).
var MaxInline = 512 << 10

func rolloutBucket(bus Bus) string { return bus.Prefix + "_rollouts" }

// publishRollout publishes r inline, or by reference when it is larger than MaxInline.
func publishRollout(ctx context.Context, js jetstream.JetStream, bus Bus, r Rollout) error {
	b := EncodeRollout(r)
	if len(b) > MaxInline {
		obs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: rolloutBucket(bus), Storage: jetstream.FileStorage})
		if err != nil {
			return fmt.Errorf("rollout %s: object store: %w", r.ID, err)
		}
		if _, err := obs.PutBytes(ctx, r.ID, b); err != nil {
			return fmt.Errorf("rollout %s: storing it by reference: %w", r.ID, err)
		}
		b = EncodeRollout(Rollout{ID: r.ID, Version: r.Version, Actor: r.Actor, Ref: rolloutBucket(bus) + "/" + r.ID})
	}
	_, err := natsbus.Publish(ctx, js, natsbus.RolloutsSubject(bus.Prefix, r.Actor), b, r.ID,
		map[string]string{HeaderVersion: strconv.Itoa(r.Version), HeaderActor: r.Actor})
	return err
}

// resolveRollout fetches a rollout published by reference.
func resolveRollout(ctx context.Context, js jetstream.JetStream, bus Bus, r Rollout) (Rollout, error) {
	if r.Ref == "" {
		return r, nil
	}
	obs, err := js.ObjectStore(ctx, rolloutBucket(bus))
	if err != nil {
		return r, err
	}
	b, err := obs.GetBytes(ctx, r.ID)
	if err != nil {
		return r, err
	}
	full, err := DecodeRollout(b)
	if err != nil || full.ID != r.ID {
		return r, fmt.Errorf("rollout %s: the stored object is not this rollout", r.ID)
	}
	return full, nil
}

// Header keys of a published rollout.
const (
	HeaderVersion = "Vrlaif-Policy-Version"
	HeaderActor   = "Vrlaif-Actor"
)

// LearnerReport is one step's metrics plus the run's rollout accounting.
type LearnerReport struct {
	StepMetrics
	Applied    int    `json:"applied_total"`
	Dropped    int    `json:"dropped_stale_total"`
	Duplicates int    `json:"duplicates"` // redelivered rollouts already applied or dropped (after a crash), this process
	Malformed  int    `json:"malformed"`  // messages that were not rollouts, this process
	Lag        uint64 `json:"consumer_lag"`
}

// RunLearner consumes rollouts from the bus and runs PPO steps until cfg.Steps are done, resuming
// from out's checkpoint. After each step it commits the checkpoint, publishes the new policy
// version, and only then acknowledges the rollouts it used (a crash before the ack redelivers them;
// the checkpoint's list of applied ids makes the redelivered ones count once).
func RunLearner(ctx context.Context, cfg PPOConfig, bus Bus, patches map[string][]float32, report func(LearnerReport)) (LearnerState, error) {
	dev, err := gpu.Open(cfg.Device)
	if err != nil {
		return LearnerState{}, err
	}
	defer dev.Close()
	gemm, err := gpu.UseGemm(dev, cfg.Gemm)
	if err != nil {
		return LearnerState{}, err
	}
	if gemm != "cpu" {
		slog.Info("ppo: learner on "+cfg.Device, "matrix products", gemm, "models on the device", !cfg.DeviceMathOnly)
	}
	l, err := NewLearner(cfg, dev)
	if err != nil {
		return LearnerState{}, err
	}
	if err := CheckPPOSettings(cfg); err != nil {
		return LearnerState{}, err
	}
	st, resumed, err := l.Resume(cfg.Output)
	if err != nil {
		return st, err
	}
	seen := map[string]bool{} // applied or dropped: acknowledged without applying when redelivered
	for _, id := range append(append([]string{}, st.Applied...), st.Dropped...) {
		seen[id] = true
	}
	nc, js, err := natsbus.Connect(ctx, bus.Conn)
	if err != nil {
		return st, err
	}
	defer nc.Close()
	if err := natsbus.EnsureStreams(ctx, js, bus.Prefix); err != nil {
		return st, err
	}
	// Publish the current policy if the bus does not have it yet (a fresh run, or a crash between
	// the checkpoint commit and the publish).
	if latest, err := natsbus.LatestVersion(ctx, js, bus.Weights); err != nil || latest < st.Version {
		if !resumed {
			if err := l.Save(cfg.Output, st); err != nil {
				return st, err
			}
		}
		if err := natsbus.PutWeights(ctx, js, bus.Weights, st.Version, PolicyDir(cfg.Output)); err != nil {
			return st, err
		}
	}
	ccfg := natsbus.ConsumerConfig{Stream: natsbus.RolloutsStream(bus.Prefix), Durable: bus.Durable, AckWait: cfg.AckWait}
	cons, err := natsbus.NewConsumer(ctx, js, ccfg)
	if err != nil {
		return st, err
	}
	in := newIntake(cons, ccfg, js, bus, seen, cfg.MaxStaleness)
	for st.Step < cfg.Steps {
		waitStart := time.Now()
		batch, used, skipped, err := in.gather(ctx, cfg.RolloutBatch, &st)
		if err != nil {
			return st, err
		}
		met, err := l.Step(batch, patches, st.Step, st.Version)
		if err != nil {
			return st, err
		}
		met.RolloutWait = time.Since(waitStart).Seconds() - met.Seconds
		st.Step++
		st.Version++
		for _, r := range batch {
			st.Applied = append(st.Applied, r.ID)
		}
		if err := l.Save(cfg.Output, st); err != nil {
			return st, err
		}
		in.committed()
		if err := retryNATS(ctx, "publishing the policy", func() error {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			return natsbus.PutWeights(pctx, js, bus.Weights, st.Version, PolicyDir(cfg.Output))
		}); err != nil {
			return st, err
		}
		// An ack lost to a disconnect only means a redelivery, which the applied ids absorb.
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = in.cons.Ack(actx, append(used, skipped...))
		cancel()
		if err != nil {
			slog.Warn("ppo: acknowledging rollouts failed; they will be redelivered and counted as duplicates", "err", err)
		}
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		lag, _, _ := in.cons.Lag(lctx)
		cancel()
		rep := LearnerReport{StepMetrics: met, Applied: len(st.Applied), Dropped: len(st.Dropped), Duplicates: in.dups, Malformed: in.bad, Lag: lag}
		if err := appendJSONL(filepath.Join(cfg.Output, "metrics.jsonl"), rep); err != nil {
			return st, err
		}
		if report != nil {
			report(rep)
		}
	}
	return st, nil
}

// retryNATS retries fn while the NATS server is unreachable (a restart, a network blip): with
// backoff from 200 ms to 5 s, until it succeeds or ctx ends.
func retryNATS(ctx context.Context, what string, fn func() error) error {
	wait := 200 * time.Millisecond
	for {
		err := fn()
		if err == nil || ctx.Err() != nil {
			return err
		}
		slog.Warn("ppo: "+what+" failed; retrying", "err", err, "in", wait)
		sleepCtx(ctx, wait)
		wait = min(2*wait, 5*time.Second)
	}
}

// intake turns fetched messages into a batch of rollouts to apply: it resolves references, and
// sets aside (to be acked, not applied) redeliveries of rollouts already applied or dropped,
// rollouts too stale to use (recorded in the state), and messages that are not rollouts.
//
// Messages that can never be applied and need no record (a redelivery of a rollout the last
// commit already holds, a message that is not a rollout) are acknowledged at once. Holding them
// until the step commits, as an earlier version did, stalled runs after a learner crash: they
// kept the consumer's ack-pending count up, and with enough of them the learner waited for
// fresh rollouts while the actors waited for the learner.
type intake struct {
	cons      *natsbus.Consumer
	cfg       natsbus.ConsumerConfig // to bind the consumer again after a connection loss
	empty     int                    // fetches in a row that returned nothing
	js        jetstream.JetStream
	bus       Bus
	seen      map[string]bool // applied or dropped in the committed checkpoint
	inStep    map[string]bool // taken into the step being gathered or dropped during it (not committed yet)
	maxStale  int
	dups, bad int
}

// newIntake reads from cons; seen holds the ids the committed checkpoint applied or dropped.
func newIntake(cons *natsbus.Consumer, cfg natsbus.ConsumerConfig, js jetstream.JetStream, bus Bus, seen map[string]bool, maxStale int) *intake {
	return &intake{cons: cons, cfg: cfg, js: js, bus: bus, seen: seen, inStep: map[string]bool{}, maxStale: maxStale}
}

// committed marks the ids of the step just committed as seen.
func (in *intake) committed() {
	for id := range in.inStep {
		in.seen[id] = true
	}
	clear(in.inStep)
}

// ackNow acknowledges a message that needs no commit; a lost ack only means a redelivery,
// which is absorbed the same way.
func (in *intake) ackNow(m jetstream.Msg) {
	if err := m.Ack(); err != nil {
		slog.Debug("ppo: acknowledging a duplicate failed; it will come back", "err", err)
	}
}

func (in *intake) gather(ctx context.Context, n int, st *LearnerState) (batch []Rollout, used, skipped []jetstream.Msg, err error) {
	for len(batch) < n {
		var msgs []jetstream.Msg
		failed := false
		err := retryNATS(ctx, "fetching rollouts", func() error {
			fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if (failed || in.empty >= 5) && in.cfg.Durable != "" {
				// After a connection loss (or a long silence) bind the durable consumer again: a
				// pull subscription from before a server restart can stay deaf afterwards.
				if c, err := natsbus.NewConsumer(fctx, in.js, in.cfg); err == nil {
					in.cons, in.empty = c, 0
				}
			}
			var err error
			msgs, err = in.cons.Fetch(fctx, n-len(batch), 2*time.Second)
			failed = err != nil
			return err
		})
		if err != nil {
			return nil, nil, nil, err
		}
		if len(msgs) == 0 {
			in.empty++
		} else {
			in.empty = 0
		}
		for _, m := range msgs {
			r, err := DecodeRollout(m.Data())
			if err != nil || r.ID == "" {
				in.bad++ // not a rollout: acknowledged and counted, never applied
				in.ackNow(m)
				continue
			}
			if !in.seen[r.ID] && !in.inStep[r.ID] && r.Ref != "" {
				full, err := resolveRollout(ctx, in.js, in.bus, r)
				if err != nil {
					return nil, nil, nil, fmt.Errorf("ppo: %w", err) // not acked: redelivered once the store answers again
				}
				r = full
			}
			switch {
			case in.seen[r.ID]:
				in.dups++
				in.ackNow(m)
			case in.inStep[r.ID]:
				// Redelivered while this step gathers or runs: acknowledging it now would lose the
				// rollout if the learner crashed before the commit. It is acked with the step.
				in.dups++
				skipped = append(skipped, m)
			case r.Version < st.Version-in.maxStale:
				st.Dropped = append(st.Dropped, r.ID) // recorded by the commit, acked after it
				in.inStep[r.ID] = true
				skipped = append(skipped, m)
			default:
				batch = append(batch, r)
				used = append(used, m)
				in.inStep[r.ID] = true
			}
		}
	}
	return batch, used, skipped, nil
}

func appendJSONL(path string, v any) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(v)
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ActorConfig configures an actor.
type ActorConfig struct {
	Name    string        `json:"name"`
	Policy  string        `json:"policy"` // the policy-init checkpoint (base of the LoRA versions)
	RM      string        `json:"rm"`
	Rollout RolloutParams `json:"rollout"`
	Batch   int           `json:"batch"`   // prompts sampled together
	MaxLag  uint64        `json:"max_lag"` // pause while the learner has this many rollouts waiting
	Seed    uint64        `json:"seed"`
	WorkDir string        `json:"work_dir"` // where policy versions are unpacked
}

// RunActor samples rollouts with the newest policy version on the bus, scores them with the
// reward model, and publishes each with Nats-Msg-Id = its id, until ctx ends. Rollout ids are
// deterministic in (prompt, version, actor, counter), so an actor restarted from the same state
// republishes the same ids and the stream stores each once.
func RunActor(ctx context.Context, cfg ActorConfig, bus Bus, prompts []RLPrompt, patches map[string][]float32, offset int) error {
	nc, js, err := natsbus.Connect(ctx, bus.Conn)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := natsbus.EnsureStreams(ctx, js, bus.Prefix); err != nil {
		return err
	}
	rm, err := LoadRewardModel(cfg.RM)
	if err != nil {
		return err
	}
	policy, err := model.Load(cfg.Policy)
	if err != nil {
		return err
	}
	tok := rm.Tok
	version, counter := -1, int64(0)
	next := offset
	var pausedSince, pausedLog time.Time
	for ctx.Err() == nil {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second) // a request lost in a server restart must not hang the actor
		latest, err := natsbus.LatestVersion(tctx, js, bus.Weights)
		cancel()
		if err != nil { // no version yet, or the server is restarting: wait and look again
			if !errors.Is(err, natsbus.ErrNoWeights) {
				slog.Warn("rollout: reading the policy version failed; retrying", "actor", cfg.Name, "err", err)
			}
			sleepCtx(ctx, 200*time.Millisecond)
			continue
		}
		if latest != version {
			dir := filepath.Join(cfg.WorkDir, fmt.Sprintf("%s-v%06d", cfg.Name, latest))
			os.RemoveAll(dir)
			gctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := natsbus.GetWeights(gctx, js, bus.Weights, latest, dir)
			cancel()
			if err != nil {
				slog.Warn("rollout: fetching the policy failed; retrying", "actor", cfg.Name, "version", latest, "err", err)
				sleepCtx(ctx, 500*time.Millisecond)
				continue
			}
			if policy.LoRA == nil {
				if err := model.LoadLoRA(dir, policy); err != nil {
					return err
				}
			} else if err := model.LoadLoRAWeights(dir, policy); err != nil {
				return err
			}
			os.RemoveAll(dir)
			version = latest
		}
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		pending, err := learnerLag(lctx, js, bus)
		cancel()
		if err == nil && pending >= cfg.MaxLag {
			// The learner is behind: do not run ahead of it.
			if pausedSince.IsZero() {
				pausedSince = time.Now()
			} else if time.Since(pausedSince) > 30*time.Second && time.Since(pausedLog) > 30*time.Second {
				slog.Info("rollout: paused: the learner has not taken the rollouts waiting for it", "actor", cfg.Name,
					"waiting", pending, "for", time.Since(pausedSince).Round(time.Second))
				pausedLog = time.Now()
			}
			sleepCtx(ctx, 100*time.Millisecond)
			continue
		}
		pausedSince = time.Time{}
		batch := make([]RLPrompt, cfg.Batch)
		for i := range batch {
			batch[i] = prompts[next%len(prompts)]
			next++
		}
		rs, err := Sample(policy, tok, rm, batch, patches, cfg.Rollout, version, cfg.Name, cfg.Seed+uint64(counter), counter)
		if err != nil {
			return err
		}
		counter += int64(len(rs))
		for _, r := range rs {
			if err := publishRollout(ctx, js, bus, r); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
	return nil
}

// learnerLag returns the rollouts waiting for the learner: in the stream and not yet delivered
// to its consumer. Rollouts delivered and not yet acknowledged do not count: the learner holds
// them (its batch, or a crashed learner's batch coming back after AckWait), and counting them
// could pause the actors while the learner waits for fresh rollouts.
//
// It reads the consumer without creating or changing it: an actor binding the durable with its
// own settings would reset the learner's AckWait (found as a stalled run: the learner's un-acked
// batch then stayed pending for the default 5 minutes). No consumer yet reads as no lag.
func learnerLag(ctx context.Context, js jetstream.JetStream, bus Bus) (pending uint64, err error) {
	c, err := js.Consumer(ctx, natsbus.RolloutsStream(bus.Prefix), bus.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
