package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/vrlaif/vrlaif/gpu"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/model/tokenizer"
)

// PPOConfig configures the learner (reference §4.2; sizes scaled to the built-in model).
type PPOConfig struct {
	Policy       string        `json:"policy"` // the policy-init checkpoint (the demo's SFT)
	RM           string        `json:"rm"`     // a reward-model checkpoint ('vrlaif train rm')
	Prompts      string        `json:"prompts"`
	Output       string        `json:"output"`
	Steps        int           `json:"steps"`         // PPO steps
	RolloutBatch int           `json:"rollout_batch"` // rollouts per PPO step (seed: 256)
	MicroBatch   int           `json:"micro_batch"`   // rollouts per forward/backward (seed: 8)
	Accum        int           `json:"accum"`         // micro-batches per optimizer step (seed: 2)
	NoptEpochs   int           `json:"noptepochs"`    // seed: 2
	LR           float32       `json:"lr"`            // seed: 3e-5 for a 7B LoRA
	Warmup       int           `json:"warmup_steps"`  // seed: 5
	MaxGradNorm  float32       `json:"max_grad_norm"` // seed: 1.0
	Rank         int           `json:"lora_r"`
	Alpha        float32       `json:"lora_alpha"`
	Rollout      RolloutParams `json:"rollout"`
	Math         gpu.Params    `json:"math"`
	MaxStaleness int           `json:"max_staleness"` // rollouts more than this many versions old are dropped
	AckWait      time.Duration `json:"ack_wait"`      // a fetched rollout not acked within this is redelivered
	Seed         uint64        `json:"seed"`
	// Device runs the PPO numeric core: "cpu" (the reference, default) or "cuda[:N]" (a binary
	// built with -tags cuda, on a GPU). On a GPU the models' forward and backward run there too
	// (gpu/devmodel), unless DeviceMathOnly keeps them on the CPU.
	Device         string `json:"device,omitempty"`
	DeviceMathOnly bool   `json:"device_math_only,omitempty"`
	// Gemm is the matrix product the models run on with Device cuda (gpu.UseGemm): "auto" or ""
	// (cuBLAS in float32 when the machine has it, else the sgemm kernel), "kernel", "cublas",
	// "cublas-tf32" or "cublas-bf16".
	Gemm string `json:"gemm,omitempty"`
}

// DefaultPPOConfig: the seed's PPO with batch sizes and a learning rate for the built-in model.
func DefaultPPOConfig() PPOConfig {
	return PPOConfig{Steps: 20, RolloutBatch: 16, MicroBatch: 8, Accum: 1, NoptEpochs: 2, LR: 1e-4, Warmup: 5,
		MaxGradNorm: 1, Rank: 8, Alpha: 16, Rollout: DefaultRolloutParams(), Math: gpu.SeedParams(), MaxStaleness: 2, AckWait: 2 * time.Minute, Seed: 42}
}

// Learner holds the actor-critic being trained (policy LoRA; value model = RM LoRA + a zeroed value
// head), the frozen reference (= policy init) and the optimizers.
type Learner struct {
	Cfg     PPOConfig
	Tok     *tokenizer.Tokenizer
	Policy  *model.Model
	Ref     *model.Model
	Value   *model.Model
	Dev     gpu.Device
	optPol  *model.AdamW
	optVal  *model.AdamW
	optHead *model.AdamW
	head    []model.Param
	sched   model.Schedule
	dev     *deviceModels // the models on a GPU (see models); nil until used, or on the CPU
}

// NewLearner loads the models for a fresh run.
func NewLearner(cfg PPOConfig, dev gpu.Device) (*Learner, error) {
	tok, err := tokenizer.Load(filepath.Join(cfg.Policy, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	policy, err := model.Load(cfg.Policy)
	if err != nil {
		return nil, err
	}
	lora := model.LoRAConfig{PeftType: "LORA", Rank: cfg.Rank, Alpha: cfg.Alpha,
		TargetModules: []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}, BaseModel: cfg.Policy}
	if err := policy.AttachLoRA(lora, cfg.Seed); err != nil { // B = 0: the policy starts equal to its init
		return nil, err
	}
	ref, err := model.Load(cfg.Policy)
	if err != nil {
		return nil, err
	}
	rm, err := LoadRewardModel(cfg.RM)
	if err != nil {
		return nil, err
	}
	value, err := model.LoadWithHeads(rm.CK.Base, true, false, cfg.Seed)
	if err != nil {
		return nil, err
	}
	if err := model.LoadLoRA(cfg.RM, value); err != nil { // the value model starts from the RM's adapter
		return nil, err
	}
	l := &Learner{Cfg: cfg, Tok: tok, Policy: policy, Ref: ref, Value: value, Dev: dev}
	for _, n := range []string{"value_head.weight", "value_head.bias"} {
		p, _ := value.Param(n)
		clear(value.W[p.Offset : p.Offset+p.Size]) // a new head, weight and bias 0: V ≡ 0 at step 0
		l.head = append(l.head, p)
	}
	l.optPol = model.NewAdamWFor(policy.LoRA.Params, len(policy.LoRA.W), 0)
	l.optVal = model.NewAdamWFor(value.LoRA.Params, len(value.LoRA.W), 0)
	l.optHead = model.NewAdamWFor(l.head, len(value.W), 0)
	l.sched = model.Cosine(cfg.LR, 0, cfg.Warmup, cfg.Steps)
	return l, nil
}

// slots lays rollouts out as one model batch: row b is query ⊕ response, right-padded; response
// slot t of row b sits at position Q_b+t and is predicted from position Q_b+t−1, where its
// log-probability and the value of the prefix before it are read.
type slots struct {
	batch   *model.Batch
	at      []int   // [B·T] flat batch position of each slot's prediction (−1: beyond the row)
	lengths []int32 // [B]
}

func (l *Learner) layout(rs []Rollout, patches map[string][]float32) (*slots, error) {
	T := l.Cfg.Rollout.T
	L := 0
	for _, r := range rs {
		L = max(L, len(r.Query)+T)
	}
	maxPos := l.Policy.Config.MaxPositionEmbeddings
	if L > maxPos {
		return nil, fmt.Errorf("train: query + %d response slots need %d positions, the model has %d", T, L, maxPos)
	}
	L = min((L+63)/64*64, maxPos)
	B := len(rs)
	s := &slots{batch: &model.Batch{B: B, T: L, Tokens: make([]int32, B*L), Targets: make([]int32, B*L)},
		at: make([]int, B*T), lengths: make([]int32, B)}
	for b, r := range rs {
		vp, ok := patches[r.ClipID]
		if !ok {
			return nil, fmt.Errorf("train: rollout %s: no frames for clip %s", r.ID, r.ClipID)
		}
		if len(r.Response) > T {
			return nil, fmt.Errorf("train: rollout %s has %d response tokens, more than %d", r.ID, len(r.Response), T)
		}
		row, tgt := s.batch.Tokens[b*L:(b+1)*L], s.batch.Targets[b*L:(b+1)*L]
		for i := range row {
			row[i], tgt[i] = int32(l.Tok.PadID()), model.IgnoreIndex
		}
		copy(row, r.Query)
		copy(row[len(r.Query):], r.Response)
		Q := len(r.Query)
		for t := 0; t < T; t++ {
			s.at[b*T+t] = b*L + Q + t - 1
			if t < len(r.Response) {
				tgt[Q+t-1] = r.Response[t]
			}
		}
		s.lengths[b] = int32(len(r.Response))
		s.batch.VideoAt = append(s.batch.VideoAt, r.VideoAt)
		s.batch.Patches = append(s.batch.Patches, vp...)
	}
	return s, nil
}

// gather reads per-position values into [B·T] slots (0 on pad slots when pad is true).
func (s *slots) gather(x []float32, T int, zeroPads bool) []float32 {
	out := make([]float32, len(s.at))
	for i, p := range s.at {
		if zeroPads && int32(i%T) >= s.lengths[i/T] {
			continue
		}
		out[i] = x[p]
	}
	return out
}

// scatter writes slot values to their positions in a [B·L] array.
func (s *slots) scatter(x []float32) []float32 {
	out := make([]float32, s.batch.B*s.batch.T)
	for i, p := range s.at {
		out[p] += x[i]
	}
	return out
}

// StepMetrics are logged per PPO step.
type StepMetrics struct {
	Step        int     `json:"step"`
	Version     int     `json:"version"`
	Rollouts    int     `json:"rollouts"`
	Score       float64 `json:"score"`      // mean RM score
	Reward      float64 `json:"reward"`     // mean RM score with the no-stop penalty
	KLSum       float64 `json:"kl_sum_seq"` // mean over rollouts of Σ_t kl (objective/kl_sum_seq)
	Entropy     float64 `json:"entropy"`    // mean over response tokens, first epoch
	Length      float64 `json:"length"`
	StopRate    float64 `json:"stop_rate"`
	PGLoss      float64 `json:"pg_loss"`
	VFLoss      float64 `json:"vf_loss"`
	ClipFrac    float64 `json:"clip_frac"`
	ApproxKL    float64 `json:"approx_kl"`
	VClipFrac   float64 `json:"value_clip_frac"`
	LR          float32 `json:"lr"`
	Staleness   float64 `json:"staleness"` // mean versions behind
	Seconds     float64 `json:"seconds"`
	RolloutWait float64 `json:"rollout_wait_seconds,omitempty"`
	Phase       Phases  `json:"phases"`
}

// Phases times a PPO step.
type Phases struct {
	Reference float64 `json:"reference_s"` // ref log-probs and old values
	Advantage float64 `json:"advantage_s"` // KL, shaping, GAE, whitening
	Optimize  float64 `json:"optimize_s"`  // noptepochs of forward/backward/step
}

// shuffle returns a permutation of n from the learner's seed and the step.
func (l *Learner) shuffle(n, step, epoch int) []int {
	rng := rand.New(rand.NewPCG(l.Cfg.Seed, uint64(step*1000+epoch)))
	return rng.Perm(n)
}

func meanF(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s / math.Max(1, float64(len(x)))
}
