package rollout

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/backend/backendtest"
	"github.com/vrlaif/vrlaif/internal/natsbus"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/pipelines/generate"
	"github.com/vrlaif/vrlaif/pipelines/train"
	"github.com/vrlaif/vrlaif/synth"
	"github.com/vrlaif/vrlaif/transforms/frames"
	"github.com/vrlaif/vrlaif/transforms/narrative"
	"github.com/vrlaif/vrlaif/transforms/sample"
)

func TestMain(m *testing.M) { ptest.Main(m) }

// The streaming actor on Prism: prompts published to the prompts stream come out as scored
// rollouts on the rollouts stream, one per prompt, with Nats-Msg-Id = the rollout id and the
// policy version in a header.
func TestRolloutPipelineOnPrism(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ckpt := backendtest.Checkpoint(t)
	world := filepath.Join(dir, "world")
	sp := synth.DefaultParams()
	sp.N = 1
	if _, err := synth.Generate(ctx, world, sp, nil); err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(dir, "gen")
	b := backend.Config{Name: "builtin", Model: ckpt}
	fp := frames.DefaultParams()
	fp.Frames, fp.Size = 8, 32
	spar := sample.DefaultParams(b)
	spar.MaxTokens, spar.K = 4, 1
	if _, err := generate.Run(ctx, generate.Config{Input: generate.Input{Spec: world}, Output: gen, Frames: fp,
		Narrative: narrative.Params{Backend: b, MaxTokens: 4}, Sample: spar}, nil); err != nil {
		t.Fatal(err)
	}
	r, err := train.NewRewardModel(ckpt, model.LoRAConfig{PeftType: "LORA", Rank: 2, Alpha: 4, TargetModules: []string{"q_proj"}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	rmDir := filepath.Join(dir, "rm")
	r.Save(rmDir)
	pol, _ := model.Load(ckpt)
	pol.AttachLoRA(model.LoRAConfig{PeftType: "LORA", Rank: 2, Alpha: 4, TargetModules: []string{"q_proj"}}, 1)
	polDir := filepath.Join(dir, "policy")
	model.SaveLoRA(polDir, pol)

	srv, err := natsbus.StartEmbedded(filepath.Join(dir, "nats"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	bus := train.DefaultBus(srv.ClientURL())
	nc, js, err := natsbus.Connect(ctx, bus.Conn)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := natsbus.EnsureStreams(ctx, js, bus.Prefix); err != nil {
		t.Fatal(err)
	}
	if err := natsbus.PutWeights(ctx, js, bus.Weights, 0, polDir); err != nil {
		t.Fatal(err)
	}
	prompts, _, err := train.LoadRLPrompts(gen, r.M.Config.Vision)
	if err != nil {
		t.Fatal(err)
	}
	prompts = prompts[:5]
	if err := PublishPrompts(ctx, js, bus, prompts, 0); err != nil {
		t.Fatal(err)
	}
	ac := train.ActorConfig{Name: "beam", Policy: ckpt, RM: rmDir, Rollout: train.DefaultRolloutParams(), WorkDir: dir}
	ac.Rollout.T = 8
	p, s := beam.NewPipelineWithRoot()
	written, failed := Pipeline(s, Config{URL: srv.ClientURL(), Bus: bus, Actor: ac, Prompts: gen, EndSeqNo: int64(len(prompts) + 1)})
	passert.Count(s, written, "rollouts written", len(prompts))
	passert.Empty(s, failed)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	cons, err := natsbus.NewConsumer(ctx, js, natsbus.ConsumerConfig{Stream: natsbus.RolloutsStream(bus.Prefix), Durable: "check"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := cons.Fetch(ctx, 10, 2*time.Second)
	if err != nil || len(msgs) != len(prompts) {
		t.Fatalf("%d rollouts in the stream: %v", len(msgs), err)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		ro, err := train.DecodeRollout(m.Data())
		if err != nil || ro.Version != 0 || len(ro.Response) == 0 ||
			m.Headers().Get("Nats-Msg-Id") != ro.ID || m.Headers().Get(train.HeaderVersion) != "0" {
			t.Errorf("rollout %+v headers %v: %v", ro.ID, m.Headers(), err)
		}
		seen[ro.PromptID] = true
	}
	if len(seen) != len(prompts) {
		t.Errorf("%d distinct prompts answered of %d", len(seen), len(prompts))
	}
}
