package train

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/model/tokenizer"
	"github.com/vrlaif/vrlaif/schemas"
)

// RLPrompt is one question about one clip for PPO.
type RLPrompt struct {
	ID       string `json:"id"`
	ClipID   string `json:"clip_id"`
	VideoID  string `json:"video_id,omitempty"` // the source video's id (a world's clip id)
	Question string `json:"question"`
}

// Rollout is one sampled response with everything the learner needs (reference §4.3): the
// query and response tokens, the behaviour policy's log-probabilities, the reward model's score,
// whether a stop token survived truncation, and the policy version that sampled it.
type Rollout struct {
	ID       string    `json:"id"`
	Version  int       `json:"version"`
	Actor    string    `json:"actor"`
	PromptID string    `json:"prompt_id"`
	ClipID   string    `json:"clip_id"`
	Question string    `json:"question"`
	Query    []int32   `json:"query"` // prompt tokens, −1 at video positions
	VideoAt  int       `json:"video_at"`
	Response []int32   `json:"response"` // after truncation, without padding
	LogProbs []float32 `json:"logprobs"` // behaviour log-probabilities of Response
	Text     string    `json:"text"`
	HasStop  bool      `json:"has_stop"`
	Score    float32   `json:"score"`  // the reward model's score
	Reward   float32   `json:"reward"` // score − 8 when there is no stop token (§4.3 step 7)
	Created  int64     `json:"created_micros"`
	// Ref, on a message, names the object-store object holding the full rollout when it was too big
	// to publish inline (the message then carries only ID, Version and Ref).
	Ref string `json:"ref,omitempty"`
}

// RolloutParams are the sampling and truncation settings (the seed's: temperature 1, top-p 1,
// top-k 0; responses of at most T tokens).
type RolloutParams struct {
	T           int     `json:"response_len"`
	Temperature float32 `json:"temperature"`
	// TruncateAtQuestionMark reproduces the seed's quirk (§4.3 step 2): a response is cut right after
	// its first "?" and so loses its stop token. On by default, as in the seed.
	TruncateAtQuestionMark bool    `json:"truncate_at_question_mark"`
	NoStopPenalty          float32 `json:"no_stop_penalty"` // −8
}

// DefaultRolloutParams: the seed's settings with a response length for the built-in model.
func DefaultRolloutParams() RolloutParams {
	return RolloutParams{T: 48, Temperature: 1, TruncateAtQuestionMark: true, NoStopPenalty: -8}
}

// LoadRLPrompts reads the distinct (clip, question) pairs of a generate folder's responses and
// the patches of their clips.
func LoadRLPrompts(genDir string, vc model.VisionConfig) ([]RLPrompt, map[string][]float32, error) {
	seen := map[string]bool{}
	var prompts []RLPrompt
	err := dataset.Read(dataset.Folder(genDir, schemas.RowResponse), func(r schemas.Response) error {
		id := r.ClipID + "/" + r.QuestionID
		if !seen[id] {
			seen[id] = true
			prompts = append(prompts, RLPrompt{ID: id, ClipID: r.ClipID, VideoID: r.VideoID, Question: r.Question})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("train: RL prompts: %w", err)
	}
	sort.Slice(prompts, func(i, j int) bool { return prompts[i].ID < prompts[j].ID })
	patches := map[string][]float32{}
	err = dataset.Read(dataset.Folder(genDir, schemas.RowClip), func(c schemas.Clip) error {
		p, err := model.VideoPatches(c.Frames, vc)
		patches[c.ID] = p
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("train: RL prompt clips: %w", err)
	}
	return prompts, patches, nil
}

// QueryTokens renders an RL prompt with the v1 template (the generation prompt ends in
// "ASSISTANT:") and expands the video.
func QueryTokens(tok *tokenizer.Tokenizer, videoTokens int, question string) ([]int32, int) {
	ids, _ := tok.EncodeChat([]schemas.Turn{{From: "human", Value: "<video>\n" + question}})
	var out []int32
	at := -1
	for _, id := range ids {
		if id == tok.VideoID() {
			at = len(out)
			for j := 0; j < videoTokens; j++ {
				out = append(out, -1)
			}
			continue
		}
		out = append(out, int32(id))
	}
	return out, at
}

// Truncate applies the seed's rule to a sampled response (§4.3 step 2): keep up to and including
// the first end-of-sequence token; with the question-mark quirk, a response whose text has a "?"
// is instead cut right after the token holding the first "?" (the later rule overrides, as in
// the seed), losing its stop. It returns the kept length and whether a stop token remains.
func Truncate(tok *tokenizer.Tokenizer, resp []int32, questionMark bool) (n int, hasStop bool) {
	n = len(resp)
	for i, t := range resp {
		if int(t) == tok.EOSID() {
			n = i + 1
			break
		}
	}
	if questionMark {
		for i, t := range resp[:n] {
			if int(t) != tok.EOSID() && strings.Contains(tok.Decode([]int{int(t)}), "?") {
				n = i + 1
				break
			}
		}
	}
	return n, n > 0 && int(resp[n-1]) == tok.EOSID()
}

// RolloutID names a rollout: the prompt, the policy version, the actor and a per-actor counter.
func RolloutID(promptID string, version int, actor string, counter int64) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%s\x00%d", promptID, version, actor, counter)))
	return hex.EncodeToString(h[:16])
}

// Sample draws one response per prompt with the policy and scores it with the reward model.
// seed makes the draws reproducible; counter numbers the rollouts (for their ids).
func Sample(policy *model.Model, tok *tokenizer.Tokenizer, rm *RewardModel, prompts []RLPrompt, patches map[string][]float32,
	p RolloutParams, version int, actor string, seed uint64, counter int64) ([]Rollout, error) {
	prs := make([]model.Prompt, len(prompts))
	queries := make([][]int32, len(prompts))
	ats := make([]int, len(prompts))
	for i, pr := range prompts {
		vp, ok := patches[pr.ClipID]
		if !ok {
			return nil, fmt.Errorf("train: no frames for clip %s", pr.ClipID)
		}
		queries[i], ats[i] = QueryTokens(tok, policy.Config.VideoTokens(), pr.Question)
		prs[i] = model.Prompt{Tokens: queries[i], VideoAt: ats[i], Patches: vp}
	}
	samples, err := policy.Generate(prs, model.SampleParams{MaxNew: p.T, Temperature: p.Temperature, Seed: seed, EOS: tok.EOSID()})
	if err != nil {
		return nil, err
	}
	out := make([]Rollout, len(prompts))
	var qs, texts []string
	var vps [][]float32
	now := time.Now().UnixMicro()
	for i, s := range samples {
		n, stop := Truncate(tok, s.Tokens, p.TruncateAtQuestionMark)
		ids := make([]int, 0, n)
		for _, t := range s.Tokens[:n] {
			if int(t) != tok.EOSID() {
				ids = append(ids, int(t))
			}
		}
		text := strings.TrimSpace(tok.Decode(ids))
		out[i] = Rollout{ID: RolloutID(prompts[i].ID, version, actor, counter+int64(i)), Version: version, Actor: actor,
			PromptID: prompts[i].ID, ClipID: prompts[i].ClipID, Question: prompts[i].Question, Query: queries[i], VideoAt: ats[i],
			Response: append([]int32(nil), s.Tokens[:n]...), LogProbs: append([]float32(nil), s.LogProbs[:n]...),
			Text: text, HasStop: stop, Created: now}
		qs, texts, vps = append(qs, prompts[i].Question), append(texts, text), append(vps, prs[i].Patches)
	}
	scores, err := rm.Scores(vps, qs, texts)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Score = scores[i]
		out[i].Reward = scores[i]
		if !out[i].HasStop {
			out[i].Reward += p.NoStopPenalty
		}
	}
	return out, nil
}
