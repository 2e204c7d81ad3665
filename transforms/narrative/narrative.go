// Package narrative makes the judge's context (reference §6): a clip's frames are split into up
// to three contiguous sub-clips of at most 20 frames, the captioner describes each ("Describe this
// video in detail."), and the descriptions are joined as "Clip 1: …\nClip 2: …".
package narrative

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vrlaif/vrlaif/backend"
	"github.com/vrlaif/vrlaif/prompts"
	"github.com/vrlaif/vrlaif/schemas"
)

// Stage is the stage name in dead letters, counters and summaries.
const Stage = "narrative"

// Params configure the captioner.
type Params struct {
	Backend     backend.Config `json:"backend"`
	Template    string         `json:"template"`       // default prompts.Narrative
	Clips       int            `json:"clips"`          // sub-clips at least (default 3)
	MaxFrames   int            `json:"max_frames"`     // frames per sub-clip at most (default 20)
	MaxTokens   int            `json:"max_tokens"`     // per description (default 256)
	Temperature float64        `json:"temperature"`    // default 0: greedy
	Seed        int64          `json:"seed,omitempty"` // used when Temperature > 0
}

// WithDefaults fills unset fields.
func (p Params) WithDefaults() Params {
	if p.Template == "" {
		p.Template = prompts.Narrative
	}
	if p.Clips <= 0 {
		p.Clips = 3
	}
	if p.MaxFrames <= 0 {
		p.MaxFrames = 20
	}
	if p.MaxTokens <= 0 {
		p.MaxTokens = 256
	}
	return p
}

// Split cuts n frames into max(clips, ⌈n/maxFrames⌉) contiguous sub-clips (fewer when there are
// fewer frames than clips), sizes as equal as possible with the larger ones first (50 → 17, 17,
// 16), and returns each sub-clip's first index.
func Split(n, clips, maxFrames int) []int {
	k := max(clips, (n+maxFrames-1)/maxFrames)
	k = min(k, n)
	starts := make([]int, k)
	for i := range starts {
		starts[i] = i*(n/k) + min(i, n%k)
	}
	return starts
}

// ID is a narrative's deterministic id.
func ID(clipID string, captioner backend.Info, p Params) string {
	b, _ := json.Marshal(struct {
		Clip string
		Info backend.Info
		P    Params
	}{clipID, captioner, Params{Template: p.Template, Clips: p.Clips, MaxFrames: p.MaxFrames, MaxTokens: p.MaxTokens,
		Temperature: p.Temperature, Seed: p.Seed}})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Describe makes one clip's narrative with b (p with defaults applied).
func Describe(ctx context.Context, b backend.Backend, clip schemas.Clip, videoID string, p Params) (schemas.Narrative, error) {
	if len(clip.Frames) == 0 {
		return schemas.Narrative{}, backend.BadRequest("clip has no frames")
	}
	prompt, err := prompts.Render(p.Template, prompts.Fields{})
	if err != nil {
		return schemas.Narrative{}, err
	}
	info := b.Info()
	n := schemas.Narrative{ID: ID(clip.ID, info, p), ClipID: clip.ID, VideoID: videoID,
		Captioner: schemas.ModelRef{Backend: info.Backend, Model: info.Model, Revision: info.Revision, Template: p.Template}}
	starts := Split(len(clip.Frames), p.Clips, p.MaxFrames)
	for i, start := range starts {
		end := len(clip.Frames)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		resp, err := b.Chat(ctx, &backend.ChatRequest{
			Messages: []backend.Message{backend.VideoMessage(clip.Frames[start:end], prompt)},
			N:        1, Temperature: p.Temperature, MaxTokens: p.MaxTokens, Seed: p.Seed + int64(i), Template: p.Template})
		if err != nil {
			return schemas.Narrative{}, fmt.Errorf("describing sub-clip %d: %w", i+1, err)
		}
		n.Captions = append(n.Captions, resp.Choices[0].Text)
		n.FrameStarts = append(n.FrameStarts, int32(start))
		n.PromptTokens += int64(resp.Usage.PromptTokens)
		n.CompletionTokens += int64(resp.Usage.CompletionTokens)
	}
	n.Text = prompts.JoinCaptions(n.Captions)
	n.CreatedMicros = time.Now().UnixMicro()
	return n, nil
}
