package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/model/tokenizer"
	"github.com/vrlaif/vrlaif/synth"
)

// SFTConfig configures supervised fine-tuning on a synthetic world.
type SFTConfig struct {
	World       string  `json:"world"`                  // a `vrlaif synth` output folder, or seed SFT data (see loadSource)
	ImageFolder string  `json:"image_folder,omitempty"` // root of the seed's frame paths (default: the JSON file's folder)
	Output      string  `json:"output"`                 // checkpoint folder
	Size        string  `json:"size"`                   // "tiny" or "small"
	Vocab       int     `json:"vocab"`
	Steps       int     `json:"steps"`
	BatchSize   int     `json:"batch_size"`
	LR          float32 `json:"lr"`
	MinLR       float32 `json:"min_lr"`
	Warmup      int     `json:"warmup"`
	WeightDecay float32 `json:"weight_decay"`
	ClipNorm    float32 `json:"clip_norm"`
	// ShortPhase is the fraction of steps that see only short-answer examples (the curriculum:
	// short answers first, then everything).
	ShortPhase float64 `json:"short_phase"`
	// PerExampleLoss weighs every example equally (mean over examples of the mean over its answer
	// tokens) instead of every token (the seed's mean over tokens). A fill-in for small models:
	// with token weighting, one-letter verdicts and one-word answers drown under descriptions.
	PerExampleLoss bool   `json:"per_example_loss"`
	EvalEvery      int    `json:"eval_every"`
	SaveEvery      int    `json:"save_every"`
	Seed           uint64 `json:"seed"`
	// VisionSteps of vision pretraining (model.PretrainVision on the world's training clips) run
	// before SFT on a new model; the vision tower and projector then stay frozen. 0: none, the
	// vision trains with the decoder. Seed data (no synthetic palette) skips it.
	VisionSteps int `json:"vision_steps"`
}

// DefaultSFTConfig is the demo's setting for the small model.
func DefaultSFTConfig() SFTConfig {
	return SFTConfig{Size: "small", Vocab: 1024, Steps: 1100, BatchSize: 16, LR: 2e-3, MinLR: 2e-4, Warmup: 30,
		WeightDecay: 0.01, ClipNorm: 1, ShortPhase: 0.2, PerExampleLoss: true, EvalEvery: 100, SaveEvery: 200, Seed: 1,
		VisionSteps: 3000}
}

// Validate reports the first bad setting.
func (c SFTConfig) Validate() error {
	switch {
	case c.World == "" || c.Output == "":
		return errors.New("train: world and output folders are required")
	case c.Size != "tiny" && c.Size != "small":
		return fmt.Errorf("train: size must be tiny or small, got %q", c.Size)
	case c.Steps <= 0 || c.BatchSize <= 0 || c.LR <= 0 || c.Vocab < 300:
		return fmt.Errorf("train: steps, batch size and lr must be > 0 and vocab ≥ 300: %+v", c)
	case c.ShortPhase < 0 || c.ShortPhase > 1:
		return fmt.Errorf("train: short phase must be in 0..1, got %g", c.ShortPhase)
	case c.VisionSteps < 0:
		return fmt.Errorf("train: vision steps must be ≥ 0, got %d", c.VisionSteps)
	}
	return nil
}

// StepInfo is reported after every step.
type StepInfo struct {
	Step         int     `json:"step"`
	Loss         float32 `json:"loss"`
	LR           float32 `json:"lr"`
	GradNorm     float32 `json:"grad_norm"`
	TokensPerSec float64 `json:"tokens_per_sec"`
	HeldoutLoss  float32 `json:"heldout_loss,omitempty"`
	Phase        string  `json:"phase"`              // "short", "all", or "vision" (pretraining, not in metrics.jsonl)
	Accuracy     float32 `json:"accuracy,omitempty"` // vision pretraining: the share of targets right
}

// SFTResult summarises a run.
type SFTResult struct {
	Params         int     `json:"params"`
	Examples       int     `json:"examples"`
	HeldoutExample int     `json:"heldout_examples"`
	Steps          int     `json:"steps"`
	FirstLoss      float32 `json:"first_loss"`
	FinalLoss      float32 `json:"final_loss"`
	HeldoutLoss    float32 `json:"heldout_loss"`
	Seconds        float64 `json:"seconds"`
	Tokens         int64   `json:"tokens"`
	FLOPs          float64 `json:"flops"` // matrix-product FLOPs of the training steps (6·params·tokens estimate)
	World          bool    `json:"world"` // trained on a synthetic world (accuracies can be measured)
	// Vision is what vision pretraining did in this run (nil: none ran, see VisionSteps).
	Vision *VisionResult `json:"vision,omitempty"`
	// Dropped counts the records and examples left out, by kind; Drops lists them (also in the
	// output folder's DroppedFile).
	Dropped map[string]int `json:"dropped,omitempty"`
	Drops   []Dropped      `json:"-"`
}

// RunSFT trains (or resumes training of) the built-in model on cfg.World. report is called after
// every step from the training goroutine.
func RunSFT(ctx context.Context, cfg SFTConfig, report func(StepInfo)) (SFTResult, error) {
	var res SFTResult
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 17))
	src, err := loadSource(ctx, cfg, rng)
	if err != nil {
		return res, err
	}
	examples := src.examples
	res.World = src.world
	if err := finishSave(cfg.Output); err != nil { // a save a killed run had decided on
		return res, err
	}
	resume := fileExists(filepath.Join(cfg.Output, model.WeightsFile))
	var tok *tokenizer.Tokenizer
	var m *model.Model
	state := trainerState{}
	if resume {
		if state, err = loadState(cfg.Output); err != nil {
			return res, err
		}
		if err := checkResumeSteps(cfg.Output, state, cfg); err != nil {
			return res, err
		}
		if tok, err = tokenizer.Load(filepath.Join(cfg.Output, "tokenizer.json")); err != nil {
			return res, err
		}
		if m, err = model.Load(cfg.Output); err != nil {
			return res, err
		}
	} else {
		var texts []string
		for i := range examples {
			if examples[i].Split == "train" {
				texts = append(texts, Texts(examples[i:i+1])...)
			}
		}
		texts = append(texts, tokenizer.SystemV1)
		if tok, err = tokenizer.Train(texts, cfg.Vocab); err != nil {
			return res, err
		}
		mc := model.Small(tok.VocabSize())
		if cfg.Size == "tiny" {
			mc = model.Tiny(tok.VocabSize())
			mc.MaxPositionEmbeddings = 512
		}
		mc.BOSTokenID, mc.EOSTokenID, mc.PadTokenID, mc.VideoTokenID = tok.BOSID(), tok.EOSID(), tok.PadID(), tok.VideoID()
		if m, err = model.New(mc, cfg.Seed); err != nil {
			return res, err
		}
	}
	res.Params = m.NumParams()
	videos, noVideo, err := src.videos(m.Config.Vision)
	if err != nil {
		return res, err
	}
	dropped := append(src.dropped, noVideo...)
	dataRevision, err := sftDataRevision(examples, videos, src.videoFiles)
	if err != nil {
		return res, err
	}
	if resume {
		if err := checkResume(cfg.Output, state, cfg, dataRevision); err != nil {
			return res, err
		}
	}
	if src.world && cfg.VisionSteps > 0 {
		if !resume {
			if res.Vision, err = pretrainVision(ctx, m, cfg, examples, videos, report); err != nil {
				return res, err
			}
		}
		m.FreezeVision = true
	}
	var train, held, short []*Encoded
	for i := range examples {
		if videos[examples[i].ClipID] == nil { // its record's frames were dropped
			continue
		}
		e, err := Encode(tok, &examples[i], m.Config.VideoTokens())
		if err != nil {
			return res, err
		}
		if len(e.Tokens) > m.Config.MaxPositionEmbeddings {
			dropped = append(dropped, Dropped{ID: examples[i].ClipID + "/" + examples[i].Kind, Kind: DropTooLong,
				Reason: fmt.Sprintf("%d tokens, the model's context is %d", len(e.Tokens), m.Config.MaxPositionEmbeddings)})
			continue
		}
		if examples[i].Split == "train" {
			train = append(train, &e)
			if e.Answer <= 8 {
				short = append(short, &e)
			}
		} else {
			held = append(held, &e)
		}
	}
	res.Examples, res.HeldoutExample = len(train), len(held)
	res.Dropped, res.Drops = DropCounts(dropped), dropped
	if len(train) == 0 {
		return res, fmt.Errorf("train: no training examples (%s)", DropLine(dropped))
	}
	if err := writeDropped(cfg.Output, dropped); err != nil {
		return res, err
	}
	opt := model.NewAdamW(m, cfg.WeightDecay)
	if m.FreezeVision { // frozen weights take no update, weight decay included
		opt = model.NewAdamWFor(slices.DeleteFunc(slices.Clone(m.Params), func(p model.Param) bool { return model.IsVisionParam(p.Name) }),
			len(m.W), cfg.WeightDecay)
	}
	if resume {
		if err := model.LoadOptimizer(cfg.Output, opt); err != nil {
			return res, err
		}
		// Steps logged after the last checkpoint are redone: drop their lines.
		if err := truncateMetrics(cfg.Output, state.Step); err != nil {
			return res, err
		}
	}
	patchLen := m.Config.Vision.NumFrames * m.Config.Vision.Patches() * m.Config.Vision.PatchDim()
	videoOf := func(ex *Example) []float32 { return videos[ex.ClipID].Patches(ex.Video) }
	sched := model.Cosine(cfg.LR, cfg.MinLR, cfg.Warmup, cfg.Steps)
	evalSet := held[:min(len(held), 64)]
	start := time.Now()
	for step := state.Step; step < cfg.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return res, errors.Join(err, saveAll(cfg.Output, m, tok, opt, trainerState{Step: step, Config: &cfg, DataRevision: dataRevision}))
		}
		pool, phase := train, "all"
		if float64(step) < cfg.ShortPhase*float64(cfg.Steps) && len(short) > 0 {
			pool, phase = short, "short"
		}
		srng := rand.New(rand.NewPCG(cfg.Seed, uint64(step))) // batch k is the same on a resumed run
		batch := make([]*Encoded, cfg.BatchSize)
		for i := range batch {
			batch[i] = pool[srng.IntN(len(pool))]
		}
		b := MakeBatch(batch, tok.PadID(), videoOf, patchLen, m.Config.MaxPositionEmbeddings, cfg.PerExampleLoss)
		t0 := time.Now()
		loss, err := m.Forward(b)
		if err != nil {
			return res, err
		}
		m.ZeroGrad()
		m.Backward(b)
		norm := model.ClipGradNorm(m.G, cfg.ClipNorm)
		lr := sched(step)
		opt.Step(m.W, m.G, lr)
		tokens := int64(b.B * b.T)
		res.Tokens += tokens
		info := StepInfo{Step: step + 1, Loss: loss, LR: lr, GradNorm: norm, Phase: phase,
			TokensPerSec: float64(tokens) / time.Since(t0).Seconds()}
		if step == state.Step {
			res.FirstLoss = loss
		}
		res.FinalLoss = loss
		last := step+1 == cfg.Steps
		if (cfg.EvalEvery > 0 && (step+1)%cfg.EvalEvery == 0) || last {
			if info.HeldoutLoss, err = meanLoss(m, evalSet, tok.PadID(), videoOf, patchLen, cfg.BatchSize); err != nil {
				return res, err
			}
			res.HeldoutLoss = info.HeldoutLoss
		}
		if err := appendMetrics(cfg.Output, info); err != nil {
			return res, err
		}
		if report != nil {
			report(info)
		}
		if (cfg.SaveEvery > 0 && (step+1)%cfg.SaveEvery == 0) || last {
			if err := saveAll(cfg.Output, m, tok, opt, trainerState{Step: step + 1, Config: &cfg, DataRevision: dataRevision}); err != nil {
				return res, err
			}
		}
	}
	res.Steps = cfg.Steps - state.Step
	res.Seconds = time.Since(start).Seconds()
	res.FLOPs = 6 * float64(res.Params) * float64(res.Tokens)
	return res, nil
}

// meanLoss is the token-weighted mean loss over examples, in batches.
func meanLoss(m *model.Model, es []*Encoded, pad int, videoOf func(*Example) []float32, patchLen, bs int) (float32, error) {
	var sum float64
	var n int
	for i := 0; i < len(es); i += bs {
		b := MakeBatch(es[i:min(i+bs, len(es))], pad, videoOf, patchLen, m.Config.MaxPositionEmbeddings, false)
		l, err := m.Forward(b)
		if err != nil {
			return 0, err
		}
		c := 0
		for _, t := range b.Targets {
			if t != model.IgnoreIndex {
				c++
			}
		}
		sum += float64(l) * float64(c)
		n += c
	}
	if n == 0 {
		return 0, nil
	}
	return float32(sum / float64(n)), nil
}

func appendMetrics(dir string, info StepInfo) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "metrics.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(info)
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// truncateMetrics keeps the metrics.jsonl lines of steps ≤ step.
func truncateMetrics(dir string, step int) error {
	p := filepath.Join(dir, "metrics.jsonl")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		var info StepInfo
		if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &info) != nil || info.Step > step {
			continue
		}
		keep = append(keep, line...)
	}
	return os.WriteFile(p, keep, 0o644)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// sftSource is where SFT examples and their videos come from.
type sftSource struct {
	examples []Example
	dropped  []Dropped // records left out while reading
	// videos loads the examples' videos; records whose frames cannot be read are dropped.
	videos func(model.VisionConfig) (map[string]*ClipVideo, []Dropped, error)
	world  bool // a synthetic world (has ground truth for accuracies)
	// videoFiles are a world's video files, which identify its videos in the data revision (the
	// frames FFmpeg decodes from them may differ by a bit between FFmpeg builds); nil for seed
	// data, whose frames (decoded in Go) are hashed.
	videoFiles []string
}

// loadSource reads cfg.World: a synthetic world folder (it has truth/), or seed SFT data — a seed
// JSON file or an SFT Parquet dataset — whose frame paths are relative to cfg.ImageFolder.
func loadSource(ctx context.Context, cfg SFTConfig, rng *rand.Rand) (sftSource, error) {
	if fileExists(filepath.Join(cfg.World, "truth")) {
		truths, err := synth.LoadTruth(cfg.World)
		if err != nil {
			return sftSource{}, err
		}
		if len(truths) == 0 {
			return sftSource{}, fmt.Errorf("train: %s has no ground truth (run vrlaif synth first)", cfg.World)
		}
		files := make([]string, len(truths))
		for i, t := range truths {
			files[i] = filepath.Join(cfg.World, t.VideoPath)
		}
		return sftSource{examples: WorldExamples(truths, rng), world: true, videoFiles: files,
			videos: func(vc model.VisionConfig) (map[string]*ClipVideo, []Dropped, error) {
				v, err := LoadWorldVideos(ctx, cfg.World, truths, vc) // our own renders: a bad one is an error
				return v, nil, err
			}}, nil
	}
	rows, dropped, err := ReadSFTRows(cfg.World)
	if err != nil {
		return sftSource{}, err
	}
	if len(rows) == 0 {
		return sftSource{}, fmt.Errorf("train: %s holds no usable SFT records (%s)", cfg.World, DropLine(dropped))
	}
	folder := cfg.ImageFolder
	if folder == "" {
		folder = filepath.Dir(cfg.World)
	}
	return sftSource{examples: SeedExamples(rows), dropped: dropped,
		videos: func(vc model.VisionConfig) (map[string]*ClipVideo, []Dropped, error) {
			v, d := LoadSeedVideos(rows, folder, vc)
			return v, d, nil
		}}, nil
}
