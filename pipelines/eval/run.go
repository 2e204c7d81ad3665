package eval

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vrlaif/vrlaif/backend"
	_ "github.com/vrlaif/vrlaif/backend/all" // the backends a Config may name
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/synth"
	"github.com/vrlaif/vrlaif/transforms/frames"
)

// Stage is the eval stage's name in summaries and dead letters.
const Stage = "eval"

// AnswerTemplate names how questions are put to the model under evaluation: `<video>\n{question}`
// in one user turn (reference §5.1). It is part of the call cache's key.
const AnswerTemplate = "eval-answer-v1"

// ModelSpec is one model to evaluate, under a short name ("sft", "rlaif").
type ModelSpec struct {
	Name    string         `json:"name"`
	Backend backend.Config `json:"backend"`
}

// Config configures an evaluation on a synthetic world's clips.
type Config struct {
	World       string        `json:"world"`               // a synthetic world, or
	Benchmark   Benchmark     `json:"benchmark,omitempty"` // the benchmark's own annotation files (needs the openai judge)
	Split       string        `json:"split"`               // "heldout" (default), "train", or "all"
	Limit       int           `json:"limit"`               // clips at most (0: all)
	Models      []ModelSpec   `json:"models"`
	Judge       JudgeConfig   `json:"judge"`
	Temperature float64       `json:"temperature"` // reference §5.1: 0.2
	MaxTokens   int           `json:"max_tokens"`  // reference §5.1: 512
	Seed        int64         `json:"seed"`
	Frames      frames.Params `json:"frames"` // how clips are sampled (the seed's 50 frames, padded, 224 px)
	Concurrency int           `json:"concurrency"`
	Output      string        `json:"output"`
	// Preferences are feedback folders whose labels are checked against the ground truth.
	Preferences []PreferenceSet `json:"preferences,omitempty"`
	// Rewarder, when set, also scores every answer with a reward model (RewardModel names it):
	// ModelResult.Reward and a Comparison on AxisReward.
	Rewarder    Rewarder `json:"-"`
	RewardModel string   `json:"reward_model,omitempty"`
}

// PreferenceSet names a feedback folder.
type PreferenceSet struct{ Name, Dir string }

// DefaultConfig has reference §5.1's inference settings and the ground-truth judge.
func DefaultConfig() Config {
	return Config{Split: "heldout", Temperature: 0.2, MaxTokens: 512, Frames: frames.DefaultParams(), Concurrency: 4,
		Judge: JudgeConfig{Kind: JudgeGroundTruth}}
}

// AxisResult is one axis's mean score.
type AxisResult struct {
	Mean float64 `json:"mean"`
	N    int     `json:"n"`
}

// ModelResult is one model's scores.
type ModelResult struct {
	Name       string                `json:"name"`
	Model      string                `json:"model"`
	Revision   string                `json:"revision"`
	Axes       map[string]AxisResult `json:"axes"`
	Mean       float64               `json:"mean"` // of the five axes
	QAAccuracy float64               `json:"qa_accuracy"`
	QAScore    float64               `json:"qa_score"`
	QAN        int                   `json:"qa_n"`
	Answers    int                   `json:"answers"`
	Failed     int                   `json:"failed"` // questions without an answer or a score (dead letters)
	Reward     *RewardResult         `json:"reward,omitempty"`
	Seconds    float64               `json:"seconds"`
}

// Result is an evaluation's outcome.
type Result struct {
	Clips       int                `json:"clips"`
	Questions   int                `json:"questions"`
	Judge       string             `json:"judge"`
	Models      []ModelResult      `json:"models"`
	Preferences []PreferenceResult `json:"preferences,omitempty"`
	Comparisons []Comparison       `json:"comparisons,omitempty"` // each model against the first
	Scores      int                `json:"scores"`
	DeadLetters int                `json:"deadletters"`
	Seconds     float64            `json:"seconds"`
	// ClipIDs are the clips scored, in order (the split's readable clips, up to Limit).
	ClipIDs []string `json:"-"`
}

// clipItems is one clip's frames and questions.
type clipItems struct {
	truth  schemas.Truth
	frames [][]byte
}

// Run evaluates every model on the world's clips and writes OUTPUT/scores/ and OUTPUT/deadletter/
// (both replaced); answers come through the backends' call cache when one is configured, so a
// re-run pays for nothing twice. progress, if not nil, is called after each answered question.
func Run(ctx context.Context, cfg Config, progress func(done, total int)) (Result, error) {
	start := time.Now()
	if len(cfg.Models) == 0 {
		return Result{}, errors.New("eval: no model to evaluate")
	}
	if err := cfg.Frames.Validate(); err != nil {
		return Result{}, fmt.Errorf("eval: %w", err)
	}
	var truths []schemas.Truth
	var dead []schemas.DeadLetter
	switch {
	case !cfg.Benchmark.empty() && cfg.World != "":
		return Result{}, errors.New("eval: give a synthetic world or the benchmark's files, not both")
	case !cfg.Benchmark.empty():
		if cfg.Judge.Kind != JudgeOpenAI {
			return Result{}, errors.New("eval: the benchmark's videos have no ground truth to score against; use the openai judge")
		}
		if len(cfg.Preferences) > 0 {
			return Result{}, errors.New("eval: preference labels are checked against a synthetic world's truth, not the benchmark's")
		}
		var err error
		if truths, dead, err = benchmarkTruths(cfg.Benchmark); err != nil {
			return Result{}, err
		}
		cfg.Split = "all"
	default:
		var err error
		if truths, err = synth.LoadTruth(cfg.World); err != nil {
			return Result{}, fmt.Errorf("eval: the world's truth: %w", err)
		}
	}
	clips := loadClips(ctx, cfg, truths, &dead)
	if err := checkClips(cfg, truths, clips, dead); err != nil {
		return Result{}, err
	}
	judge, err := newJudge(ctx, cfg.Judge)
	if err != nil {
		return Result{}, err
	}
	defer judge.close()
	res := Result{Clips: len(clips), Judge: judge.name()}
	for _, c := range clips {
		res.Questions += len(c.truth.QA)
		res.ClipIDs = append(res.ClipIDs, c.truth.ClipID)
	}
	var rows []schemas.EvalScore
	var done atomic.Int64
	total := res.Questions * len(cfg.Models)
	tick := func() {
		if progress != nil {
			progress(int(done.Add(1)), total)
		}
	}
	rewards := map[string]map[string]float64{}
	for _, m := range cfg.Models {
		mr, mrows, mdead, mrewards, err := evalModel(ctx, cfg, m, clips, judge, tick)
		if err != nil {
			return Result{}, err
		}
		res.Models = append(res.Models, mr)
		rows, dead = append(rows, mrows...), append(dead, mdead...)
		rewards[m.Name] = mrewards
	}
	for _, p := range cfg.Preferences {
		pr, err := PreferenceAccuracy(p.Name, p.Dir, truths)
		if err != nil {
			return Result{}, err
		}
		res.Preferences = append(res.Preferences, pr)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	names := make([]string, len(cfg.Models))
	for i, m := range cfg.Models {
		names[i] = m.Name
	}
	res.Comparisons = append(Compare(rows, names), compareRewards(rewards, names)...)
	if err := replace(filepath.Join(cfg.Output, schemas.RowScore), schemas.RowScore, rows); err != nil {
		return Result{}, err
	}
	if err := replace(filepath.Join(cfg.Output, schemas.RowDeadLetter), schemas.RowDeadLetter, dead); err != nil {
		return Result{}, err
	}
	res.Scores, res.DeadLetters = len(rows), len(dead)
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// loadClips samples the frames of the split's clips; a clip that cannot be read is a dead letter.
func loadClips(ctx context.Context, cfg Config, truths []schemas.Truth, dead *[]schemas.DeadLetter) []clipItems {
	var out []clipItems
	for _, t := range truths {
		if cfg.Split != "all" && t.Split != cfg.Split {
			continue
		}
		if cfg.Limit > 0 && len(out) >= cfg.Limit {
			break
		}
		path := t.VideoPath // the benchmark's: found in its video folder
		if cfg.World != "" {
			path = filepath.Join(cfg.World, t.VideoPath)
		}
		clip, err := frames.ExtractFile(ctx, path, cfg.Frames)
		if err != nil {
			*dead = append(*dead, deadLetter(path, frames.Kind(err), err))
			continue
		}
		out = append(out, clipItems{truth: t, frames: clip.Frames})
	}
	return out
}

// checkClips refuses an evaluation of nothing, which would otherwise print a table of zeros and
// succeed: a folder without ground truth, a split with no clips, or clips none of which decode.
func checkClips(cfg Config, truths []schemas.Truth, clips []clipItems, dead []schemas.DeadLetter) error {
	if len(clips) > 0 {
		return nil
	}
	if len(truths) == 0 {
		if cfg.World != "" {
			return fmt.Errorf("eval: %s holds no ground truth (no rows under %s): give a 'vrlaif synth' world",
				cfg.World, filepath.Join(cfg.World, "truth"))
		}
		return errors.New("eval: the benchmark's files name no videos")
	}
	splits := map[string]int{}
	for _, t := range truths {
		splits[t.Split]++
	}
	if cfg.Split != "all" && splits[cfg.Split] == 0 {
		return fmt.Errorf("eval: no clips in split %q to evaluate (the world's clips by split: %v); choose another with --split",
			cfg.Split, splits)
	}
	if len(dead) == 0 { // cannot happen: every clip in the split is a clip or a dead letter
		return errors.New("eval: no clips to evaluate")
	}
	return fmt.Errorf("eval: none of the clips could be read (%d dead letters; the first, %s: %s)",
		len(dead), dead[0].InputRef, dead[0].Message)
}

func deadLetter(ref, kind string, err error) schemas.DeadLetter {
	return schemas.DeadLetter{ID: schemas.DeadLetterID(Stage, ref), Stage: Stage, InputRef: ref, ErrorKind: kind,
		Message: err.Error(), CreatedMicros: time.Now().UnixMicro()}
}

// job is one question to one model.
type job struct {
	clip *clipItems
	item schemas.QAItem
}

type answer struct {
	text string
	err  error
}

func evalModel(ctx context.Context, cfg Config, m ModelSpec, clips []clipItems, judge judge, tick func()) (ModelResult, []schemas.EvalScore, []schemas.DeadLetter, map[string]float64, error) {
	start := time.Now()
	b, err := backend.Open(ctx, m.Backend)
	if err != nil {
		return ModelResult{}, nil, nil, nil, fmt.Errorf("eval: model %s: %w", m.Name, err)
	}
	defer b.Close()
	info := b.Info()
	var jobs []job
	for i := range clips {
		for _, it := range clips[i].truth.QA {
			jobs = append(jobs, job{&clips[i], it})
		}
	}
	answers := make([]answer, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, cfg.Concurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				answers[i] = ask(ctx, b, cfg, jobs[i])
				tick()
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return ModelResult{}, nil, nil, nil, err
	}

	mr := ModelResult{Name: m.Name, Model: info.Model, Revision: info.Revision, Axes: map[string]AxisResult{}}
	var rows []schemas.EvalScore
	var dead []schemas.DeadLetter
	pairs := map[string][]int{} // consistency PairID → job indexes
	emit := func(j job, axis string, pred string, jd Judgement, second *job, pred2 string) {
		r := schemas.EvalScore{Model: m.Name, Backend: info.Backend, Revision: info.Revision, ClipID: j.clip.truth.ClipID,
			QuestionID: j.item.ID, Category: j.item.Category, Kind: j.item.Kind, Axis: axis, Question: j.item.Question,
			Reference: j.item.Answer, Gold: j.item.Gold, Prediction: pred, Score: int32(jd.Score), Correct: jd.Correct,
			Judge: judge.name(), Reason: jd.Reason, CreatedMicros: time.Now().UnixMicro()}
		if second != nil {
			r.Question2, r.Prediction2 = second.item.Question, pred2
		}
		r.ID = scoreID(m.Name, info.Revision, r.QuestionID, r.Question2, axis, judge.name())
		rows = append(rows, r)
	}
	for i, j := range jobs {
		a := answers[i]
		if a.err != nil {
			dead = append(dead, deadLetter(m.Name+"/"+j.item.ID, backend.Kind(a.err), a.err))
			mr.Failed++
			continue
		}
		mr.Answers++
		if j.item.Category == "consistency" {
			pairs[j.clip.truth.ClipID+"\x00"+j.item.PairID] = append(pairs[j.clip.truth.ClipID+"\x00"+j.item.PairID], i)
			continue
		}
		for _, axis := range axesOf(j.item) {
			jd, err := judge.score(ctx, j.clip.truth, axis, j.item, a.text, nil, "")
			if err != nil {
				dead = append(dead, deadLetter(m.Name+"/"+j.item.ID+"/"+axis, "judge", err))
				mr.Failed++
				continue
			}
			emit(j, axis, a.text, jd, nil, "")
		}
	}
	keys := make([]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		idx := pairs[k]
		if len(idx) != 2 {
			continue // a phrasing failed (its dead letter is already written) or the world has an odd pair
		}
		a, b := jobs[idx[0]], jobs[idx[1]]
		jd, err := judge.score(ctx, a.clip.truth, AxisConsistency, a.item, answers[idx[0]].text, &b.item, answers[idx[1]].text)
		if err != nil {
			dead = append(dead, deadLetter(m.Name+"/"+a.item.ID+"/consistency", "judge", err))
			mr.Failed++
			continue
		}
		emit(a, AxisConsistency, answers[idx[0]].text, jd, &b, answers[idx[1]].text)
	}
	summarize(&mr, rows)
	var rewards map[string]float64
	if cfg.Rewarder != nil {
		rr, rw, rdead := rewardAnswers(ctx, cfg.Rewarder, m.Name, jobs, answers)
		if err := ctx.Err(); err != nil { // cancelled while scoring: not the answers' fault, no dead letters
			return ModelResult{}, nil, nil, nil, err
		}
		mr.Reward, rewards, dead = &rr, rw, append(dead, rdead...)
		for i := range rows {
			if v, ok := rw[rows[i].QuestionID]; ok {
				rows[i].Reward = &v
			}
		}
	}
	mr.Seconds = time.Since(start).Seconds()
	return mr, rows, dead, rewards, nil
}

// axesOf lists the axes a question is scored on (consistency pairs are scored together).
func axesOf(it schemas.QAItem) []string {
	switch it.Category {
	case "generic":
		return []string{AxisCorrectness, AxisDetail, AxisContext}
	case "temporal":
		return []string{AxisTemporal}
	case "qa":
		return []string{AxisQA}
	}
	return nil
}

// ask puts one question to the model: the clip's frames and `<video>\n{question}` in one user turn,
// with the question's own seed.
func ask(ctx context.Context, b backend.Backend, cfg Config, j job) answer {
	h := sha256.Sum256([]byte(j.item.ID))
	seed := int64((uint64(cfg.Seed) ^ binary.BigEndian.Uint64(h[:8])) >> 1)
	resp, err := b.Chat(ctx, &backend.ChatRequest{Messages: []backend.Message{backend.VideoMessage(j.clip.frames, j.item.Question)},
		Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens, Seed: seed, Template: AnswerTemplate})
	if err != nil {
		return answer{err: err}
	}
	if len(resp.Choices) == 0 {
		return answer{err: fmt.Errorf("%w: no choices", backend.ErrBadResponse)}
	}
	return answer{text: strings.TrimSpace(resp.Choices[0].Text)}
}

func summarize(mr *ModelResult, rows []schemas.EvalScore) {
	sums, ns := map[string]float64{}, map[string]int{}
	correct := 0
	for _, r := range rows {
		sums[r.Axis] += float64(r.Score)
		ns[r.Axis]++
		if r.Axis == AxisQA && r.Correct {
			correct++
		}
	}
	for axis, n := range ns {
		mr.Axes[axis] = AxisResult{Mean: sums[axis] / float64(n), N: n}
	}
	var total float64
	for _, a := range Axes {
		total += mr.Axes[a].Mean
	}
	mr.Mean = total / float64(len(Axes))
	if n := ns[AxisQA]; n > 0 {
		mr.QAAccuracy, mr.QAScore, mr.QAN = float64(correct)/float64(n), sums[AxisQA]/float64(n), n
	}
}

func scoreID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}

// replace writes rows as the whole of dir: the old shards go first.
func replace[T any](dir, rowType string, rows []T) error {
	shards, err := dataset.Shards(dir)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	for _, s := range shards {
		if err := os.Remove(s); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := dataset.WriteAll(dir, rowType, 0, rows...); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}
