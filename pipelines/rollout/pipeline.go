// Package rollout is the PPO actor as a Beam streaming pipeline: RL prompts read from the run's
// JetStream prompts stream (Beam's natsio) → a response sampled with the newest policy version
// (reloaded when the learner publishes one) and scored by the reward model → rollouts written to
// the rollouts stream (natsio, Nats-Msg-Id = the rollout id), so rollout generation scales out on
// the same runners as the generate pipeline.
package rollout

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/natsio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vrlaif/vrlaif/internal/natsbus"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/pipelines/train"
)

func init() {
	register.DoFn4x1[context.Context, natsio.ConsumerMessage, func(natsio.ProducerMessage), func(string), error](&sampleFn{})
	register.Emitter1[natsio.ProducerMessage]()
	register.Emitter1[string]()
}

// Config is plain data (it travels in the DoFn).
type Config struct {
	URL      string            `json:"url"` // NATS server; credentials are not carried (use a creds file on workers)
	Bus      train.Bus         `json:"bus"`
	Actor    train.ActorConfig `json:"actor"`
	Prompts  string            `json:"prompts"`           // the generate folder the prompts and their clips come from
	EndSeqNo int64             `json:"end_seq,omitempty"` // bounded read (tests): stop before this prompt sequence number
}

// Pipeline adds prompts → sample → rollouts to s; it returns the rollout ids written and the dead
// letters (prompts that could not be sampled, as text).
func Pipeline(s beam.Scope, cfg Config) (written, failed beam.PCollection) {
	s = s.Scope("rollout")
	var opts []natsio.ReadOptionFn
	if cfg.EndSeqNo > 0 {
		opts = append(opts, natsio.ReadEndSeqNo(cfg.EndSeqNo))
	}
	prompts := natsio.Read(s, cfg.URL, natsbus.PromptsStream(cfg.Bus.Prefix), cfg.Bus.Prefix+".prompts.>", opts...)
	prompts = beam.Reshuffle(s, prompts) // Prism busy-waits on a fused streaming read otherwise (toolchain notes)
	msgs, failed := beam.ParDo2(s, &sampleFn{Cfg: cfg}, prompts)
	acks := natsio.Write(s, cfg.URL, msgs)
	return beam.ParDo(s, ackID, acks), failed
}

func ackID(a natsio.PublishAck) string { return a.ID }

func init() { register.Function1x1(ackID) }

// sampleFn samples one rollout per prompt message with the newest policy version.
type sampleFn struct {
	Cfg Config `json:"cfg"`

	nc      *nats.Conn
	js      jetstream.JetStream
	rm      *train.RewardModel
	policy  *model.Model
	patches map[string][]float32
	version int
	checked time.Time
}

func (f *sampleFn) Setup(ctx context.Context) error {
	var err error
	f.nc, f.js, err = natsbus.Connect(ctx, natsbus.ConnOptions{URL: f.Cfg.URL, Name: "vrlaif-rollout"})
	if err != nil {
		return err
	}
	if f.rm, err = train.LoadRewardModel(f.Cfg.Actor.RM); err != nil {
		return err
	}
	if f.policy, err = model.Load(f.Cfg.Actor.Policy); err != nil {
		return err
	}
	_, f.patches, err = train.LoadRLPrompts(f.Cfg.Prompts, f.rm.M.Config.Vision)
	f.version = -1
	return err
}

func (f *sampleFn) Teardown() {
	if f.nc != nil {
		f.nc.Close()
	}
}

// refresh loads the newest policy version, looking at most once a second.
func (f *sampleFn) refresh(ctx context.Context) error {
	if f.version >= 0 && time.Since(f.checked) < time.Second {
		return nil
	}
	f.checked = time.Now()
	latest, err := natsbus.LatestVersion(ctx, f.js, f.Cfg.Bus.Weights)
	if err != nil || latest == f.version {
		if f.version < 0 {
			return fmt.Errorf("rollout: no policy version published yet: %w", err)
		}
		return nil
	}
	dir, err := os.MkdirTemp(f.Cfg.Actor.WorkDir, "policy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dst := filepath.Join(dir, "v")
	if err := natsbus.GetWeights(ctx, f.js, f.Cfg.Bus.Weights, latest, dst); err != nil {
		return err
	}
	if f.policy.LoRA == nil {
		err = model.LoadLoRA(dst, f.policy)
	} else {
		err = model.LoadLoRAWeights(dst, f.policy)
	}
	if err != nil {
		return err
	}
	f.version = latest
	return nil
}

func (f *sampleFn) ProcessElement(ctx context.Context, m natsio.ConsumerMessage, emit func(natsio.ProducerMessage), fail func(string)) error {
	var p train.RLPrompt
	if err := json.Unmarshal(m.Data, &p); err != nil || p.ID == "" {
		fail(fmt.Sprintf("prompt message %s: not an RL prompt", m.ID))
		return nil
	}
	if err := f.refresh(ctx); err != nil {
		return err // the runner retries the bundle
	}
	h := sha256.Sum256([]byte(m.ID + "\x00" + p.ID))
	seed := binary.LittleEndian.Uint64(h[:8])
	rs, err := train.Sample(f.policy, f.rm.Tok, f.rm, []train.RLPrompt{p}, f.patches, f.Cfg.Actor.Rollout, f.version,
		f.Cfg.Actor.Name, seed, 0)
	if err != nil {
		fail(fmt.Sprintf("prompt %s: %v", p.ID, err))
		return nil
	}
	r := rs[0]
	r.ID = train.RolloutID(p.ID+"#"+m.ID, f.version, f.Cfg.Actor.Name, 0)
	b := train.EncodeRollout(r)
	emit(natsio.ProducerMessage{Subject: natsbus.RolloutsSubject(f.Cfg.Bus.Prefix, f.Cfg.Actor.Name), ID: r.ID, Data: b,
		Headers: map[string][]string{train.HeaderVersion: {strconv.Itoa(r.Version)}, train.HeaderActor: {f.Cfg.Actor.Name}}})
	return nil
}

// PublishPrompts puts RL prompts on the prompts stream (Nats-Msg-Id = epoch and prompt id, so
// publishing an epoch twice stores it once).
func PublishPrompts(ctx context.Context, js jetstream.JetStream, bus train.Bus, prompts []train.RLPrompt, epoch int) error {
	for _, p := range prompts {
		b, _ := json.Marshal(p)
		if _, err := natsbus.Publish(ctx, js, natsbus.PromptsSubject(bus.Prefix, "all"), b, fmt.Sprintf("e%d/%s", epoch, p.ID), nil); err != nil {
			return err
		}
	}
	return nil
}
