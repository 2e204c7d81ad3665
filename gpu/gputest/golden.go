package gputest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/vrlaif/vrlaif/gpu"
)

// goldenJSON is a verbatim copy of shared/testdata/ppo/golden.json (sha256 2b28ad0b…d148ca):
// inputs and expected values from an independent implementation of the seed's PPO math.
//
//go:embed testdata/golden.json
var goldenJSON []byte

type goldenRollout struct {
	LogprobsOld []float64 `json:"logprobs_old"`
	RefLogprobs []float64 `json:"ref_logprobs"`
	LogprobsNew []float64 `json:"logprobs_new"`
	ValuesOld   []float64 `json:"values_old"`
	ValuesNew   []float64 `json:"values_new"`
	Score       float64   `json:"score"`
	HasStop     bool      `json:"has_stop"`
	Length      int32     `json:"length"`
}

type goldenCase struct {
	Name  string `json:"name"`
	Input struct {
		T           int             `json:"T"`
		Beta        float64         `json:"beta"`
		Penalty     float64         `json:"penalty"`
		LengthBonus float64         `json:"length_bonus"`
		Scale       float64         `json:"scale"`
		Gamma       float64         `json:"gamma"`
		Lam         float64         `json:"lam"`
		Clip        float64         `json:"clip"`
		ClipValue   float64         `json:"clip_value"`
		VFCoef      float64         `json:"vf_coef"`
		Rollouts    []goldenRollout `json:"rollouts"`
	} `json:"input"`
	Expected struct {
		KL         [][]float64 `json:"kl"`
		Shaped     [][]float64 `json:"shaped"`
		Advantages [][]float64 `json:"advantages"`
		Returns    [][]float64 `json:"returns"`
		Whitened   [][]float64 `json:"whitened"`
		LossPG     float64     `json:"loss_pg"`
		LossVF     float64     `json:"loss_vf"`
		Loss       float64     `json:"loss"`
	} `json:"expected"`
}

// goldenBatch is one golden case in the device's layout.
type goldenBatch struct {
	B, T                                            int
	logpOld, logpRef, logpNew, valuesOld, valuesNew []float32 // [B,T]
	score                                           []float32 // [B]
	hasStop                                         []bool    // [B]
	lengths                                         []int32   // [B]
	params                                          gpu.Params
}

func loadGolden(t *testing.T) []goldenCase {
	t.Helper()
	var f struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(goldenJSON, &f); err != nil {
		t.Fatalf("decoding golden.json: %v", err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("golden.json has no cases")
	}
	return f.Cases
}

func (c *goldenCase) batch() goldenBatch {
	in := c.Input
	g := goldenBatch{B: len(in.Rollouts), T: in.T}
	for _, r := range in.Rollouts {
		g.logpOld = append(g.logpOld, f32(r.LogprobsOld)...)
		g.logpRef = append(g.logpRef, f32(r.RefLogprobs)...)
		g.logpNew = append(g.logpNew, f32(r.LogprobsNew)...)
		g.valuesOld = append(g.valuesOld, f32(r.ValuesOld)...)
		g.valuesNew = append(g.valuesNew, f32(r.ValuesNew)...)
		g.score = append(g.score, float32(r.Score))
		g.hasStop = append(g.hasStop, r.HasStop)
		g.lengths = append(g.lengths, r.Length)
	}
	g.params = gpu.Params{
		Reward: gpu.RewardParams{KLCoef: float32(in.Beta), StopPenalty: float32(in.Penalty),
			LengthBonus: float32(in.LengthBonus), Scale: float32(in.Scale)},
		Gamma: float32(in.Gamma), Lambda: float32(in.Lam), WhitenEps: 1e-8,
		Loss:   gpu.LossParams{ClipRange: float32(in.Clip), ClipRangeValue: float32(in.ClipValue)},
		VFCoef: float32(in.VFCoef),
	}
	return g
}

// Golden runs every golden.json case through the whole chain on d
// (KL → ShapeRewards → GAE → Whiten → losses, each step fed by d's own previous outputs) and
// compares every intermediate and the losses with tolerance exact. It also runs the losses on the
// golden whitened advantages and returns, which isolates them from the steps before.
func Golden(t *testing.T, d gpu.Device) {
	for _, c := range loadGolden(t) {
		t.Run(c.Name, func(t *testing.T) {
			g := c.batch()
			B, T, p := g.B, g.T, g.params
			if p != gpu.SeedParams() {
				t.Errorf("golden constants %+v differ from gpu.SeedParams() %+v", p, gpu.SeedParams())
			}
			kl, rew := guarded(B*T, 0), guarded(B*T, 0)
			adv, ret, white := guarded(B*T, 0), guarded(B*T, 0), guarded(B*T, 0)
			must(t, d.KL(kl.S, g.logpOld, g.logpRef, g.lengths, B, T))
			must(t, d.ShapeRewards(rew.S, kl.S, g.score, g.hasStop, g.lengths, p.Reward, B, T))
			must(t, d.GAE(adv.S, ret.S, rew.S, g.valuesOld, p.Gamma, p.Lambda, B, T))
			mean, std, err := d.Whiten(white.S, adv.S, p.WhitenEps, B*T)
			must(t, err)
			pg, err := d.PolicyLossForward(g.logpNew, g.logpOld, white.S, g.lengths, p.Loss, B, T)
			must(t, err)
			vf, err := d.ValueLossForward(g.valuesNew, g.valuesOld, ret.S, g.lengths, p.Loss, B, T)
			must(t, err)

			e := c.Expected
			var diffs []string // per quantity: max |got − want|
			note := func(name string, d float64) { diffs = append(diffs, fmt.Sprintf("%s %.2g", name, d)) }
			scalar := func(name string, got float32, want float64) { note(name, checkScalar(t, name, got, want, exact)) }
			for _, r := range []struct {
				name string
				o    out
				want [][]float64
			}{{"kl", kl, e.KL}, {"shaped", rew, e.Shaped}, {"advantages", adv, e.Advantages},
				{"returns", ret, e.Returns}, {"whitened", white, e.Whitened}} {
				note(r.name, check(t, r.name, r.o.S, flat(r.want), exact))
				r.o.Check(t, r.name)
			}
			wantAdv := flat(e.Advantages)
			scalar("whiten mean", mean, meanOf(wantAdv))
			scalar("whiten std", std, popStd(wantAdv))
			scalar("loss_pg", pg.Loss, e.LossPG)
			scalar("loss_vf", vf.Loss, e.LossVF)
			scalar("loss", gpu.TotalLoss(pg, vf, p.VFCoef), e.Loss)

			// The losses alone, on golden.json's own whitened advantages and returns.
			pg2, err := d.PolicyLossForward(g.logpNew, g.logpOld, f32(flat(e.Whitened)), g.lengths, p.Loss, B, T)
			must(t, err)
			vf2, err := d.ValueLossForward(g.valuesNew, g.valuesOld, f32(flat(e.Returns)), g.lengths, p.Loss, B, T)
			must(t, err)
			scalar("loss_pg (golden inputs)", pg2.Loss, e.LossPG)
			scalar("loss_vf (golden inputs)", vf2.Loss, e.LossVF)
			t.Logf("max |got − want|: %s", strings.Join(diffs, ", "))
		})
	}
}

func meanOf(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func popStd(x []float64) float64 {
	m := meanOf(x)
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return math.Sqrt(ss / float64(len(x)))
}
