package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vrlaif/vrlaif/internal/atomicfile"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/internal/reviewmarks"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/schemas"
)

// RMConfig configures reward-model training (reference §3.4; sizes scaled to the built-in model).
type RMConfig struct {
	Data  string `json:"data"`  // a 'vrlaif feedback' folder (preferences/), or the seed's RM JSON
	Clips string `json:"clips"` // a clips dataset or generate folder (default: the feedback run's input)
	// IncludeMarked keeps pairs a reviewer marked wrong on the web page (review_marks/); by
	// default they are left out, as 'vrlaif export --format rm' does.
	IncludeMarked bool    `json:"include_marked"`
	ImageFolder   string  `json:"image_folder"` // frames root for seed RM JSON
	Base          string  `json:"base"`         // the SFT checkpoint
	Output        string  `json:"output"`
	Rank          int     `json:"lora_r"`
	Alpha         float32 `json:"lora_alpha"`
	LR            float32 `json:"lr"`
	WarmupRatio   float64 `json:"warmup_ratio"` // constant with warm-up (the seed's 0.03)
	Epochs        int     `json:"epochs"`
	BatchPairs    int     `json:"batch_pairs"`
	MaxGradNorm   float32 `json:"max_grad_norm"` // the seed's 0.3
	Heldout       float64 `json:"heldout"`       // fraction of pairs held out for evaluation
	Seed          uint64  `json:"seed"`          // the seed's 42
	SaveEvery     int     `json:"save_every"`    // progress saved every N steps (and when interrupted)
}

// DefaultRMConfig: the seed's schedule and loss with a learning rate and LoRA size for the
// built-in model (the seed's r=64, α=16, lr 2e-5 are for a 13B model).
func DefaultRMConfig() RMConfig {
	return RMConfig{Rank: 8, Alpha: 16, LR: 1e-3, WarmupRatio: 0.03, Epochs: 2, BatchPairs: 8, MaxGradNorm: 0.3,
		Heldout: 0.1, Seed: 42, SaveEvery: 50}
}

// RMPair is one preference: two responses to a question about a video; Chosen is 1 or 2.
type RMPair struct {
	ID       string
	Question string
	Out      [2]string
	Chosen   int32
	Patches  []float32
}

// RMMetrics are the seed's metrics over a set of pairs.
type RMMetrics struct {
	Pairs             int     `json:"pairs"`
	Accuracy          float64 `json:"accuracy"`            // mean[(r2 − r1 ≥ 0) == (chosen = 2)]
	LabelPositiveRate float64 `json:"label_positive_rate"` // share of pairs with chosen = 2
	AverageScore      float64 `json:"average_score"`       // mean reward over both responses
	Loss              float64 `json:"loss"`
}

// RMResult is what training reports.
type RMResult struct {
	Steps   int       `json:"steps"`
	Train   RMMetrics `json:"train"`
	Heldout RMMetrics `json:"heldout"`
	Seconds float64   `json:"seconds"` // this run's
	// ResumedAt is the step an interrupted run was resumed from (0: trained from the start).
	ResumedAt int `json:"resumed_at,omitempty"`
	// Earlier says the folder held this run finished: nothing was trained, the result is the
	// earlier run's.
	Earlier bool `json:"-"`
	// Dropped counts the pairs left out, by kind; Drops lists them (also in DroppedFile).
	Dropped map[string]int `json:"dropped,omitempty"`
	Drops   []Dropped      `json:"-"`
}

// RMStep is one step's report.
type RMStep struct {
	Step, Steps int
	ResumedAt   int // the step this run resumed from (0: from the start)
	Loss        float64
	Accuracy    float64
	LR          float32
	Heldout     *RMMetrics
}

// LoadRMPairs reads labeled preferences with their videos' patches. Seed records that do not
// decode, or whose frames cannot be read, are left out and returned as dropped.
func LoadRMPairs(cfg RMConfig, vc model.VisionConfig) ([]RMPair, []Dropped, error) {
	if strings.HasSuffix(strings.ToLower(cfg.Data), ".json") {
		return seedRMPairs(cfg, vc)
	}
	prefs, err := dataset.ReadAll[schemas.Preference](dataset.Folder(cfg.Data, schemas.RowPreference))
	if err != nil {
		return nil, nil, fmt.Errorf("train: preferences: %w", err)
	}
	marks, err := reviewmarks.Load(filepath.Dir(dataset.Folder(cfg.Data, schemas.RowPreference)))
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	clipsDir := cfg.Clips
	if clipsDir == "" {
		var s schemas.Summary
		b, err := os.ReadFile(filepath.Join(cfg.Data, "summary.json"))
		if err == nil && json.Unmarshal(b, &s) == nil {
			if in, ok := s.Settings["input"].(string); ok {
				clipsDir = in
			}
		}
		if clipsDir == "" {
			return nil, nil, fmt.Errorf("train: cannot tell where %s's clips are; give --clips", cfg.Data)
		}
	}
	clips := map[string][]float32{}
	err = dataset.Read(dataset.Folder(clipsDir, schemas.RowClip), func(c schemas.Clip) error {
		p, err := model.VideoPatches(c.Frames, vc)
		if err != nil {
			return fmt.Errorf("clip %s: %w", c.ID, err)
		}
		clips[c.ID] = p
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("train: clips: %w", err)
	}
	var out []RMPair
	for _, p := range prefs {
		if _, marked := marks[p.ID]; !p.Labeled || (marked && !cfg.IncludeMarked) {
			continue
		}
		patches, ok := clips[p.ClipID]
		if !ok {
			return nil, nil, fmt.Errorf("train: preference %s: clip %s not in %s", p.ID, p.ClipID, clipsDir)
		}
		out = append(out, RMPair{ID: p.ID, Question: p.Question, Out: [2]string{p.Output1, p.Output2}, Chosen: p.Chosen, Patches: patches})
	}
	return out, nil, nil
}

func seedRMPairs(cfg RMConfig, vc model.VisionConfig) ([]RMPair, []Dropped, error) {
	f, err := os.Open(cfg.Data)
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	root := cfg.ImageFolder
	if root == "" {
		root = filepath.Dir(cfg.Data)
	}
	var out []RMPair
	var dropped []Dropped
	err = schemas.DecodeSeed(f, func(i int, r schemas.RMRow, rerr error) error {
		if rerr != nil {
			dropped = append(dropped, malformed(i, rerr))
			return nil
		}
		cv, d := LoadSeedVideos([]schemas.SFTRow{{ID: r.ID, Images: r.Images}}, root, vc)
		if len(d) > 0 {
			dropped = append(dropped, d...)
			return nil
		}
		q := strings.TrimSpace(strings.NewReplacer("<image>", "", "<video>", "").Replace(r.Conversations[0].Value))
		out = append(out, RMPair{ID: r.ID, Question: q, Out: [2]string{r.Output1, r.Output2}, Chosen: r.Preference, Patches: cv[r.ID].Full})
		return nil
	})
	return out, dropped, err
}

// dropTooLong leaves out the pairs whose either input is longer than the model's context (it
// would stop training at its batch, after the steps before it were paid for).
func (r *RewardModel) dropTooLong(pairs []RMPair) (kept []RMPair, dropped []Dropped) {
	limit := r.M.Config.MaxPositionEmbeddings
	for _, p := range pairs {
		n := 0
		for _, o := range p.Out {
			t, _ := r.Encode(p.Question, o)
			n = max(n, len(t))
		}
		if n > limit {
			dropped = append(dropped, Dropped{ID: p.ID, Kind: DropTooLong, Reason: fmt.Sprintf("%d tokens, the model's context is %d", n, limit)})
			continue
		}
		kept = append(kept, p)
	}
	return kept, dropped
}

// pairLoss computes the seed's loss over pairs from their rewards r[2i], r[2i+1] (output_1,
// output_2): mean_i BCEWithLogits(r2 − r1, chosen = 2) + 1e-3·|mean_i(r1 + r2)|, its derivative
// with respect to each reward, and the accuracy.
func pairLoss(r []float32, pairs []RMPair) (loss float64, dr []float32, acc float64) {
	P := len(pairs)
	dr = make([]float32, len(r))
	var centre float64
	for i, p := range pairs {
		r1, r2 := float64(r[2*i]), float64(r[2*i+1])
		logit, y := r2-r1, 0.0
		if p.Chosen == 2 {
			y = 1
		}
		// softplus(logit) − y·logit, stable for large |logit|
		loss += math.Max(logit, 0) + math.Log1p(math.Exp(-math.Abs(logit))) - y*logit
		g := (1/(1+math.Exp(-logit)) - y) / float64(P)
		dr[2*i], dr[2*i+1] = float32(-g), float32(g)
		if (logit >= 0) == (y == 1) {
			acc++
		}
		centre += (r1 + r2) / float64(P)
	}
	loss = loss/float64(P) + 1e-3*math.Abs(centre)
	sign := 1.0
	if centre < 0 {
		sign = -1
	}
	for i := range dr {
		dr[i] += float32(1e-3 * sign / float64(P))
	}
	return loss, dr, acc / float64(P)
}

// step runs forward (and, when train, backward) on pairs and returns the loss and accuracy.
func (r *RewardModel) step(pairs []RMPair, train bool) (float64, float64, []float32, error) {
	in := make([]rmInput, 0, 2*len(pairs))
	for _, p := range pairs {
		for _, o := range p.Out {
			t, v := r.Encode(p.Question, o)
			in = append(in, rmInput{tokens: t, videoAt: v, patches: p.Patches})
		}
	}
	b, last, err := r.batch(in)
	if err != nil {
		return 0, 0, nil, err
	}
	if _, err := r.M.Forward(b); err != nil {
		return 0, 0, nil, err
	}
	h := r.M.HeadOutputs("reward_head")
	rewards := make([]float32, len(in))
	for i, n := range last {
		rewards[i] = h[n]
	}
	loss, dr, acc := pairLoss(rewards, pairs)
	if train {
		d := make([]float32, len(h))
		for i, n := range last {
			d[n] = dr[i]
		}
		r.M.ZeroGrad()
		clear(r.M.LoRA.G)
		r.M.BackwardHeads(b, 0, map[string][]float32{"reward_head": d})
	}
	return loss, acc, rewards, nil
}

// Evaluate computes the seed's metrics over pairs, in batches.
func (r *RewardModel) Evaluate(pairs []RMPair, batch int) (RMMetrics, error) {
	m := RMMetrics{Pairs: len(pairs)}
	if len(pairs) == 0 {
		return m, nil
	}
	var correct, pos, score, loss float64
	for lo := 0; lo < len(pairs); lo += batch {
		part := pairs[lo:min(lo+batch, len(pairs))]
		l, acc, rewards, err := r.step(part, false)
		if err != nil {
			return m, err
		}
		correct += acc * float64(len(part))
		loss += l * float64(len(part))
		for i, p := range part {
			if p.Chosen == 2 {
				pos++
			}
			score += float64(rewards[2*i]+rewards[2*i+1]) / 2
		}
	}
	n := float64(len(pairs))
	m.Accuracy, m.LabelPositiveRate, m.AverageScore, m.Loss = correct/n, pos/n, score/n, loss/n
	return m, nil
}

// splitPairs shuffles the pairs with rng and holds out a share of them. The pairs are put in id
// order first, so the split and the batches depend on the set of pairs and the seed only, not on
// the order their Parquet shards were read in (a Beam run shards by bundle, which varies run to
// run: two demo runs on identical labels trained different reward models before this).
func splitPairs(pairs []RMPair, share float64, rng *rand.Rand) (heldout, train []RMPair) {
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].ID < pairs[j].ID })
	rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	nh := max(1, int(math.Round(share*float64(len(pairs)))))
	return pairs[:nh], pairs[nh:]
}

// Validate reports the first setting a reward model cannot train with.
func (c RMConfig) Validate() error {
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("train: epochs must be ≥ 1, got %d", c.Epochs)
	case c.BatchPairs < 1:
		return fmt.Errorf("train: batch pairs must be ≥ 1, got %d", c.BatchPairs)
	case !finite(c.Heldout) || c.Heldout < 0 || c.Heldout >= 1:
		return fmt.Errorf("train: the held-out share must be in [0, 1), got %g", c.Heldout)
	case c.SaveEvery < 1:
		return fmt.Errorf("train: progress must be saved every ≥ 1 steps, got %d", c.SaveEvery)
	case c.Rank < 1:
		return fmt.Errorf("train: the LoRA rank must be ≥ 1, got %d", c.Rank)
	case !finite(float64(c.LR)) || c.LR <= 0:
		return fmt.Errorf("train: the learning rate must be > 0, got %g", c.LR)
	case !finite(c.WarmupRatio) || c.WarmupRatio < 0 || c.WarmupRatio > 1:
		return fmt.Errorf("train: the warm-up ratio must be in [0, 1], got %g", c.WarmupRatio)
	case !finite(float64(c.MaxGradNorm)) || c.MaxGradNorm < 0:
		return fmt.Errorf("train: max grad norm must be ≥ 0 (0: no clipping), got %g", c.MaxGradNorm)
	}
	return nil
}

// RunRM trains a reward model: LoRA on the SFT checkpoint plus a reward head, Bradley–Terry loss
// with the centring term, the seed's metrics on a held-out split, and writes the checkpoint. A run
// into a folder that holds an unfinished run with the same settings resumes it; a finished one is
// not trained again (the result is the earlier run's, with Earlier set); other settings are
// refused (rm_checkpoint.go).
func RunRM(ctx context.Context, cfg RMConfig, report func(RMStep)) (RMResult, error) {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return RMResult{}, err
	}
	lora := model.LoRAConfig{PeftType: "LORA", Rank: cfg.Rank, Alpha: cfg.Alpha,
		TargetModules: []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}, BaseModel: cfg.Base}
	rm, err := NewRewardModel(cfg.Base, lora, cfg.Seed)
	if err != nil {
		return RMResult{}, err
	}
	pairs, dropped, err := LoadRMPairs(cfg, rm.M.Config.Vision)
	if err != nil {
		return RMResult{}, err
	}
	pairs, long := rm.dropTooLong(pairs)
	dropped = append(dropped, long...)
	if len(pairs) < 2 {
		return RMResult{}, fmt.Errorf("train: %d labeled preference pairs in %s (%s); a reward model needs more", len(pairs), cfg.Data, DropLine(dropped))
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	heldout, trainSet := splitPairs(pairs, cfg.Heldout, rng)
	if len(trainSet) == 0 {
		return RMResult{}, fmt.Errorf("train: all %d preference pairs are held out (--heldout %g); none are left to train on", len(pairs), cfg.Heldout)
	}
	fresh, err := checkRMSettings(cfg, rm.M.Revision, pairs)
	if err != nil {
		return RMResult{}, err
	}
	if !fresh {
		if prev, ok := finishedRM(cfg.Output); ok {
			prev.Earlier, prev.Drops, prev.Dropped = true, dropped, DropCounts(dropped)
			// Progress saves a run killed after writing its result left behind; tidying only.
			_ = removeRMProgress(cfg.Output, -1)
			return prev, nil
		}
	}
	if err := writeDropped(cfg.Output, dropped); err != nil {
		return RMResult{}, err
	}
	steps := cfg.Epochs * ((len(trainSet) + cfg.BatchPairs - 1) / cfg.BatchPairs)
	sched := model.ConstantWithWarmup(cfg.LR, int(math.Ceil(cfg.WarmupRatio*float64(steps))))
	optLoRA := model.NewAdamWFor(rm.M.LoRA.Params, len(rm.M.LoRA.W), 0)
	var head []model.Param
	for _, n := range []string{"reward_head.weight", "reward_head.bias"} {
		p, _ := rm.M.Param(n)
		head = append(head, p)
	}
	optHead := model.NewAdamWFor(head, len(rm.M.W), 0)
	state := rmState{rm: rm, head: head, optLoRA: optLoRA, optHead: optHead}
	resumed, err := state.load(cfg.Output)
	if err != nil {
		return RMResult{}, err
	}
	res := RMResult{Steps: steps, ResumedAt: resumed, Dropped: DropCounts(dropped), Drops: dropped}
	step, saved := 0, resumed
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		// The shuffles are replayed from the seed up to a resumed step, so it trains on the batches
		// an uninterrupted run would.
		rng.Shuffle(len(trainSet), func(i, j int) { trainSet[i], trainSet[j] = trainSet[j], trainSet[i] })
		for lo := 0; lo < len(trainSet); lo += cfg.BatchPairs {
			if step < resumed {
				step++
				continue
			}
			if err := ctx.Err(); err != nil {
				if step > saved { // keep what this run trained
					if serr := state.save(cfg.Output, step); serr != nil {
						return res, errors.Join(err, serr)
					}
					saved = step
				}
				if saved > 0 {
					err = fmt.Errorf("train: reward model stopped after step %d of %d; progress is saved in %s and the same command resumes it: %w", saved, steps, cfg.Output, err)
				}
				return res, err
			}
			part := trainSet[lo:min(lo+cfg.BatchPairs, len(trainSet))]
			loss, acc, _, err := rm.step(part, true)
			if err != nil {
				return res, err
			}
			clipNorm(cfg.MaxGradNorm, rm.M.LoRA.G, headGrads(rm.M, head)...)
			lr := sched(step)
			optLoRA.Step(rm.M.LoRA.W, rm.M.LoRA.G, lr)
			optHead.Step(rm.M.W, rm.M.G, lr)
			step++
			info := RMStep{Step: step, Steps: steps, ResumedAt: resumed, Loss: loss, Accuracy: acc, LR: lr}
			if step%50 == 0 || step == steps {
				h, err := rm.Evaluate(heldout, 16)
				if err != nil {
					return res, err
				}
				info.Heldout = &h
			}
			if step%cfg.SaveEvery == 0 && step < steps {
				if err := state.save(cfg.Output, step); err != nil {
					return res, err
				}
				saved = step
			}
			if report != nil {
				report(info)
			}
		}
	}
	if res.Heldout, err = rm.Evaluate(heldout, 16); err != nil {
		return res, err
	}
	if res.Train, err = rm.Evaluate(trainSet, 16); err != nil {
		return res, err
	}
	if err := rm.Save(cfg.Output); err != nil {
		return res, err
	}
	res.Seconds = time.Since(start).Seconds()
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := atomicfile.Write(cfg.Output, RMResultFile, append(b, '\n')); err != nil {
		return res, fmt.Errorf("train: %w", err)
	}
	return res, removeRMProgress(cfg.Output, -1)
}

func headGrads(m *model.Model, head []model.Param) [][]float32 {
	var out [][]float32
	for _, p := range head {
		out = append(out, m.G[p.Offset:p.Offset+p.Size])
	}
	return out
}

// clipNorm scales every slice so that their joint L2 norm is at most maxNorm.
func clipNorm(maxNorm float32, first []float32, rest ...[]float32) {
	var ss float64
	all := append([][]float32{first}, rest...)
	for _, g := range all {
		for _, v := range g {
			ss += float64(v) * float64(v)
		}
	}
	norm := math.Sqrt(ss)
	if maxNorm <= 0 || norm <= float64(maxNorm) {
		return
	}
	s := float32(float64(maxNorm) / (norm + 1e-6))
	for _, g := range all {
		for i := range g {
			g[i] *= s
		}
	}
}
